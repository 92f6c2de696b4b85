"""``migrator create``/``drop`` for SQLite: the database file and its -wal, -shm, -journal."""

from __future__ import annotations

import sqlite3

from migrator.backends import filedb
from migrator.backends.sqlite.url import sqlite_path
from migrator.errors import ConfigError

_HEADER = b"SQLite format 3\x00"


def _make(path: str) -> None:
    try:
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA user_version = 0")  # writes the header: a real database
            conn.execute("VACUUM")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot create SQLite database {path}: {exc}") from exc


ENGINE = filedb.FileEngine(
    what="SQLite database",
    sidecars=("-wal", "-shm", "-journal"),
    is_database=lambda head: head in (b"", _HEADER),
    make=_make,
)


def _path(url: str) -> str:
    path = sqlite_path(url)
    if path.startswith(":memory:"):
        raise ConfigError("an in-memory SQLite database exists only while a run uses it; "
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
