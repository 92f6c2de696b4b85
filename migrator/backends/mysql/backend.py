"""MySQL and MariaDB through PyMySQL.

DDL commits implicitly ("even if the statement fails", says MariaDB), so a
file cannot be atomic: ``transactional_ddl`` is False and the engine's
journaled way runs each DDL statement on its own and each run of DML
(``keeps_transaction``) in one transaction, writing a journal row
(``<table>_state``) where the file commits. A failed or killed file that
committed part of itself leaves that row behind and every later run stops
until ``migrator repair`` records what the database now holds.

CLIENT.MULTI_STATEMENTS stays off, so a string holding two statements is a
syntax error instead of running silently. ``GET_LOCK`` is the run-wide lock;
it dies with the connection. Galera clusters, where GET_LOCK is local to one
node (or refused), are refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator

import pymysql  # type: ignore[import-untyped]
from pymysql.constants import ER, SERVER_STATUS  # type: ignore[import-untyped]

from migrator.backends import splitter
from migrator.backends.base import Catalog, Journal, LockWaits, SpanRunner, Unfinished
from migrator.backends.mysql import DIALECT
from migrator.backends.mysql.connection import MysqlConnection, galera_refusal
from migrator.backends.mysql.lockwaits import MysqlLockWaits
from migrator.errors import ConfigError, DbError, LockError
from migrator.splitting import Statement
from migrator.state import COLUMNS, AppliedMigration, utc_now

__all__ = ["MysqlBackend", "galera_refusal", "open_backend"]

_ER_NAMES = {v: k for k, v in vars(ER).items() if isinstance(v, int)}
LOST_CODES = frozenset({2006, 2013, 2055, 1927, 1053})  # the session is gone
# Statements that never commit implicitly (DML; on InnoDB they roll back):
# consecutive ones run in one transaction. Anything else is a boundary.
_KEEPS_TRANSACTION = re.compile(r"(?:INSERT|UPDATE|DELETE|REPLACE)(?![\w$])", re.IGNORECASE)
# LOCK TABLES locks end when a transaction starts: after one, no more runs.
_LOCKS_TABLES = re.compile(r"LOCK\s++TABLES?(?![\w$])", re.IGNORECASE)


class MysqlBackend(MysqlConnection):
    name = "mysql"
    transactional_ddl = False
    span_runner: SpanRunner | None = None

    def __init__(self, url: str, *, table: str, readonly: bool, busy_timeout: float) -> None:
        super().__init__(url, table=table, busy_timeout=busy_timeout)
        self.journal: Journal | None = self
        self.lock_waits: LockWaits | None = MysqlLockWaits(self)
        self.readonly = readonly
        self.last_sql = ""  # the statement describe_error explains

    def catalog(self) -> Catalog:
        """This database's objects and rows for the DBA commands (backends/mysql/catalog.py)."""
        from migrator.backends.mysql.catalog import MysqlCatalog

        return MysqlCatalog(self)

    # -- splitting ------------------------------------------------------------

    def statement_bounds(self, text: str) -> Iterator[tuple[int, int, int]]:
        """The dialect's splitter, through the registry: loaded on the first file cut
        (status never cuts), a missing parser named with its extra."""
        return splitter(DIALECT)(text)

    def split(self, text: str) -> Iterator[Statement]:
        from migrator.splitting import statements_of  # status never splits

        return statements_of(text, self.statement_bounds(text))

    # -- bookkeeping ----------------------------------------------------------

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
        with self.cancelled_on_signal(), self.conn.cursor() as cur:
            cur.execute(sql)  # no args: PyMySQL does no %-formatting
            while cur.nextset():  # CALL returns one result per SELECT inside
                pass

    def keeps_transaction(self, sql: str) -> bool | None:
        if _KEEPS_TRANSACTION.match(sql) is not None:
            return True
        return None if _LOCKS_TABLES.match(sql) is not None else False

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
        if code == ER.PARSE_ERROR:
            from migrator.backends.mysql.split import is_cut_stored_program

            if is_cut_stored_program(self.last_sql):
                hint = ("this stored program was cut at a ';' inside its body: put DELIMITER "
                        "lines around it, as for the mysql client (DELIMITER // ... END // "
                        "DELIMITER ;)")
        # 1021 disk full, 1114 table full, 1041 out of memory, 3 error writing a file
        resource = code in (3, 1021, 1041, 1114)
        # 2006 gone away, 2013 lost during query, 2055 lost at reading, 1927 killed
        # (KILL CONNECTION), 1053 shutdown in progress; an InterfaceError: already closed
        lost = code in LOST_CODES or isinstance(exc, pymysql.err.InterfaceError)
        return DbError(code=shown, message=message, hint=hint, resource=resource, lost=lost)

    def dry_run_sql(self) -> dict[str, str]:
        q = self.journal_sql.qualified
        return {
            "begin": f"-- MySQL: DDL commits on its own, runs of DML in one transaction; "
                     f"{q} tracks where\nSTART TRANSACTION;",
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
