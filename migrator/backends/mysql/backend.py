"""MySQL and MariaDB through PyMySQL.

DDL commits implicitly ("even if the statement fails", says MariaDB), so a
file cannot be atomic: ``transactional_ddl`` is False and the engine runs
each statement on its own, writing a journal row (``<table>_state``) before
each one. A failed or killed file leaves that row behind and every later run
stops until ``migrator repair`` records what the database now holds.

CLIENT.MULTI_STATEMENTS stays off, so a string holding two statements is a
syntax error instead of running silently. ``GET_LOCK`` is the run-wide lock;
it dies with the connection. Galera clusters, where GET_LOCK is local to one
node (or refused), are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql  # type: ignore[import-untyped]
from pymysql.constants import CLIENT, ER, SERVER_STATUS  # type: ignore[import-untyped]

from migrator.backends.base import Catalog, Journal, SpanRunner, Unfinished
from migrator.backends.mysql.split import is_cut_stored_program, split, statement_bounds
from migrator.config import redact_url
from migrator.errors import ConfigError, DbError, LockError, ServerUnavailable
from migrator.splitting import Statement
from migrator.state import COLUMNS, AppliedMigration, StateSql, is_ours, utc_now

URL_PARAMS = ("charset", "connect_timeout", "unix_socket", "lock_wait_timeout",
              "ssl_ca", "ssl_cert", "ssl_key")
_ER_NAMES = {v: k for k, v in vars(ER).items() if isinstance(v, int)}
_TRANSIENT_CODES = {2002, 2003, 2006, 2013, 1040}  # can't connect, gone away, too many
_MAX_LOCK_NAME = 64


def galera_refusal(wsrep_on: str | None, display: str) -> str | None:
    """Why a server cannot be migrated safely, or None (Galera: GET_LOCK is node-local)."""
    if (wsrep_on or "").upper() not in ("ON", "1"):
        return None
    return (f"{display} is a Galera cluster node (wsrep_on=ON): GET_LOCK there is either "
            "refused or held on one node only, so two migrators could both run. migrator "
            "refuses it; run migrations against a server without wsrep, or turn wsrep_on "
            "off for the session of a single designated runner")


class MysqlBackend:
    name = "mysql"
    transactional_ddl = False
    span_runner: SpanRunner | None = None

    def __init__(self, url: str, *, table: str, readonly: bool, busy_timeout: float) -> None:
        self.url = url  # kept for the scratch databases a catalog makes beside this one
        self.display_url = redact_url(url)
        self.journal: Journal | None = self
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self.sql = StateSql(table, quote_char="`", mark="%s")
        self.journal_sql = StateSql(table + "_state", quote_char="`", mark="%s")
        self.lock_sql = StateSql(table + "_lock", quote_char="`", mark="%s")
        self.params = self._parse(url)
        self.conn = self._connect()
        self.database = str(self._one("SELECT DATABASE()"))
        self.lock_name = self._lock_name()
        self.last_sql = ""  # the statement describe_error explains

    # -- connection -----------------------------------------------------------

    def _parse(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ConfigError(f"{self.display_url} names no database: write "
                              "mysql://user:password@host:3306/DATABASE")
        params: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1", "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""), "database": database,
            "charset": "utf8mb4", "connect_timeout": 10,
        }
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in URL_PARAMS:
                raise ConfigError(f"{self.display_url}: unknown URL parameter {key!r} "
                                  f"(known: {', '.join(URL_PARAMS)})")
            params[key] = int(value) if key == "connect_timeout" else value
        return params

    def _connect(self) -> Any:
        p = dict(self.params)
        lock_wait = p.pop("lock_wait_timeout", None)
        init = f"SET SESSION lock_wait_timeout = {int(lock_wait)}" if lock_wait else None
        try:
            # client_flag=0 adds nothing to PyMySQL's defaults: no MULTI_STATEMENTS.
            conn = pymysql.connect(autocommit=True, client_flag=0, init_command=init,
                                   program_name="migrator", **p)
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else 0
            cls = ServerUnavailable if code in _TRANSIENT_CODES else ConfigError
            raise cls(f"cannot connect to {self.display_url}: {exc.args[-1]}"
                      + (" (is the server running? 'migrator wait --timeout SECONDS' waits "
                         "for one that is starting)" if cls is ServerUnavailable else "")
                      ) from exc
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
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _one(self, sql: str, args: tuple[Any, ...] | None = None) -> Any:
        rows = self._query(sql, args)
        return rows[0][0] if rows else None

    def catalog(self) -> Catalog:
        """This database's objects and rows for the DBA commands (backends/mysql/catalog.py)."""
        from migrator.backends.mysql.catalog import MysqlCatalog

        return MysqlCatalog(self)

    # -- splitting ------------------------------------------------------------

    def statement_bounds(self, text: str) -> Iterator[tuple[int, int, int]]:
        return statement_bounds(text)

    def split(self, text: str) -> Iterator[Statement]:
        return split(text)

    # -- bookkeeping ----------------------------------------------------------

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

    def ensure_state_table(self) -> None:
        options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        if not self._check_ours():
            self._query(self.sql.create("VARCHAR(255)", "VARCHAR(191)") + options)
        self._query(
            f"CREATE TABLE IF NOT EXISTS {self.journal_sql.qualified} (\n"
            "    version VARCHAR(191) NOT NULL PRIMARY KEY,\n"
            "    name VARCHAR(255) NOT NULL,\n"
            "    direction VARCHAR(8) NOT NULL,\n"
            "    status VARCHAR(16) NOT NULL,\n"
            "    statement INTEGER NOT NULL,\n"
            "    total INTEGER NOT NULL,\n"
            "    started_at VARCHAR(40) NOT NULL,\n"
            "    updated_at VARCHAR(40) NOT NULL,\n"
            "    message TEXT NOT NULL\n"
            ")" + options
        )

    def applied(self) -> list[AppliedMigration]:
        if not self._check_ours():
            return []
        return [
            AppliedMigration(str(v), str(n), str(c), str(a), int(d or 0))
            for v, n, c, a, d in self._query(self.sql.select_all())
        ]

    def is_applied(self, version: str) -> bool:
        return bool(self._query(self.sql.select_one(), (version,)))

    def record(self, row: AppliedMigration) -> None:
        self._query(self.sql.insert(),
                    (row.version, row.name, row.checksum, row.applied_at, row.duration_ms))

    def forget(self, version: str) -> None:
        self._query(self.sql.delete(), (version,))

    # -- journal (each write commits at once: autocommit, outside a transaction) ----

    def journal_start(self, version: str, name: str, direction: str, total: int) -> None:
        now = utc_now()
        self._query(
            f"REPLACE INTO {self.journal_sql.qualified} (version, name, direction, status, "
            "statement, total, started_at, updated_at, message) "
            "VALUES (%s, %s, %s, 'running', 0, %s, %s, %s, '')",
            (version, name, direction, total, now, now),
        )

    def journal_statement(self, version: str, index: int) -> None:
        self._query(f"UPDATE {self.journal_sql.qualified} SET statement = %s, updated_at = %s "
                    "WHERE version = %s", (index, utc_now(), version))

    def journal_failed(self, version: str, index: int, message: str) -> None:
        self._query(f"UPDATE {self.journal_sql.qualified} SET status = 'failed', "
                    "statement = %s, updated_at = %s, message = %s WHERE version = %s",
                    (index, utc_now(), message[:4000], version))

    def journal_clear(self, version: str) -> None:
        self._query(f"DELETE FROM {self.journal_sql.qualified} WHERE version = %s", (version,))

    def unfinished(self) -> list[Unfinished]:
        if not self._columns(self.journal_sql):
            return []
        rows = self._query(f"SELECT version, name, direction, status, statement, total, "
                           f"started_at, message FROM {self.journal_sql.qualified} "
                           "ORDER BY started_at")
        return [Unfinished(str(v), str(n), str(d), str(s), int(k), int(t), str(a), str(m))
                for v, n, d, s, k, t, a, m in rows]

    # -- transactions ---------------------------------------------------------

    def begin(self) -> None:
        self._query("START TRANSACTION")

    def commit(self) -> None:
        self._query("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(pymysql.err.MySQLError):
            if self.conn.open and self.in_transaction():
                self._query("ROLLBACK")

    def in_transaction(self) -> bool:
        return bool(self.conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    def execute(self, sql: str) -> None:
        self.last_sql = sql
        with self.conn.cursor() as cur:
            cur.execute(sql)  # no args: PyMySQL does no %-formatting
            while cur.nextset():  # CALL returns one result per SELECT inside
                pass

    @contextlib.contextmanager
    def foreign_keys_off(self) -> Iterator[None]:
        raise ConfigError(
            "'-- migrator: foreign-keys-off' is a SQLite directive and this file was not run; "
            "on MySQL put SET FOREIGN_KEY_CHECKS = 0; ... SET FOREIGN_KEY_CHECKS = 1; "
            "in the file itself"
        )
        yield  # pragma: no cover

    def foreign_key_violations(self) -> list[str]:
        return []

    # -- locking --------------------------------------------------------------

    def _lock_name(self) -> str:
        name = f"migrator:{self.database}.{self.sql.table}"
        if len(name) <= _MAX_LOCK_NAME:
            return name
        return "migrator:" + hashlib.sha256(name.encode()).hexdigest()[:40]

    @contextlib.contextmanager
    def run_lock(self, timeout: float) -> Iterator[None]:
        got = self._one("SELECT GET_LOCK(%s, %s)", (self.lock_name, max(timeout, 0.0)))
        if got != 1:
            waited = f" after waiting {timeout:g}s" if timeout > 0 else ""
            raise LockError(
                f"{self.display_url} ({self.sql.table}) is locked by another migrator{waited}: "
                f"held by {self.holder()}. Retry later, or pass --lock-timeout SECONDS to "
                "wait for it"
            )
        try:
            self._write_holder()
            yield
        finally:
            if self.conn.open:
                self.rollback()
                with contextlib.suppress(pymysql.err.MySQLError):
                    self._query("SELECT RELEASE_LOCK(%s)", (self.lock_name,))

    def _write_holder(self) -> None:
        """GET_LOCK cannot say who holds it; a one-row table beside ours can."""
        self._query(f"CREATE TABLE IF NOT EXISTS {self.lock_sql.qualified} (id INTEGER NOT "
                    "NULL PRIMARY KEY, connection_id BIGINT NOT NULL, holder VARCHAR(255) "
                    "NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
        holder = f"host {socket.gethostname()}, pid {os.getpid()}, since {utc_now()}"
        self._query(f"REPLACE INTO {self.lock_sql.qualified} VALUES (1, CONNECTION_ID(), %s)",
                    (holder,))

    def holder(self) -> str:
        conn_id = self._one("SELECT IS_USED_LOCK(%s)", (self.lock_name,))
        if conn_id is None:
            return "a session that has just released it"
        described = None
        if self._columns(self.lock_sql):
            described = self._one(f"SELECT holder FROM {self.lock_sql.qualified} "
                                  "WHERE connection_id = %s", (conn_id,))
        client = self._one("SELECT host FROM information_schema.processlist WHERE id = %s",
                           (conn_id,))
        where = f", client {client}" if client else ""
        return f"{described or 'a migrator'} (server connection id {conn_id}{where})"

    def unlock(self) -> str:
        if self._one("SELECT IS_USED_LOCK(%s)", (self.lock_name,)) is None:
            return ("no migrator holds the lock; nothing to do (GET_LOCK locks end with "
                    "their connection, so none is ever left behind)")
        return (f"the lock is held by a live connection: {self.holder()}. The server releases "
                "it when that connection ends; not touched (end it with KILL <id> if it is "
                "stuck)")

    # -- errors ---------------------------------------------------------------

    def describe_error(self, exc: BaseException) -> DbError | None:
        if not isinstance(exc, pymysql.err.MySQLError):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        message = str(exc.args[-1]) if exc.args else type(exc).__name__
        name = _ER_NAMES.get(code) if code is not None else None
        shown = f"{code} ER_{name}" if name else str(code or type(exc).__name__)
        hint = None
        if code == ER.PARSE_ERROR and is_cut_stored_program(self.last_sql):
            hint = ("this stored program was cut at a ';' inside its body: put DELIMITER "
                    "lines around it, as for the mysql client (DELIMITER // ... END // "
                    "DELIMITER ;)")
        return DbError(code=shown, message=message, hint=hint)

    def dry_run_sql(self) -> dict[str, str]:
        q = self.journal_sql.qualified
        return {
            "begin": f"-- MySQL: not atomic; each statement commits on its own and {q} "
                     "tracks it\nSTART TRANSACTION;",
            "commit": f"DELETE FROM {q} WHERE version = <version>;\nCOMMIT;",
            "fk_off": "-- foreign-keys-off is not supported on MySQL",
            "fk_check": "--",
            "fk_on": "--",
            "create": self.sql.create("VARCHAR(255)", "VARCHAR(191)") + ";",
            "now": "DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ')",
            "insert": f"INSERT INTO {self.sql.qualified} ({', '.join(COLUMNS)}) VALUES",
            "delete": f"DELETE FROM {self.sql.qualified} WHERE version =",
        }


def open_backend(url: str, *, table: str, readonly: bool, busy_timeout: float) -> MysqlBackend:
    return MysqlBackend(url, table=table, readonly=readonly, busy_timeout=busy_timeout)
