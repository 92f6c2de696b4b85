"""Shared by the diff and drift contract tests: portable DDL, hand-made changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from contract.backends import Db
from contract.dbs import DuckdbDb, SqliteDb

INIT = "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR(20));\n"
INIT_DOWN = "DROP TABLE a;\n"
DESIRED = (
    "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR(20), w INTEGER);\n"
    "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER);\n"
    "CREATE INDEX b_a ON b (a_id);\n"
)


def need_differ(db: Db) -> None:
    """Every backend has a differ: a dialect without one fails here, never skips."""
    from migrator.backends import dialect_of_url
    from migrator.diff.dialects import differ

    differ(dialect_of_url(db.url))


def hand_made(db: Db, sql: str) -> None:
    """A change made by hand, outside migrator (``{a}`` is table a's reference)."""
    if isinstance(db, SqliteDb | DuckdbDb):
        if isinstance(db, SqliteDb):
            conn: Any = sqlite3.connect(db.path)
        else:
            import duckdb  # type: ignore[import-not-found,unused-ignore]

            conn = duckdb.connect(str(db.path))
        try:
            conn.execute(sql.format(a="a"))
            conn.commit()
        finally:
            conn.close()
        return
    db.query(sql.format(a=db.ref("a")))


def one_migration(root: Path) -> Path:
    d = root / "migrations"
    d.mkdir(exist_ok=True)
    (d / "20260101000000_create_a.up.sql").write_text(INIT)
    (d / "20260101000000_create_a.down.sql").write_text(INIT_DOWN)
    return d


def written(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if "_diff" in p.name or "_evolve" in p.name)
