"""Settings precedence (flag > environment > migrator.toml > pyproject > default),
sqlite URL forms and password redaction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from migrator.backends.sqlite.url import sqlite_path
from migrator.config import DEFAULT_TABLE, redact_url, resolve
from migrator.errors import ConfigError, ExitCode

KEYS = {
    # setting: (flag value, env name, env value, toml value, pyproject value)
    "url": ("sqlite:///flag.db", "DATABASE_URL", "sqlite:///env.db", "sqlite:///toml.db",
            "sqlite:///py.db"),
    "migrations_dir": ("flag_dir", "MIGRATIONS_DIR", "env_dir", "toml_dir", "py_dir"),
    "migrations_table": ("flag_t", "MIGRATIONS_TABLE", "env_t", "toml_t", "py_t"),
    "lock_timeout": ("1.5", "MIGRATOR_LOCK_TIMEOUT", "2", 3, 4.5),
}


def toml_value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def write_configs(cwd: Path, toml: bool, pyproject: bool) -> None:
    if toml:
        (cwd / "migrator.toml").write_text(
            "".join(f"{k} = {toml_value(v[3])}\n" for k, v in KEYS.items())
        )
    if pyproject:
        (cwd / "pyproject.toml").write_text(
            '[project]\nname = "app"\n\n[tool.migrator]\n'
            + "".join(f"{k} = {toml_value(v[4])}\n" for k, v in KEYS.items())
            + "\n[tool.other]\nanything = 1\n"
        )


def value_of(settings: Any, key: str) -> object:
    value = getattr(settings, key)
    return value.name if key == "migrations_dir" else value


@pytest.mark.parametrize(
    ("flag", "env", "toml", "pyproject", "winner"),
    [
        (True, True, True, True, "flag"),
        (False, True, True, True, "env"),
        (False, False, True, True, "toml"),
        (False, False, False, True, "pyproject"),
        (False, False, False, False, "default"),
        (True, False, False, False, "flag"),
        (False, True, False, False, "env"),
    ],
)
def test_precedence(
    tmp_path: Path, flag: bool, env: bool, toml: bool, pyproject: bool, winner: str
) -> None:
    write_configs(tmp_path, toml, pyproject)
    flags = {k: (v[0] if flag else None) for k, v in KEYS.items()}
    environ = {v[1]: v[2] for v in KEYS.values()} if env else {}
    settings = resolve(flags, env=environ, cwd=tmp_path)
    expected = {
        "flag": {"url": "sqlite:///flag.db", "migrations_dir": "flag_dir",
                 "migrations_table": "flag_t", "lock_timeout": 1.5},
        "env": {"url": "sqlite:///env.db", "migrations_dir": "env_dir",
                "migrations_table": "env_t", "lock_timeout": 2.0},
        "toml": {"url": "sqlite:///toml.db", "migrations_dir": "toml_dir",
                 "migrations_table": "toml_t", "lock_timeout": 3.0},
        "pyproject": {"url": "sqlite:///py.db", "migrations_dir": "py_dir",
                      "migrations_table": "py_t", "lock_timeout": 4.5},
        "default": {"url": None, "migrations_dir": "migrations",
                    "migrations_table": DEFAULT_TABLE, "lock_timeout": 0.0},
    }[winner]
    assert {k: value_of(settings, k) for k in KEYS} == expected
    sources = {
        "flag": "flag",
        "env": None,
        "toml": str(tmp_path / "migrator.toml"),
        "pyproject": f"{tmp_path / 'pyproject.toml'} [tool.migrator]",
    }
    if winner == "default":
        assert settings.source == {}
    elif winner == "env":
        assert settings.source == {k: f"${v[1]}" for k, v in KEYS.items()}
    else:
        assert settings.source == dict.fromkeys(KEYS, sources[winner])


def test_sources_mix_per_setting(tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text('migrations_table = "from_file"\n')
    settings = resolve(
        {"url": "sqlite:///a.db", "migrations_dir": None},
        env={"MIGRATIONS_DIR": "db/migrations", "DATABASE_URL": "sqlite:///ignored.db"},
        cwd=tmp_path,
    )
    assert settings.url == "sqlite:///a.db"
    assert settings.migrations_dir == tmp_path / "db" / "migrations"
    assert settings.migrations_table == "from_file"
    assert settings.source == {
        "url": "flag",
        "migrations_dir": "$MIGRATIONS_DIR",
        "migrations_table": str(tmp_path / "migrator.toml"),
    }


def test_empty_environment_value_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text('url = "sqlite:///file.db"\n')
    settings = resolve({}, env={"DATABASE_URL": "", "MIGRATOR_LOCK_TIMEOUT": ""}, cwd=tmp_path)
    assert settings.url == "sqlite:///file.db"
    assert settings.lock_timeout == 0.0


def test_absolute_migrations_dir_is_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "abs" / "migrations"
    settings = resolve({"migrations_dir": str(elsewhere)}, env={}, cwd=tmp_path / "work")
    assert settings.migrations_dir == elsewhere


def test_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-os.db")
    assert resolve({}, cwd=tmp_path).url == "sqlite:///from-os.db"
    assert resolve({}, env={}, cwd=tmp_path).url is None


# --------------------------------------------------------------------------- lock timeout


@pytest.mark.parametrize("value", ["0", "0.25", "30", "1e1"])
def test_lock_timeout_accepts_seconds(tmp_path: Path, value: str) -> None:
    assert resolve({"lock_timeout": value}, env={}, cwd=tmp_path).lock_timeout == float(value)


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "-inf", "", "1s", " "])
def test_bad_lock_timeout_from_flag(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve({"lock_timeout": value}, env={}, cwd=tmp_path)
    assert str(info.value) == (
        f"lock timeout must be a number of seconds >= 0, got {value!r} (from flag)"
    )
    assert info.value.exit_code == ExitCode.USAGE


def test_bad_lock_timeout_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"got '-5' \(from \$MIGRATOR_LOCK_TIMEOUT\)$"):
        resolve({}, env={"MIGRATOR_LOCK_TIMEOUT": "-5"}, cwd=tmp_path)
    (tmp_path / "migrator.toml").write_text("lock_timeout = true\n")
    with pytest.raises(ConfigError, match=r"got True \(from .*migrator.toml\)$"):
        resolve({}, env={}, cwd=tmp_path)
    (tmp_path / "migrator.toml").write_text('lock_timeout = [1]\n')
    with pytest.raises(ConfigError, match=r"got \[1\]"):
        resolve({}, env={}, cwd=tmp_path)


# ------------------------------------------------- lock retries (up/down/redo --lock-retries)


def test_lock_retry_settings_come_from_environment_over_config(tmp_path: Path) -> None:
    default = resolve({}, env={}, cwd=tmp_path)
    assert (default.lock_retries, default.file_lock_timeout) == (0, None)  # no retry policy
    (tmp_path / "migrator.toml").write_text("lock_retries = 4\nfile_lock_timeout = 2\n")
    settings = resolve({}, env={}, cwd=tmp_path)
    assert (settings.lock_retries, settings.file_lock_timeout) == (4, 2.0)
    env = {"MIGRATOR_LOCK_RETRIES": "7", "MIGRATOR_FILE_LOCK_TIMEOUT": "0.5"}
    settings = resolve({}, env=env, cwd=tmp_path)
    assert (settings.lock_retries, settings.file_lock_timeout) == (7, 0.5)
    assert settings.source["lock_retries"] == "$MIGRATOR_LOCK_RETRIES"


@pytest.mark.parametrize(("key", "toml", "message"), [
    ("lock_retries", "-1", "lock_retries must be a whole number >= 0, got -1"),
    ("lock_retries", "1.5", "lock_retries must be a whole number >= 0, got 1.5"),
    ("lock_retries", "true", "lock_retries must be a whole number >= 0, got True"),
    ("lock_retries", '"3"', None),  # a string of digits is as good as the environment's
    ("file_lock_timeout", "0", "file_lock_timeout must be a number of seconds > 0 and under "
                               "a year, got 0"),
    ("file_lock_timeout", "false", "file_lock_timeout must be a number of seconds > 0 and "
                                   "under a year, got False"),
    ("file_lock_timeout", "1e9", "file_lock_timeout must be a number of seconds > 0 and "
                                 "under a year, got 1000000000.0"),
])
def test_bad_lock_retry_settings_name_their_source(
    tmp_path: Path, key: str, toml: str, message: str | None
) -> None:
    (tmp_path / "migrator.toml").write_text(f"{key} = {toml}\n")
    if message is None:
        assert resolve({}, env={}, cwd=tmp_path).lock_retries == 3
        return
    with pytest.raises(ConfigError) as info:
        resolve({}, env={}, cwd=tmp_path)
    assert str(info.value) == f"{message} (from {tmp_path / 'migrator.toml'})"
    env_name = {"lock_retries": "MIGRATOR_LOCK_RETRIES",
                "file_lock_timeout": "MIGRATOR_FILE_LOCK_TIMEOUT"}[key]
    with pytest.raises(ConfigError, match=rf"\(from \${env_name}\)$"):
        resolve({}, env={env_name: "x"}, cwd=tmp_path)


# --------------------------------------------------------------------------- config files


def test_unknown_key_in_migrator_toml(tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text('url = "sqlite:///a.db"\nurls = 1\ndir = "x"\n')
    with pytest.raises(ConfigError) as info:
        resolve({}, env={}, cwd=tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'migrator.toml'}: unknown setting(s) dir, urls "
        "(known: url, migrations_dir, migrations_table, lock_timeout, dialect, schema_file, "
        "lock_retries, file_lock_timeout, [vars])"
    )


def test_unknown_key_in_pyproject_section(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.migrator]\ndatabase_url = "x"\n')
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) database_url"):
        resolve({}, env={}, cwd=tmp_path)


def test_pyproject_without_section_is_fine(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\nfix = true\n')
    assert resolve({}, env={}, cwd=tmp_path).source == {}


def test_pyproject_section_must_be_a_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool]\nmigrator = "sqlite:///a.db"\n')
    with pytest.raises(ConfigError, match=r"\[tool\.migrator\] must be a table"):
        resolve({}, env={}, cwd=tmp_path)


@pytest.mark.parametrize("name", ["migrator.toml", "pyproject.toml"])
def test_malformed_toml(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text('url = "unclosed\n')
    expected = re.escape(f"cannot read config file {tmp_path / name}: ")
    with pytest.raises(ConfigError, match=expected):
        resolve({}, env={}, cwd=tmp_path)


def test_migrator_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text('url = "sqlite:///own.db"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.migrator]\nurl = "sqlite:///py.db"\n')
    assert resolve({}, env={}, cwd=tmp_path).url == "sqlite:///own.db"


# --------------------------------------------------------------------------- sqlite URLs


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///rel.db", "rel.db"),
        ("sqlite:///sub/dir/app.db", "sub/dir/app.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:rel.db", "rel.db"),
        ("sqlite:/abs.db", "/abs.db"),
        ("sqlite::memory:", ":memory:"),
        ("sqlite://:memory:", ":memory:"),
        ("sqlite3:///rel.db", "rel.db"),
        ("SQLite:///rel.db", "rel.db"),
        ("sqlite:///with%20space.db", "with space.db"),
    ],
)
def test_sqlite_url_forms(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///app.db?mode=ro", "has query parameters"),
        ("sqlite:///app.db#frag", "has query parameters"),
        ("sqlite://host/app.db", "has a host part"),
        ("sqlite://", "names no file"),
        ("sqlite:", "names no file"),
        ("sqlite:///", "names no file"),
        ("postgres://u:secret@h/db", "not a sqlite URL: postgres://u:***@h/db"),
        ("sqlite//app.db", "not a sqlite URL"),
        ("app.db", "not a sqlite URL"),
    ],
)
def test_malformed_sqlite_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        sqlite_path(url)
    assert message in str(info.value)
    assert info.value.exit_code == ExitCode.USAGE


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgres://app:secret@db.internal:5432/prod", "postgres://app:***@db.internal:5432/prod"),
        ("postgresql://app:s3cr%40t@h/db?sslmode=require",
         "postgresql://app:***@h/db?sslmode=require"),
        ("mysql://root:@localhost/db", "mysql://root:***@localhost/db"),
        # unescaped specials in generated passwords must not leak a part of them
        ("postgres://app:p@ss@h/db", "postgres://app:***@h/db"),
        ("postgres://app:Ab3/xY+z@h/db", "postgres://app:***@h/db"),
        ("postgres://app:a?b#c@h/db", "postgres://app:***@h/db"),
        ("postgres://h/db?user=app&password=secret&sslmode=require",
         "postgres://h/db?user=app&password=***&sslmode=require"),
        ("postgres://h/db?PASSWORD=secret", "postgres://h/db?PASSWORD=***"),
        ("host=h dbname=d password=secret user=u", "host=h dbname=d password=*** user=u"),
        ("postgres://app@h/db", "postgres://app@h/db"),
        ("postgres://h:5432/db", "postgres://h:5432/db"),
        ("sqlite:////abs/app.db", "sqlite:////abs/app.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    for secret in ("secret", "s3cr", "p@ss", "Ab3/xY", "a?b#c"):
        assert secret not in redact_url(url)


# -- dialect: how `check` reads the files when no URL says which database -------------


def test_dialect_from_migrator_toml_or_pyproject(tmp_path: Path) -> None:
    assert resolve({}, env={}, cwd=tmp_path).dialect is None
    (tmp_path / "pyproject.toml").write_text('[tool.migrator]\ndialect = "mysql"\n')
    assert resolve({}, env={}, cwd=tmp_path).dialect == "mysql"
    (tmp_path / "migrator.toml").write_text('dialect = "postgres"\n')
    settings = resolve({}, env={}, cwd=tmp_path)
    assert (settings.dialect, settings.source["dialect"]) == (
        "postgres", str(tmp_path / "migrator.toml"))


def test_dialect_has_no_environment_variable(tmp_path: Path) -> None:
    assert resolve({}, env={"DIALECT": "mysql", "MIGRATOR_DIALECT": "mysql"},
                   cwd=tmp_path).dialect is None


@pytest.mark.parametrize("value", ["5", '""', "true", '["postgres"]'])
def test_dialect_must_be_a_name(tmp_path: Path, value: str) -> None:
    (tmp_path / "migrator.toml").write_text(f"dialect = {value}\n")
    with pytest.raises(ConfigError) as info:
        resolve({}, env={}, cwd=tmp_path)
    assert str(info.value).startswith('dialect must be a database name such as "postgres", got ')
    assert str(info.value).endswith(f"(from {tmp_path / 'migrator.toml'})")
    assert info.value.exit_code == ExitCode.USAGE
