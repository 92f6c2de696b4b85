"""What a ``sqlite:`` URL names: a file path, or ``:memory:``.

Strict on purpose: a host part or query parameters would be silently ignored
by a looser reading, so they are refused rather than guessed at.
"""

from __future__ import annotations

from urllib.parse import unquote

from migrator.config import redact_url
from migrator.errors import ConfigError


def sqlite_path(url: str) -> str:
    """The file path in a sqlite URL (``:memory:`` allowed); ConfigError if malformed."""
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in ("sqlite", "sqlite3"):
        raise ConfigError(f"not a sqlite URL: {redact_url(url)}")
    shown = repr(redact_url(url))  # sqlite://user:password@host/x.db is wrong, yet secret
    if "?" in rest or "#" in rest:
        raise ConfigError(
            f"sqlite URL {shown} has query parameters, which migrator does not use; "
            "remove everything from '?'"
        )
    if rest.startswith("//"):
        rest = rest[2:]
        if rest.startswith("/"):
            rest = rest[1:]  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
        elif rest and not rest.startswith(":memory:"):
            raise ConfigError(
                f"sqlite URL {shown} has a host part; write sqlite:///relative.db "
                "or sqlite:////absolute/path.db"
            )
    path = unquote(rest)
    if "\x00" in path:
        raise ConfigError(f"sqlite URL {shown} has a NUL byte (%00) in its path")
    if not path:
        raise ConfigError(
            f"sqlite URL {shown} names no file; write sqlite:///relative.db "
            "or sqlite:////absolute/path.db"
        )
    return path
