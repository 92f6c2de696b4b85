"""SQLite's answers for ``migrator test --locks``: did the statement rebuild a table?

SQLite locks the whole file for any write, so there is no lock to report per
table; what matters is whether a table was rebuilt (its root page in
``sqlite_schema`` changed: a new b-tree, every row copied).
"""

from __future__ import annotations

import time
from typing import Any

from migrator.lint.probe import Measured
from migrator.schema import Column, Table

_TABLES = "SELECT name, rootpage FROM sqlite_schema WHERE type = 'table'"


class SqliteProbe:
    def rows(self, backend: Any, sql: str) -> list[tuple[Any, ...]]:
        return list(backend.conn.execute(sql).fetchall())

    def storage(self, backend: Any) -> dict[str, object]:
        return dict(self.rows(backend, _TABLES))

    def columns(self, backend: Any, table: Table) -> tuple[Column, ...]:
        """From ``PRAGMA table_info``: SQLite's catalog keeps only the CREATE text."""
        found = []
        for _, name, kind, notnull, default, pk in self.rows(
                backend, f"PRAGMA table_info({self.quote(table.name)})"):
            found.append(Column(str(name), str(kind), nullable=not notnull and not pk,
                                default=None if default is None else str(default)))
        return tuple(found)

    def run(self, backend: Any, sql: str, transactional: bool) -> Measured:
        before = self.storage(backend)
        started = time.perf_counter()
        if transactional:
            backend.begin()
        try:
            backend.execute(sql)
            if transactional:
                backend.commit()
        except BaseException:
            if transactional:
                backend.rollback()
            raise
        measured = Measured(ms=round((time.perf_counter() - started) * 1000))
        after = self.storage(backend)
        measured.rewritten = sorted(t for t, page in after.items()
                                    if t in before and before[t] != page)
        return measured

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def as_text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"

    def as_bool(self, expr: str) -> str:
        return f"({expr} % 2)"

    def rewrite_rules(self) -> frozenset[str]:
        return frozenset()


PROBE = SqliteProbe()
