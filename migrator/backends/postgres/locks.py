"""PostgreSQL's answers for ``migrator test --locks``: ``pg_locks`` and ``relfilenode``.

The statement runs in a transaction of its own; before it commits, the
session's own relation locks are read from ``pg_locks`` (the strongest mode
on each table) and each table's ``relfilenode`` is compared with the one
before: a new file means the table was rewritten. A statement PostgreSQL
refuses inside a transaction (``CREATE INDEX CONCURRENTLY``) runs alone,
where its locks cannot be read.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from migrator.lint.probe import Measured
from migrator.schema import Column, Table

# Weakest to strongest: https://www.postgresql.org/docs/current/explicit-locking.html
_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
          "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
_TABLES = ("SELECT c.relname, c.relfilenode FROM pg_class c "
           "JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')")
_LOCKS = ("SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
          "JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE l.pid = pg_backend_pid() AND n.nspname = current_schema() "
          "AND c.relkind IN ('r', 'p', 'm')")


class PostgresProbe:
    def rows(self, backend: Any, sql: str) -> list[tuple[Any, ...]]:
        cursor = backend.conn.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []

    def storage(self, backend: Any) -> dict[str, object]:
        return dict(self.rows(backend, _TABLES))

    def columns(self, backend: Any, table: Table) -> tuple[Column, ...]:
        return table.columns

    def run(self, backend: Any, sql: str, transactional: bool) -> Measured:
        before = self.storage(backend)
        started = time.perf_counter()
        measured = Measured()
        backend.begin()
        try:
            backend.execute(sql)
            measured.locks = _strongest(self.rows(backend, _LOCKS))
            backend.commit()
        except psycopg.errors.ActiveSqlTransaction:
            backend.rollback()
            started = time.perf_counter()
            backend.execute(sql)
            measured.note = "ran outside a transaction, as PostgreSQL requires: locks not read"
        except BaseException:
            backend.rollback()
            raise
        measured.ms = round((time.perf_counter() - started) * 1000)
        after = self.storage(backend)
        measured.rewritten = sorted(t for t, node in before.items()
                                    if t in after and after[t] != node)
        return measured

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def as_text(self, expr: str) -> str:
        return f"CAST({expr} AS text)"

    def as_bool(self, expr: str) -> str:
        return f"({expr} % 2 = 0)"

    def rewrite_rules(self) -> frozenset[str]:
        return frozenset({"PG004", "PG006"})


def _strongest(rows: list[tuple[Any, ...]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for table, mode in rows:
        if str(mode) in _MODES and (table not in found
                                    or _MODES.index(str(mode)) > _MODES.index(found[table])):
            found[str(table)] = str(mode)
    return dict(sorted(found.items()))


PROBE = PostgresProbe()
