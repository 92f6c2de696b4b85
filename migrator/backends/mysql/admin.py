"""``migrator create``/``drop`` for MySQL/MariaDB: the database (schema) the URL names.

Both run on a connection without a default database, so creating one that
does not exist yet, or dropping the one the URL names, needs no other name.
As on PostgreSQL, a database another session uses (a migration run, an
application) is not dropped: the server would drop it under that session.
The check sees the sessions the login may see (all of them with PROCESS).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pymysql  # type: ignore[import-untyped]

from migrator.backends.mysql.connection import connect_within, parse_url
from migrator.config import redact_url
from migrator.errors import ConfigError, ServerUnavailable

_TRANSIENT_CODES = {2002, 2003, 2006, 2013, 1040}


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Target:
    def __init__(self, url: str) -> None:
        self.display = redact_url(url)
        self.params = parse_url(url, self.display)
        self.database = str(self.params.pop("database"))
        self.params.pop("lock_wait_timeout", None)
        self.label = f"MySQL database `{self.database}`"

    @contextlib.contextmanager
    def server(self) -> Iterator[Any]:
        """An autocommit connection to the server with no default database."""
        try:
            conn = connect_within(self.params, autocommit=True, client_flag=0,
                                  program_name="migrator")
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            cls = ServerUnavailable if code in _TRANSIENT_CODES else ConfigError
            raise cls(f"cannot connect to {self.display}: {exc.args[-1]}") from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot connect to {self.display}: {exc}") from exc
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def sessions(self, conn: Any) -> int:
        """Other sessions whose default database is this one."""
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.processlist "
                        "WHERE db = %s AND id <> CONNECTION_ID()", (self.database,))
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def exists(self, conn: Any) -> bool:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                        (self.database,))
            return cur.fetchone() is not None


def _run(conn: Any, statement: str, what: str) -> None:
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    except pymysql.err.MySQLError as exc:  # 1044: access denied, 1010: not empty, ...
        code = exc.args[0] if exc.args else ""
        raise ConfigError(f"{what}: ({code}) {exc.args[-1]}") from exc


def create(url: str) -> str:
    t = Target(url)
    with t.server() as conn:
        if t.exists(conn):
            return f"{t.label} already exists"
        _run(conn, f"CREATE DATABASE IF NOT EXISTS {_quote(t.database)}",
             f"cannot create {t.label}")
    return f"created {t.label}"


def drop(url: str) -> str:
    t = Target(url)
    with t.server() as conn:
        if not t.exists(conn):
            return f"{t.label} does not exist; nothing to drop"
        busy = t.sessions(conn)
        if busy:
            raise ConfigError(f"cannot drop {t.label}: {busy} other session(s) use it "
                              "(SHOW PROCESSLIST names them); end them first, migrator does "
                              "not end them for you")
        _run(conn, f"DROP DATABASE IF EXISTS {_quote(t.database)}", f"cannot drop {t.label}")
    return f"dropped {t.label}"


def describe(url: str) -> str:
    t = Target(url)
    return f"{t.label} ({t.display})"


def loadable(statement: str) -> str:
    """A dump statement as it runs on a database ``create`` made: unchanged here."""
    return statement
