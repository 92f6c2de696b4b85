"""Every backend the contract suite runs on: ONE list, one small adapter per database.

An adapter knows how to give one test a fresh, empty database or namespace
(a SQLite file, a PostgreSQL schema, a MariaDB database) and drop it
afterwards, and how to look inside it: applied versions, a table's rows,
which tables exist, a snapshot that is equal exactly when nothing changed.
Adding a backend is adding one entry to ``BACKENDS``.

The server URLs default to the servers on this machine, so the README's
plain ``pytest`` runs them; ``MIGRATOR_TEST_POSTGRES_URL`` and
``MIGRATOR_TEST_MYSQL_URL`` point elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_ENV = "MIGRATOR_TEST_POSTGRES_URL"
MY_ENV = "MIGRATOR_TEST_MYSQL_URL"
DEFAULT_URLS = {
    PG_ENV: "postgres://postgres@127.0.0.1:5432/test",
    MY_ENV: "mysql://root@127.0.0.1:3306/test",
}
# Set by CI (.ci/run): a server that does not answer fails the run instead of skipping.
REQUIRE_ENV = "MIGRATOR_TEST_REQUIRE_SERVERS"
CONNECT_TIMEOUT = 3


def server_url(env: str) -> str:
    return os.environ.get(env) or DEFAULT_URLS[env]


def with_query(url: str, extra: str) -> str:
    return url + ("&" if "?" in url else "?") + extra


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


def _new_name() -> str:
    return f"mt_{uuid.uuid4().hex[:12]}"


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
        busy = self.query("SELECT count(*) FROM information_schema.processlist "
                          "WHERE info LIKE %s AND id <> CONNECTION_ID()", (f"%{fragment}%",))
        return bool(busy[0][0])

    def _index_sql(self) -> str:
        return ("SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
                "WHERE table_schema = %s ORDER BY 2")


# -- the adapters -----------------------------------------------------------------------


class Backend(ABC):
    """How the contract suite uses one database system."""

    name: str  # the pytest id
    atomic_ddl: bool  # a failing file leaves nothing; False: the journal and ``repair``
    sleep_fragment: str  # what ``running`` looks for while ``sleep_sql`` runs
    bookkeeping: frozenset[str]  # the tables migrator itself keeps in a migrated database
    # ``unlock`` with a live holder: 4 where migrator owns the lock (a file), 0 where the
    # server owns it (a session lock it releases itself; unlock only reports the holder)
    unlock_live_exit: int
    # status, verify and up --dry-run while another process holds the run lock: DuckDB
    # lets no other process open a file that one process writes, not even to read
    reads_while_locked: bool = True
    # how a refused run names the held lock (one of these)
    held_words: tuple[str, ...] = ("locked by another migrator",)

    def waited_words(self, timeout: float) -> str:
        """How a refused run says it waited ``--lock-timeout``."""
        return f"after waiting {timeout:g}s"

    def unavailable(self) -> str | None:
        """Why this backend cannot be tested here, or None."""
        return None

    @abstractmethod
    def fresh(self, tmp_path: Path) -> Iterator[Db]:
        """A new empty database for one test, dropped afterwards (a generator)."""


class Duckdb(Backend):
    name, atomic_ddl, sleep_fragment = "duckdb", True, "range"
    bookkeeping, unlock_live_exit, reads_while_locked = frozenset({"schema_migrations"}), 4, False
    # the holder has the file open: a command that opens it before taking the run lock
    # meets DuckDB's own lock on the file first
    held_words = ("locked by another migrator", "is open elsewhere")

    def waited_words(self, timeout: float) -> str:
        return f"not closed within {max(5.0, timeout):g}s"  # a busy file waits at least 5 s

    def unavailable(self) -> str | None:
        import importlib.util

        from migrator.backends import dialects

        if "duckdb" not in {d.name for d in dialects()}:
            return "this migrator has no duckdb backend"
        if importlib.util.find_spec("duckdb") is None:
            return "the duckdb package is not installed (pip install -e '.[duckdb]')"
        return None

    def fresh(self, tmp_path: Path) -> Iterator[Db]:
        path = tmp_path / "app.duckdb"
        yield DuckdbDb(f"duckdb:///{path}", path=path)  # tmp_path is removed by pytest


class Sqlite(Backend):
    name, atomic_ddl, sleep_fragment = "sqlite", True, "RECURSIVE"
    bookkeeping, unlock_live_exit = frozenset({"schema_migrations"}), 4

    def fresh(self, tmp_path: Path) -> Iterator[Db]:
        path = tmp_path / "app.db"
        db = SqliteDb(f"sqlite:///{path}", path=path)
        yield db  # tmp_path is removed by pytest


class Server(Backend):
    env: str
    kind: str

    def url(self) -> str:
        return server_url(self.env)

    def unavailable(self) -> str | None:
        return _server_answers(self.kind, self.url())


@cache
def _server_answers(kind: str, url: str) -> str | None:
    """Asked once per session: None if the server answers, else why not."""
    try:
        connect(kind, url, timeout=CONNECT_TIMEOUT).close()
    except Exception as exc:  # any driver error means: no server to test against
        from migrator.config import redact_url

        return f"{kind} server at {redact_url(url)} did not answer: {exc}".strip()
    return None


class Postgres(Server):
    name, atomic_ddl, sleep_fragment = "postgres", True, "pg_sleep"
    bookkeeping, unlock_live_exit = frozenset({"schema_migrations"}), 0
    env, kind = PG_ENV, "postgres"

    def fresh(self, tmp_path: Path) -> Iterator[Db]:
        base = self.url()
        schema = _new_name()
        db = PostgresDb(with_query(base, f"search_path={schema}"), kind="postgres",
                        namespace=schema, admin_url=base)
        try:
            yield db
        finally:
            db.query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            db.close()


class Mysql(Server):
    name, atomic_ddl, sleep_fragment = "mysql", False, "SLEEP("
    bookkeeping = frozenset({"schema_migrations", "schema_migrations_lock",
                             "schema_migrations_state"})
    unlock_live_exit = 0
    env, kind = MY_ENV, "mysql"

    def fresh(self, tmp_path: Path) -> Iterator[Db]:
        name = _new_name()
        parts = urlsplit(self.url())
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
        admin = connect("mysql", self.url())
        try:
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}`")
            db = MysqlDb(url, kind="mysql", namespace=name, admin_url=url)
            try:
                yield db
            finally:
                db.close()
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            admin.close()


BACKENDS: tuple[Backend, ...] = (Sqlite(), Postgres(), Mysql(), Duckdb())


def named(name: str) -> Backend:
    return next(b for b in BACKENDS if b.name == name)


UNAVAILABLE: dict[str, str] = {}  # backend name -> why it was skipped, for the summary


def usable(backend: Backend) -> Backend:
    """The backend, or skip the test (fail it under CI) saying loudly why not."""
    reason = backend.unavailable()
    if reason is None:
        return backend
    if isinstance(backend, Server) and os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: the server tests must run)")
    UNAVAILABLE[backend.name] = reason
    pytest.skip(f"{backend.name.upper()} NOT TESTED: {reason}")
