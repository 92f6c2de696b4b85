"""``migrator create``/``drop`` for DuckDB: the database file and its .wal."""

from __future__ import annotations

import duckdb

from migrator.backends import filedb
from migrator.backends.duckdb.url import MEMORY, duckdb_path
from migrator.errors import ConfigError


def _make(path: str) -> None:
    try:
        duckdb.connect(path).close()
    except duckdb.Error as exc:
        raise ConfigError(f"cannot create DuckDB database {path}: {exc}") from exc


ENGINE = filedb.FileEngine(
    what="DuckDB database",
    sidecars=(".wal",),
    is_database=lambda head: head == b"" or head[8:12] == b"DUCK",
    make=_make,
)


def _path(url: str) -> str:
    path = duckdb_path(url)
    if path == MEMORY:
        raise ConfigError("an in-memory DuckDB database exists only while a run uses it; "
                          "there is nothing to create or drop")
    return path


def create(url: str) -> str:
    return filedb.create(_path(url), ENGINE)


def drop(url: str) -> str:
    return filedb.drop(_path(url), ENGINE)


def describe(url: str) -> str:
    return filedb.describe(_path(url), ENGINE)


def loadable(statement: str) -> str:
    """A dump statement as it runs on a database ``create`` made: unchanged here."""
    return statement
