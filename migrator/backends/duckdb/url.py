"""The file a ``duckdb://`` URL names."""

from __future__ import annotations

from migrator.errors import ConfigError

MEMORY = ":memory:"  # the path DuckDB opens as an in-memory database, with no file


def duckdb_path(url: str) -> str:
    """The file in ``duckdb:///relative.db`` or ``duckdb:////absolute.db``."""
    from migrator.config import redact_url

    shown = repr(redact_url(url))
    scheme, sep, rest = url.partition("://")
    if scheme.lower() != "duckdb" or not sep:
        raise ConfigError(f"not a duckdb URL: {shown}; write duckdb:///relative.db "
                          "or duckdb:////absolute/path.db")
    if "?" in rest or "#" in rest:
        raise ConfigError(f"duckdb URL {shown} has query parameters, which migrator "
                          "does not use")
    if not rest.startswith("/"):
        raise ConfigError(f"duckdb URL {shown} has a host part; write duckdb:///relative.db "
                          "or duckdb:////absolute/path.db")
    path = rest[1:]
    if "\0" in path:
        raise ConfigError(f"duckdb URL {shown} has a NUL byte in its path")
    if not path or path.endswith("/"):
        raise ConfigError(f"duckdb URL {shown} names no file; write duckdb:///relative.db "
                          "or duckdb:////absolute/path.db")
    return path
