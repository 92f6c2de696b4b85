"""Every backend the contract suite runs on: ONE list, one small adapter per database.

An adapter knows how to give one test a fresh, empty database or namespace
(a SQLite file, a PostgreSQL schema, a MariaDB database, a DuckDB file) and
drop it afterwards, and what the database does differently where the
contract lets it; looking inside (applied versions, rows, tables, a
snapshot equal exactly when nothing changed) is its ``dbs.Db``. Adding a
backend is adding one entry to ``BACKENDS``.

The server URLs default to the servers on this machine, so the README's
plain ``pytest`` runs them; ``MIGRATOR_TEST_POSTGRES_URL`` and
``MIGRATOR_TEST_MYSQL_URL`` point elsewhere.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from contract.dbs import Db, DuckdbDb, MysqlDb, PostgresDb, ServerDb, SqliteDb, connect

__all__ = ["BACKENDS", "Backend", "Db", "ServerDb", "connect", "named", "usable"]

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


def _new_name() -> str:
    return f"mt_{uuid.uuid4().hex[:12]}"


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
