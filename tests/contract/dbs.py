"""Looking inside one test's database: applied versions, rows, tables, snapshots.

One class per database system; ``backends.py`` makes a fresh one per test.
"""

from __future__ import annotations

import hashlib
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def connect(kind: str, url: str, timeout: int | None = None) -> Any:
    """An autocommit driver connection to a server (``kind`` is postgres or mysql)."""
    if kind == "postgres":
        import psycopg

        return psycopg.connect(url, autocommit=True, connect_timeout=timeout or 10)
    import pymysql  # type: ignore[import-untyped,unused-ignore]

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
        user=parts.username or "root", password=parts.password or "",
        database=parts.path.lstrip("/") or None, autocommit=True,
        connect_timeout=timeout or 10,
    )


# -- one database or namespace for one test ----------------------------------------------


@dataclass
class Db(ABC):
    """A fresh database (or namespace) for one test, and a way to look inside it."""

    url: str  # what migrator gets

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def tables(self) -> set[str]: ...

    @abstractmethod
    def columns(self, table: str) -> list[str]: ...

    @abstractmethod
    def quote(self, name: str) -> str: ...

    @abstractmethod
    def sleep_sql(self, seconds: int) -> str:
        """One statement that keeps the database busy for about ``seconds``."""

    @abstractmethod
    def running(self, fragment: str) -> bool:
        """Another session runs a statement containing ``fragment`` (True if unknowable)."""

    @abstractmethod
    def no_such_table(self, table: str) -> str:
        """The database's own words for a missing table."""

    def lock_file(self) -> Path | None:
        """The run lock's file, where migrator keeps one (embedded databases)."""
        return None

    def ref(self, table: str) -> str:
        """The table's name as this test's own connection must write it."""
        return self.quote(table)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return self.query(f"SELECT * FROM {self.ref(table)} ORDER BY 1")

    def applied_versions(self, table: str = "schema_migrations") -> list[str]:
        if table not in self.tables():
            return []
        return sorted(str(r[0]) for r in self.query(f"SELECT version FROM {self.ref(table)}"))

    def snapshot(self) -> Any:
        """Schema and every row of every table: equal snapshots mean nothing changed."""
        return {t: (self.columns(t), sorted(self.rows(t), key=repr)) for t in sorted(self.tables())}


@dataclass
class SqliteDb(Db):
    path: Path = field(default=Path())

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)

    def lock_file(self) -> Path | None:
        return self.path.with_name(self.path.name + ".migrator-lock")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        conn = self._conn()
        try:
            return list(conn.execute(sql, tuple(params)).fetchall())
        finally:
            conn.close()

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}

    def columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.query(f"PRAGMA table_info({self.quote(table)})")]

    def quote(self, name: str) -> str:
        return f'"{name}"'

    def sleep_sql(self, seconds: int) -> str:
        rows = seconds * 5_000_000  # about 20 ms per 100k rows
        return (f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                f"WHERE x < {rows}) SELECT count(*) FROM c;")

    def no_such_table(self, table: str) -> str:
        return f"no such table: {table}"

    def running(self, fragment: str) -> bool:
        return True  # another process's statement is invisible; callers also wait on state

    def snapshot(self) -> Any:
        """The file's bytes too: a refused run must not even rewrite a page."""
        if not self.path.exists():
            return None
        schema = sorted(self.query("SELECT type, name, tbl_name, sql FROM sqlite_master"),
                        key=repr)
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return {"bytes": digest, "schema": schema, "data": super().snapshot()}


@dataclass
class DuckdbDb(Db):
    """Read between runs only: DuckDB lets no second process open a file being written."""

    path: Path = field(default=Path())

    def lock_file(self) -> Path | None:
        return self.path.with_name(self.path.name + ".migrator-lock")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        import duckdb  # type: ignore[import-not-found,unused-ignore]

        conn = duckdb.connect(str(self.path), read_only=True)
        try:
            return [tuple(r) for r in conn.execute(sql, list(params)).fetchall()]
        finally:
            conn.close()

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}

    def columns(self, table: str) -> list[str]:
        return [str(r[0]) for r in self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position", (table,))]

    def quote(self, name: str) -> str:
        return f'"{name}"'

    def sleep_sql(self, seconds: int) -> str:
        rows = 10_000 * seconds  # about 1e9 pairs a second; killed long before it ends
        return (f"SELECT count(*) FROM range({rows}) a, range({rows}) b "
                "WHERE a.range + b.range = -1;")

    def running(self, fragment: str) -> bool:
        return True  # the file is closed to other processes while a run writes it

    def no_such_table(self, table: str) -> str:
        return f"Table with name {table} does not exist"


@dataclass
class ServerDb(Db):
    kind: str = ""
    namespace: str = ""  # the PostgreSQL schema or the MariaDB database
    admin_url: str = ""
    _conn: Any = field(default=None, repr=False)

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.kind, self.admin_url)
        return self._conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "postgres":
            cur = self.conn.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []
        with self.conn.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (self.namespace,))}

    def columns(self, table: str) -> list[str]:
        return [str(r[0]) for r in self.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (self.namespace, table))]

    def ref(self, table: str) -> str:
        return f"{self.quote(self.namespace)}.{self.quote(table)}"

    @abstractmethod
    def _index_sql(self) -> str:
        """(table, index) pairs of the namespace, ordered, with one %s for it."""

    def schema_dump(self) -> list[tuple[Any, ...]]:
        """Tables, columns and indexes in the namespace: equal dumps mean equal schemas."""
        cols = self.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY 1, 2",
            (self.namespace,),
        )
        return [*cols, *self.query(self._index_sql(), (self.namespace,))]

    def snapshot(self) -> Any:
        return {"schema": self.schema_dump(), "data": super().snapshot()}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class PostgresDb(ServerDb):
    def quote(self, name: str) -> str:
        return f'"{name}"'

    def sleep_sql(self, seconds: int) -> str:
        return f"SELECT pg_sleep({seconds});"

    def no_such_table(self, table: str) -> str:
        return f'relation "{table}" does not exist'

    def running(self, fragment: str) -> bool:
        busy = self.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s "
                          "AND pid <> pg_backend_pid()", (f"%{fragment}%",))
        return bool(busy[0][0])

    def _index_sql(self) -> str:
        return "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 2"


@dataclass
class MysqlDb(ServerDb):
    def quote(self, name: str) -> str:
        return f"`{name}`"

    def sleep_sql(self, seconds: int) -> str:
        return f"SELECT SLEEP({seconds});"

    def no_such_table(self, table: str) -> str:
        return f"Table '{self.namespace}.{table}' doesn't exist"

    def snapshot(self) -> Any:
        """Without the lock table's rows: every run, refused or not, notes its holder there."""
        snap = super().snapshot()
        lock = snap["data"].get("schema_migrations_lock")
        if lock is not None:
            snap["data"]["schema_migrations_lock"] = (lock[0], "holder of the last run")
        return snap

    def running(self, fragment: str) -> bool:
        # this test's database only: another run's SLEEP on the same server must not count
        busy = self.query("SELECT count(*) FROM information_schema.processlist "
                          "WHERE info LIKE %s AND id <> CONNECTION_ID() AND db = DATABASE()",
                          (f"%{fragment}%",))
        return bool(busy[0][0])

    def _index_sql(self) -> str:
        return ("SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
                "WHERE table_schema = %s ORDER BY 2")
