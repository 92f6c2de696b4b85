"""Bookkeeping reads and writes shared by drivers whose ``execute`` returns a cursor.

sqlite3 and psycopg both do; one implementation keeps the two backends
recording rows the same way. PyMySQL needs cursors and keeps its own.
"""

from __future__ import annotations

from typing import Any

from migrator.state import AppliedMigration, StateSql


class RowStore:
    sql: StateSql

    def _check_ours(self) -> bool:
        """True if migrator's table exists; DriftError if a foreign one does."""
        raise NotImplementedError

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        """Run one statement on the backend's connection and return its cursor."""
        raise NotImplementedError

    def applied(self) -> list[AppliedMigration]:
        if not self._check_ours():
            return []
        rows = self._query(self.sql.select_all()).fetchall()
        return [
            AppliedMigration(str(v), str(n), str(c), str(a), int(d or 0))
            for v, n, c, a, d in rows
        ]

    def is_applied(self, version: str) -> bool:
        return self._query(self.sql.select_one(), (version,)).fetchone() is not None

    def record(self, row: AppliedMigration) -> None:
        self._query(self.sql.insert(), tuple(row))  # fields in COLUMNS order

    def forget(self, version: str) -> None:
        self._query(self.sql.delete(), (version,))
