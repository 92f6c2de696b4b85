"""``migrator create``/``drop`` for DuckDB: the database file and its .wal."""

from __future__ import annotations

import contextlib
import os

import duckdb

from migrator.backends import filedb
from migrator.backends.duckdb.backend import disk_full, full_disk_error
from migrator.backends.duckdb.url import MEMORY, duckdb_path
from migrator.errors import ConfigError, DatabaseFailed


def _make(path: str) -> None:
    """A new database file; one that could not be finished is removed, since DuckDB
    would never open it again and ``create`` would find it 'already exists'."""
    try:
        duckdb.connect(path).close()
    except duckdb.Error as exc:
        for leftover in (path, path + ".wal"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        if disk_full(exc):  # not the URL's fault: exit 1, as any full disk
            raise DatabaseFailed(f"duckdb:///{path}", full_disk_error(exc)) from exc
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
