"""``.env`` files as dbmate reads them: ``NAME=value`` lines, the environment wins.

A small reader rather than python-dotenv: importing dotenv took about 10 ms
here (it loads logging), which every ``migrator status`` would pay. It reads the subset of
the format that godotenv and python-dotenv agree on: ``export`` prefixes,
``#`` comments, single quotes (literal), double quotes (``\\n``-style escapes
and ``${NAME}`` expansion, may span lines) and bare values (a `` #``
comment ends them; ``${NAME}`` is expanded, ``\\$`` is a dollar sign).
Error messages never quote a value: a ``.env`` file holds passwords.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, MutableMapping
from pathlib import Path

from migrator.errors import ConfigError

DEFAULT = ".env"
_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_LINE = r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*"
# Double quotes: backslash escapes and ${NAME}; bare values: ${NAME}, and \$ for a '$'.
# Patterns, not compiled ones: most runs have no .env file to parse (re caches them).
_QUOTED = rf"\\(.)|\$\{{{_NAME}\}}|\${_NAME}"
_BARE = rf"\\(\$)|\$\{{{_NAME}\}}|\${_NAME}"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def load(path: str | None, environ: MutableMapping[str, str] | None = None) -> None:
    """Set each variable of the env file that the environment does not have yet.

    ``path`` None means ``./.env`` if it exists; a path the user named must exist.
    :raises ConfigError: unreadable file or a line that is not ``NAME=value``.
    """
    env = os.environ if environ is None else environ
    file = Path(path or DEFAULT)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None:
            return
        raise ConfigError(f"env file {path} not found (--env-file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read env file {file}: {exc}") from exc
    for name, value in parse(text, str(file), env):
        env.setdefault(name, value)


def parse(text: str, where: str, env: MutableMapping[str, str]) -> Iterator[tuple[str, str]]:
    """``(name, value)`` pairs in file order; ``${NAME}`` looks in ``env``, then the file."""
    seen: dict[str, str] = {}
    pos = 0
    line_no = 1
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end].rstrip("\r")
        start_line = line_no
        if not line.strip() or line.lstrip().startswith("#"):
            pos, line_no = end + 1, line_no + 1
            continue
        m = re.match(_LINE, line)
        if m is None:
            raise ConfigError(f"{where}:{line_no}: expected NAME=value; the line is not shown, "
                              "as it may hold a secret")
        name = m.group(1)
        rest_start = pos + m.end()
        quote = text[rest_start:rest_start + 1]
        if quote in ("'", '"'):
            close = _closing(text, rest_start + 1, quote)
            if close < 0:
                raise ConfigError(f"{where}:{start_line}: {name}: the {quote} quote is never "
                                  "closed")
            raw = text[rest_start + 1:close]
            after_end = text.find("\n", close)
            after_end = len(text) if after_end < 0 else after_end
            after = text[close + 1:after_end].strip()
            if after and not after.startswith("#"):
                raise ConfigError(f"{where}:{start_line}: {name}: text after the closing quote "
                                  "(only a # comment may follow it)")
            value = raw if quote == "'" else _expand(_QUOTED, raw, env, seen)
            line_no += text.count("\n", pos, after_end) + 1
            pos = after_end + 1
        else:
            bare = line[m.end():]
            comment = re.search(r"[ \t]#", bare)
            value = _expand(_BARE, (bare[:comment.start()] if comment else bare).strip(), env,
                            seen)
            pos, line_no = end + 1, line_no + 1
        seen[name] = value
        yield name, value


def _closing(text: str, start: int, quote: str) -> int:
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote == '"':
            i += 2
            continue
        if ch == quote:
            return i
        i += 1
    return -1


def _expand(pattern: str, value: str, env: MutableMapping[str, str], seen: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        escaped = m.group(1)
        if escaped is not None:
            return _ESCAPES.get(escaped, "\\" + escaped)
        name = m.group(2) or m.group(3)
        return env.get(name, seen.get(name, ""))

    return re.sub(pattern, one, value, flags=re.S)
