"""Settings from flags, environment, config file and defaults, in that order.

Backends get their configuration from the URL only; this module is the one
place that reads the environment and ``migrator.toml``/``pyproject.toml``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from migrator.errors import ConfigError

DEFAULT_DIR = "migrations"
DEFAULT_TABLE = "schema_migrations"
# dialect: how ``check`` reads the files when no URL names the database (a
# pre-commit hook); it has no environment variable, the URL's scheme says it.
# schema_file: after every successful up/down/redo the dump is rewritten there
# (dbmate's db/schema.sql); ``--dump FILE`` overrides it for one run.
# lock_retries, file_lock_timeout: up/down/redo's --lock-retries and
# --file-lock-timeout (migrator.lockretry), which win over these.
FILE_KEYS = ("url", "migrations_dir", "migrations_table", "lock_timeout", "dialect",
             "schema_file", "lock_retries", "file_lock_timeout")
# [vars]: values for ${NAME} placeholders (migrator.placeholders); flags and
# MIGRATOR_VAR_NAME override them one name at a time.
VARS_KEY = "vars"
ENV = {
    "url": "DATABASE_URL",
    "migrations_dir": "MIGRATIONS_DIR",
    "migrations_table": "MIGRATIONS_TABLE",
    "lock_timeout": "MIGRATOR_LOCK_TIMEOUT",
    "schema_file": "MIGRATOR_SCHEMA_FILE",
    "lock_retries": "MIGRATOR_LOCK_RETRIES",
    "file_lock_timeout": "MIGRATOR_FILE_LOCK_TIMEOUT",
}
# The password runs to the LAST '@': an unescaped '@', '/', '?' or '#' in it
# (generated passwords have them) must not leave part of it on screen.
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)(?P<pw>.*)(?P<at>@)")


class Settings(NamedTuple):
    url: str | None
    migrations_dir: Path
    migrations_table: str
    lock_timeout: float
    source: dict[str, str]  # setting -> where it came from, for -v
    dialect: str | None = None
    variables: dict[str, str] = {}  # noqa: RUF012 -- a NamedTuple default, never mutated
    schema_file: str | None = None  # where up/down/redo rewrite the dump; None: nowhere
    lock_retries: int = 0  # a file that timed out waiting for a lock is tried this often again
    file_lock_timeout: float | None = None  # seconds a file's statement may wait; None: URL's


def redact_url(url: str) -> str:
    """``postgres://u:secret@h/db`` -> ``postgres://u:***@h/db``; also ``password=`` params."""
    shown = _PASSWORD.sub(r"\g<head>***\g<at>", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", shown)


def _load_file(cwd: Path) -> tuple[dict[str, Any], str]:
    own = cwd / "migrator.toml"
    pyproject = cwd / "pyproject.toml"
    if own.is_file():
        return _read_toml(own, None), str(own)
    if pyproject.is_file():
        return _read_toml(pyproject, ("tool", "migrator")), f"{pyproject} [tool.migrator]"
    return {}, ""


def _read_toml(path: Path, section: tuple[str, ...] | None) -> dict[str, Any]:
    import tomllib

    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    for key in section or ():
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: [{'.'.join(section or ())}] must be a table")
        data = value
    unknown = sorted(set(data) - {*FILE_KEYS, VARS_KEY})
    if unknown:
        known = ", ".join((*FILE_KEYS, f"[{VARS_KEY}]"))
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: {known})")
    if VARS_KEY in data:
        data[VARS_KEY] = _variables(data[VARS_KEY], path)
    return data


def _variables(value: Any, path: Path) -> dict[str, str]:
    """``[vars]``: names to strings (numbers and booleans written as TOML are allowed)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: vars must be a table ([vars] NAME = \"value\")")
    out: dict[str, str] = {}
    for name, item in value.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{path}: [vars] name {name!r} is not letters, digits and '_'")
        if isinstance(item, bool):
            out[name] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            out[name] = str(item)
        else:
            raise ConfigError(f"{path}: [vars] {name} must be a string or a number")
    return out


def resolve(
    flags: Mapping[str, str | None], env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge the four sources; ``flags`` holds only options the user gave."""
    env = os.environ if env is None else env
    base = cwd
    file_values, file_name = _load_file(Path.cwd() if cwd is None else cwd)
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for key in FILE_KEYS:
        if flags.get(key) is not None:
            values[key], source[key] = flags[key], "flag"
        elif key in ENV and env.get(ENV[key]):
            values[key], source[key] = env[ENV[key]], f"${ENV[key]}"
        elif key in file_values:
            values[key], source[key] = file_values[key], file_name
    directory = Path(str(values.get("migrations_dir", DEFAULT_DIR)))
    if base is not None and not directory.is_absolute():
        directory = base / directory  # relative paths stay relative for messages
    return Settings(
        url=str(values["url"]) if "url" in values else None,
        migrations_dir=directory,
        migrations_table=str(values.get("migrations_table", DEFAULT_TABLE)),
        lock_timeout=_seconds(values.get("lock_timeout", 0), source.get("lock_timeout", "")),
        source=source,
        dialect=_dialect(values.get("dialect"), source.get("dialect", "")),
        variables=file_values.get(VARS_KEY, {}),
        schema_file=_schema_file(values.get("schema_file"), source.get("schema_file", ""),
                                 base),
        lock_retries=_retries(values.get("lock_retries", 0), source.get("lock_retries", "")),
        file_lock_timeout=_file_lock_timeout(values.get("file_lock_timeout"),
                                             source.get("file_lock_timeout", "")),
    )


def _retries(value: Any, where: str) -> int:
    """A whole number >= 0: a TOML integer, or digits from the environment."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"lock_retries must be a whole number >= 0, got {value!r}"
                          + (f" (from {where})" if where else ""))
    return value


def _file_lock_timeout(value: Any, where: str) -> float | None:
    """Seconds > 0 and under a year (the limit of --file-lock-timeout), or unset."""
    if value is None:
        return None
    try:
        seconds = -1.0 if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < 31_536_000:
        raise ConfigError(f"file_lock_timeout must be a number of seconds > 0 and under a "
                          f"year, got {value!r}" + (f" (from {where})" if where else ""))
    return seconds


def _schema_file(value: Any, where: str, base: Path | None) -> str | None:
    """A file path (relative to the working directory, or to ``cwd`` when given)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"schema_file must be a file path such as \"db/schema.sql\", got "
                          f"{value!r}" + (f" (from {where})" if where else ""))
    if base is not None and not Path(value).is_absolute():
        return str(base / value)
    return value


def _dialect(value: Any, where: str) -> str | None:
    """A name for ``--dialect``; the registry checks it when ``check`` uses it."""
    if value is None or (isinstance(value, str) and value):
        return value
    raise ConfigError(f"dialect must be a database name such as \"postgres\", got {value!r}"
                      + (f" (from {where})" if where else ""))


def _seconds(value: Any, where: str) -> float:
    try:
        # float(True) is 1.0: a TOML `lock_timeout = true` is a mistake, not 1 s.
        seconds = -1.0 if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise ConfigError(
            f"lock timeout must be a number of seconds >= 0, got {value!r}"
            + (f" (from {where})" if where else "")
        )
    return seconds
