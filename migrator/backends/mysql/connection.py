"""The connection to one MySQL/MariaDB database: URL, checks, queries.

This is what the catalog walker, ``dump`` and the scratch databases need
from a backend, kept apart from ``backend.py`` (which adds the migration
run and ``catalog()``) so that neither imports the other in a loop. Every
documented URL parameter and every derived identifier is checked here,
before the first byte is written, so a bad value is a configuration error
(exit 2) instead of a driver traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql  # type: ignore[import-untyped]
from pymysql.charset import charset_by_name  # type: ignore[import-untyped]
from pymysql.constants import CLIENT  # type: ignore[import-untyped]

from migrator.config import redact_url
from migrator.errors import ConfigError, Interrupted, ServerUnavailable
from migrator.state import AppliedMigration, StateSql, is_ours

URL_PARAMS = ("charset", "connect_timeout", "unix_socket", "lock_wait_timeout",
              "ssl_ca", "ssl_cert", "ssl_key")
MAX_IDENTIFIER = 64  # characters, for tables and databases alike
_TRANSIENT_CODES = {2002, 2003, 2006, 2013, 1040}  # can't connect, gone away, too many
_MAX_LOCK_NAME = 64
_CANCEL_TIMEOUT = 1.5  # seconds the server gets to end a cancelled session
_MAX_TIMEOUT = 31_536_000  # the servers' own ceiling for lock_wait_timeout (one year)


def galera_refusal(wsrep_on: str | None, display: str) -> str | None:
    """Why a server cannot be migrated safely, or None (Galera: GET_LOCK is node-local)."""
    if (wsrep_on or "").upper() not in ("ON", "1"):
        return None
    return (f"{display} is a Galera cluster node (wsrep_on=ON): GET_LOCK there is either "
            "refused or held on one node only, so two migrators could both run. migrator "
            "refuses it; run migrations against a server without wsrep, or turn wsrep_on "
            "off for the session of a single designated runner")


def parse_url(url: str, display: str) -> dict[str, Any]:
    """PyMySQL's connect() arguments from the URL, every value checked."""
    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ConfigError(f"{display} names no database: write "
                          "mysql://user:password@host:3306/DATABASE")
    if len(database) > MAX_IDENTIFIER:
        raise ConfigError(f"{display}: the database name is {len(database)} characters; "
                          f"MySQL allows at most {MAX_IDENTIFIER}")
    try:
        port = parts.port or 3306
    except ValueError as exc:
        raise ConfigError(f"{display}: {exc}") from None
    params: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1", "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""), "database": database,
        "charset": "utf8mb4", "connect_timeout": 10,
    }
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in URL_PARAMS:
            raise ConfigError(f"{display}: unknown URL parameter {key!r} "
                              f"(known: {', '.join(URL_PARAMS)})")
        params[key] = _checked(key, value, display)
    return params


def _checked(key: str, value: str, display: str) -> Any:
    where = f"{display}: URL parameter {key}={value!r}"
    if key in ("connect_timeout", "lock_wait_timeout"):
        if not value.isdigit() or not 1 <= int(value) <= _MAX_TIMEOUT:
            raise ConfigError(f"{where} is not a whole number of seconds from 1 to "
                              f"{_MAX_TIMEOUT}")
        return int(value)
    if key == "charset":
        if charset_by_name(value) is None:
            raise ConfigError(f"{where} is not a character set this client knows "
                              "(for example utf8mb4, latin1, binary)")
        return value
    if key in ("ssl_ca", "ssl_cert", "ssl_key"):
        if not os.path.isfile(value):
            raise ConfigError(f"{where}: no such file")
        if not os.access(value, os.R_OK):
            raise ConfigError(f"{where}: the file is not readable")
        return value
    if key == "unix_socket" and not value:
        raise ConfigError(f"{where}: give the path of the server's socket")
    return value


def connect_within(params: dict[str, Any], **extra: Any) -> Any:
    """``pymysql.connect`` whose handshake, not only its TCP connect, ends within
    ``connect_timeout``: a server that accepts and never answers (hung, still starting,
    a forwarded port with nothing behind it) would otherwise hold the command forever.
    The statements that follow get no read timeout: a migration may run for hours."""
    timeout = params.get("connect_timeout", 10)
    conn = pymysql.connect(read_timeout=timeout, write_timeout=timeout, **params, **extra)
    # PyMySQL applies these to the socket again before its next read or write
    conn._read_timeout = conn._write_timeout = None
    return conn


def check_table_names(table: str, display: str) -> None:
    """The bookkeeping table and the two beside it must fit MySQL's identifier limit;
    otherwise the first CREATE TABLE fails half-way through a run."""
    bare = table.rpartition(".")[2]
    for name in (bare, bare + "_state", bare + "_lock"):
        if len(name) > MAX_IDENTIFIER:
            raise ConfigError(
                f"--migrations-table {table!r} is too long for {display}: migrator keeps "
                f"{bare}, {bare}_state and {bare}_lock there, and {name!r} has {len(name)} "
                f"characters (MySQL allows {MAX_IDENTIFIER}); choose a name of at most "
                f"{MAX_IDENTIFIER - len('_state')} characters")


class MysqlConnection:
    """One autocommit connection and the names of migrator's own tables."""

    def __init__(self, url: str, *, table: str, busy_timeout: float) -> None:
        self.url = url  # kept for the scratch databases a catalog makes beside this one
        self.display_url = redact_url(url)
        self.busy_timeout = busy_timeout
        check_table_names(table, self.display_url)
        self.sql = StateSql(table, quote_char="`", mark="%s")
        self.journal_sql = StateSql(table + "_state", quote_char="`", mark="%s")
        self.lock_sql = StateSql(table + "_lock", quote_char="`", mark="%s")
        self.params = parse_url(url, self.display_url)
        self.conn = self.connect()
        self.database = str(self._one("SELECT DATABASE()"))
        self.lock_name = self._lock_name()

    def _lock_name(self) -> str:
        name = f"migrator:{self.database}.{self.sql.table}"
        if len(name) <= _MAX_LOCK_NAME:
            return name
        return "migrator:" + hashlib.sha256(name.encode()).hexdigest()[:40]

    def connect(self, timeout: int | None = None) -> Any:
        """A new connection with this URL's settings; ``timeout`` overrides connect_timeout."""
        p = dict(self.params)
        lock_wait = p.pop("lock_wait_timeout", None)
        if timeout is not None:
            p["connect_timeout"] = timeout
        init = f"SET SESSION lock_wait_timeout = {int(lock_wait)}" if lock_wait else None
        try:
            # client_flag=0 adds nothing to PyMySQL's defaults: no MULTI_STATEMENTS.
            conn = connect_within(p, autocommit=True, client_flag=0, init_command=init,
                                  program_name="migrator")
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            cls = ServerUnavailable if code in _TRANSIENT_CODES else ConfigError
            raise cls(f"cannot connect to {self.display_url}: {exc.args[-1]}"
                      + (" (is the server running? 'migrator wait --timeout SECONDS' waits "
                         "for one that is starting)" if cls is ServerUnavailable else "")
                      ) from exc
        except (OSError, ValueError) as exc:  # an unreadable certificate, a bad key
            raise ConfigError(f"cannot connect to {self.display_url}: {exc}") from exc
        assert not conn.client_flag & CLIENT.MULTI_STATEMENTS
        try:
            refusal = galera_refusal(self._wsrep(conn), self.display_url)
        except BaseException:
            conn.close()
            raise
        if refusal:
            conn.close()
            raise ConfigError(refusal)
        return conn

    @staticmethod
    def _wsrep(conn: Any) -> str | None:
        with conn.cursor() as cur:
            cur.execute("SHOW VARIABLES LIKE 'wsrep_on'")
            row = cur.fetchone()
        return str(row[1]) if row else None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def _query(self, sql: str, args: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        with self.cancelled_on_signal(), self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    @contextlib.contextmanager
    def cancelled_on_signal(self) -> Iterator[None]:
        """SIGINT/SIGTERM while the server works: stop it there too.

        The exception leaves PyMySQL's read half-done, and the server would go
        on running the statement, holding its locks, the transaction and
        GET_LOCK, until it ended on its own; so a second connection sends
        ``KILL QUERY`` and then ``KILL`` (which rolls back and frees GET_LOCK).
        """
        try:
            yield
        except (KeyboardInterrupt, Interrupted):
            self.cancel()
            raise

    def cancel(self) -> None:
        """End this connection's statement and session on the server, and wait
        (briefly) until its GET_LOCK is free, so the next run finds it free."""
        thread = self.conn.thread_id()
        with contextlib.suppress(Exception):
            helper = self.connect(timeout=2)
            try:
                with helper.cursor() as cur:
                    for sql in (f"KILL QUERY {int(thread)}", f"KILL {int(thread)}"):
                        with contextlib.suppress(pymysql.err.MySQLError):  # already gone
                            cur.execute(sql)
                    deadline = time.monotonic() + _CANCEL_TIMEOUT
                    while time.monotonic() < deadline:
                        cur.execute("SELECT IS_USED_LOCK(%s)", (self.lock_name,))
                        row = cur.fetchone()
                        if row is None or row[0] != thread:
                            break
                        time.sleep(0.02)
            finally:
                helper.close()
        with contextlib.suppress(Exception):
            self.conn._force_close()

    def _one(self, sql: str, args: tuple[Any, ...] | None = None) -> Any:
        rows = self._query(sql, args)
        return rows[0][0] if rows else None

    def _columns(self, sql: StateSql) -> list[str]:
        schema, _, _ = sql.table.rpartition(".")
        rows = self._query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s ORDER BY ordinal_position",
            (schema or self.database, sql.bare_name),
        )
        return [str(r[0]) for r in rows]

    def _check_ours(self) -> bool:
        columns = self._columns(self.sql)
        return is_ours(self.sql.table, columns)

    def applied(self) -> list[AppliedMigration]:
        if not self._check_ours():
            return []
        return [
            AppliedMigration(str(v), str(n), str(c), str(a), int(d or 0))
            for v, n, c, a, d in self._query(self.sql.select_all())
        ]
