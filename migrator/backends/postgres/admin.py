"""``migrator create``/``drop`` for PostgreSQL: the database the URL names, or its schema.

``CREATE``/``DROP DATABASE`` cannot run inside the database itself, so they
go through a maintenance connection to the same server: its ``postgres``
database, else ``template1``. A URL with ``schema=`` (or ``search_path=``)
names that schema: ``create`` makes the database if needed and the schema,
``drop`` drops only the schema, never the other schemas beside it.

``drop`` never ends other sessions (no ``WITH (FORCE)``): a database in use
is refused with the server's message, which names how many sessions use it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from migrator.backends.postgres.session import PgSettings
from migrator.errors import ConfigError, ServerUnavailable

MAINTENANCE = ("postgres", "template1")
# pg_dump writes CREATE SCHEMA for the schema it dumps, which every new
# database (public) or 'migrator create' (schema=) already made.
_CREATE_SCHEMA = re.compile(r"\A(\s*CREATE\s+SCHEMA)\s+(?!IF\s+NOT\s+EXISTS\b)", re.IGNORECASE)


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Target:
    """The database (and schema) a URL names, and how to reach its server."""

    def __init__(self, url: str) -> None:
        self.settings = PgSettings(url)
        self.display = self.settings.display
        try:
            name = conninfo_to_dict(self.settings.conninfo).get("dbname")
        except psycopg.Error as exc:  # an unknown parameter, a bad value libpq parses
            raise ConfigError(f"{self.display}: {_line(exc)}") from exc
        if not name:
            raise ConfigError(f"{self.display} names no database: write "
                              "postgres://user@host:5432/DATABASE")
        self.database = str(name)
        self.schema = self.settings.first_schema

    @property
    def label(self) -> str:
        if self.schema:
            return f'PostgreSQL schema "{self.schema}" in database "{self.database}"'
        return f'PostgreSQL database "{self.database}"'

    def connect(self, dbname: str) -> psycopg.Connection[Any]:
        info = make_conninfo(self.settings.conninfo, dbname=dbname)
        extra: dict[str, Any] = {} if "connect_timeout" in info else {"connect_timeout": 10}
        return psycopg.connect(info, autocommit=True, application_name="migrator admin",
                               **extra)

    @contextlib.contextmanager
    def maintenance(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection to the server through a database other than the target."""
        failure: psycopg.Error | None = None
        for dbname in MAINTENANCE:
            if dbname == self.database:
                continue
            try:
                conn = self.connect(dbname)
            except psycopg.OperationalError as exc:
                failure = exc
                continue
            try:
                self._check_settings(conn)
                yield conn
            finally:
                conn.close()
            return
        message = _line(failure) if failure else "no maintenance database"
        cls = ServerUnavailable if "Connection refused" in message else ConfigError
        raise cls(f"cannot connect to the server of {self.display} (through its "
                  f"{' or '.join(MAINTENANCE)} database): {message}")

    def _check_settings(self, conn: psycopg.Connection[Any]) -> None:
        """The URL's lock_timeout and statement_timeout, set as a run sets them: a bad
        value is refused (exit 2) before anything is created or dropped, as by a run."""
        s = self.settings
        for name, value in (("lock_timeout", s.lock_timeout),
                            ("statement_timeout", s.statement_timeout)):
            if value is None:
                continue
            try:
                conn.execute("SELECT set_config(%s, %s, false)", (name, value))
            except psycopg.Error as exc:
                raise ConfigError(f"{self.display}: URL parameter {name}={value!r}: "
                                  f"{_line(exc)}") from exc

    def database_exists(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                           (self.database,)).fetchone()
        return row is not None

    def schema_exists(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                           (self.schema,)).fetchone()
        return row is not None


@contextlib.contextmanager
def _refused(what: str) -> Iterator[None]:
    """The server's refusal (privileges, a database in use) as a usage error, exit 2."""
    try:
        yield
    except psycopg.Error as exc:
        hint = ""
        if isinstance(exc, errors.ObjectInUse):
            hint = ("; end those sessions first (pg_terminate_backend), migrator does not "
                    "end them for you")
        raise ConfigError(f"{what}: {_line(exc)}{hint}") from exc


def create(url: str) -> str:
    t = Target(url)
    created_database = False
    with t.maintenance() as conn, _refused(f"cannot create {t.label}"):
        if not t.database_exists(conn):
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(t.database)))
                created_database = True
            except errors.DuplicateDatabase:
                pass  # created meanwhile by someone else: it exists, as asked
    if t.schema is None:
        return f"created {t.label}" if created_database else f"{t.label} already exists"
    with _refused(f"cannot create {t.label}"), t.connect(t.database) as conn:
        if t.schema_exists(conn):
            return f"{t.label} already exists"
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(t.schema)))
    return f"created {t.label}"


def drop(url: str) -> str:
    t = Target(url)
    if t.schema is not None:
        with t.maintenance() as conn, _refused(f"cannot drop {t.label}"):
            if not t.database_exists(conn):
                return f"{t.label} does not exist; nothing to drop"
        with _refused(f"cannot drop {t.label}"), t.connect(t.database) as conn:
            if not t.schema_exists(conn):
                return f"{t.label} does not exist; nothing to drop"
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(t.schema)))
        return f"dropped {t.label}"
    with t.maintenance() as conn, _refused(f"cannot drop {t.label}"):
        if not t.database_exists(conn):
            return f"{t.label} does not exist; nothing to drop"
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(t.database)))
    return f"dropped {t.label}"


def describe(url: str) -> str:
    t = Target(url)
    return f"{t.label} ({t.display})"


def loadable(statement: str) -> str:
    """``CREATE SCHEMA x`` as ``CREATE SCHEMA IF NOT EXISTS x``: the existing empty schema
    keeps its owner and privileges (dropping it would lose them)."""
    return _CREATE_SCHEMA.sub(r"\1 IF NOT EXISTS ", statement, count=1)
