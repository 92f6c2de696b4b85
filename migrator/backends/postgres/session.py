"""A PostgreSQL session through psycopg 3, one statement per protocol message.

Each statement goes through ``PQexecParams`` with no parameters: the
extended protocol refuses a string holding two statements ("cannot insert
multiple commands into a prepared statement"), so a wrong split fails loudly
instead of running silently in the simple protocol's implicit transaction.
psycopg runs in autocommit mode and every BEGIN/COMMIT/ROLLBACK is ours.

Locks: a session advisory lock for the whole run (``pg_try_advisory_lock``
polled up to ``--lock-timeout``) plus ``pg_advisory_xact_lock`` inside each
migration's transaction, both keyed by database, schema and table. Both die
with the connection, so ``kill -9`` leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import pq

from migrator.backends import splitter
from migrator.backends.base import Journal, SpanRunner
from migrator.backends.postgres import DIALECT, wire
from migrator.backends.rows import RowStore
from migrator.config import redact_url
from migrator.errors import ConfigError, DbError, LockError, ServerUnavailable
from migrator.splitting import Statement
from migrator.state import COLUMNS, StateSql, is_ours

# URL query parameters migrator reads itself; every other one goes to libpq.
OWN_PARAMS = ("search_path", "schema", "lock_timeout", "statement_timeout")
_POLL = 0.1
_CHECK_INTERVAL = "client_connection_check_interval"  # PostgreSQL 14+
CHECK_INTERVAL = "1s"
MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1
# Connection failures worth waiting for: the server is not accepting connections yet.
_TRANSIENT = ("starting up", "shutting down", "in recovery", "too many clients",
              "Connection refused", "No such file or directory", "timeout expired",
              "server closed the connection")


@contextlib.contextmanager
def _as_config_error(what: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise ConfigError(f"{what}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class PgSettings:
    """A postgres:// URL split into libpq's part and migrator's own options."""

    def __init__(self, url: str) -> None:
        self.display = redact_url(url)
        parts = urlsplit(url)
        own: dict[str, str] = {}
        passed: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            (own.__setitem__(key, value) if key in OWN_PARAMS else passed.append((key, value)))
        if "schema" in own and "search_path" in own:
            raise ConfigError(f"{self.display}: give schema= or search_path=, not both")
        self.search_path = own.get("search_path") or own.get("schema")
        self.lock_timeout = own.get("lock_timeout")
        self.statement_timeout = own.get("statement_timeout")
        self.conninfo = urlunsplit(("postgresql", parts.netloc, parts.path,
                                    urlencode(passed), parts.fragment))

    @property
    def first_schema(self) -> str | None:
        if not self.search_path:
            return None
        first = self.search_path.split(",")[0].strip()
        return first.strip('"') if first and first != "$user" else None


class PgSession(RowStore):
    """Everything of the backend but ``catalog()``: the catalog modules work on a
    session, so they never import the class that imports them."""

    name = "postgres"
    transactional_ddl = True
    journal: Journal | None = None
    span_runner: SpanRunner | None = None

    def __init__(self, url: str, *, table: str, readonly: bool, busy_timeout: float) -> None:
        self.url = url  # with its password: scratch places are made beside it
        self.settings = PgSettings(url)
        self.display_url = self.settings.display
        _check_lengths(table, self.settings)
        self.sql = StateSql(table, mark="%s")
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self.conn = self._connect()
        self._key = self._lock_key()

    # -- connection -----------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        s = self.settings
        app = f"migrator {socket.gethostname()} pid {os.getpid()}"[:63]
        extra: dict[str, Any] = {"application_name": app}
        if "connect_timeout" not in s.conninfo:
            extra["connect_timeout"] = 10
        try:
            conn = psycopg.connect(s.conninfo, autocommit=True, **extra)
        except psycopg.Error as exc:
            message = _first_line(exc)
            cls = ServerUnavailable if _transient(message) else ConfigError
            raise cls(
                f"cannot connect to {self.display_url}: {message}"
                + (" (is the server running? 'migrator wait --timeout SECONDS' waits "
                   "for one that is starting)"
                   if cls is ServerUnavailable else "")
            ) from exc
        settings = [(name, value) for name, value in (("search_path", s.search_path),
                                                      ("lock_timeout", s.lock_timeout),
                                                      ("statement_timeout", s.statement_timeout))
                    if value is not None]
        try:
            _check_connection(conn, s.conninfo)
            if settings:
                with _as_config_error(f"cannot configure the session on {self.display_url}"):
                    calls = ", ".join(["set_config(%s, %s, false)"] * len(settings))
                    conn.execute(f"SELECT {calls}", [v for pair in settings for v in pair])
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        self.conn.close()

    def reconnect(self) -> None:
        """A new session after ``close`` (copying the database needs it idle)."""
        if self.conn.closed:
            self.conn = self._connect()

    def statement_bounds(self, text: str) -> Iterator[tuple[int, int, int]]:
        """The dialect's splitter, through the registry: loaded on the first file cut
        (status never cuts), a missing parser named with its extra."""
        return splitter(DIALECT)(text)

    def split(self, text: str) -> Iterator[Statement]:
        from migrator.splitting import statements_of  # status never splits

        return statements_of(text, self.statement_bounds(text))

    # -- bookkeeping ----------------------------------------------------------

    def _schema(self) -> str:
        schema, _, _ = self.sql.table.rpartition(".")
        if schema:
            return schema
        if self.settings.first_schema:  # even before it exists, so the lock key is stable
            return self.settings.first_schema
        row = self.conn.execute("SELECT current_schema()").fetchone()
        return str(row[0] if row and row[0] else "public")

    def _lock_key(self) -> int:
        with _as_config_error(f"cannot read {self.display_url}"):
            name = f"migrator:{self.conn.info.dbname}:{self._schema()}:{self.sql.bare_name}"
        digest = hashlib.sha256(name.encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _columns(self) -> list[str] | None:
        rows = self.conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (self.sql.qualified,),
        ).fetchall()
        return [str(r[0]) for r in rows] or None

    def _check_ours(self) -> bool:
        with _as_config_error(f"cannot read {self.display_url}"):
            columns = self._columns()
        return is_ours(self.sql.table, columns)

    def ensure_state_table(self) -> None:
        if self._check_ours():
            return
        table_schema, _, _ = self.sql.table.rpartition(".")
        schemas = dict.fromkeys(s for s in (self.settings.first_schema, table_schema) if s)
        self.begin()
        try:
            for schema in schemas:  # named in the URL or the table; may not exist yet
                quoted = schema.replace('"', '""')
                self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{quoted}"')
            self.conn.execute(self.sql.create())
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        return self.conn.execute(sql, params)

    # -- transactions ---------------------------------------------------------

    def begin(self) -> None:
        wire.execute(self.conn, "BEGIN")
        # Serialises migrations even where the session lock is meaningless
        # (a transaction-pooling proxy hands each transaction another backend).
        # Waited for in Python, as is COMMIT (deferred triggers run there): a
        # signal cancels the wait on the server.
        wire.execute(self.conn, f"SELECT pg_advisory_xact_lock({int(self._key)})")

    def commit(self) -> None:
        wire.execute(self.conn, "COMMIT")

    def rollback(self) -> None:
        if self.conn.closed or self.conn.broken:
            return
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status == pq.TransactionStatus.INTRANS

    def execute(self, sql: str) -> None:
        wire.execute(self.conn, sql)

    @contextlib.contextmanager
    def foreign_keys_off(self) -> Iterator[None]:
        raise ConfigError(
            "'-- migrator: foreign-keys-off' is a SQLite directive and this file was not run; "
            "on PostgreSQL create the constraints DEFERRABLE and use "
            "SET CONSTRAINTS ALL DEFERRED in the migration instead"
        )
        yield  # pragma: no cover

    def foreign_key_violations(self) -> list[str]:
        return []

    # -- locking --------------------------------------------------------------

    def _try_lock(self) -> bool:
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        return bool(row and row[0])

    @contextlib.contextmanager
    def run_lock(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self._try_lock():
            if time.monotonic() >= deadline:
                waited = f" after waiting {timeout:g}s" if timeout > 0 else ""
                raise LockError(
                    f"{self.display_url} ({self._schema()}.{self.sql.bare_name}) is locked "
                    f"by another migrator{waited}: held by {self.holder()}. Retry later, or "
                    "pass --lock-timeout SECONDS to wait for it"
                )
            time.sleep(_POLL)
        try:
            yield
        finally:
            if not self.conn.closed and not self.conn.broken:
                self.rollback()
                with contextlib.suppress(psycopg.Error):
                    self.conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))

    def holder(self) -> str:
        """Who holds our advisory lock, from pg_locks and pg_stat_activity."""
        key = self._key & 0xFFFFFFFFFFFFFFFF
        row = self.conn.execute(
            "SELECT l.pid, a.application_name, a.client_addr::text, a.backend_start, a.state "
            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 LIMIT 1",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return "a session that has just released it"
        pid, app, addr, since, state = row
        where = f"from {addr}" if addr else "over a local socket"
        return (f"server process pid {pid} ({app or 'no application_name'}, {where}, "
                f"connected since {since:%Y-%m-%d %H:%M:%S %Z}, {state or 'unknown state'})")

    def unlock(self) -> str:
        if self._try_lock():
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            return "no migrator holds the lock; nothing to do (advisory locks end with " \
                   "their session, so none is ever left behind)"
        return (f"the lock is held by a live session: {self.holder()}. PostgreSQL releases "
                "it when that session ends; not touched (end it with "
                "SELECT pg_terminate_backend(PID) if it is stuck)")

    # -- errors ---------------------------------------------------------------

    def describe_error(self, exc: BaseException) -> DbError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        diag = exc.diag
        position = int(diag.statement_position) if diag.statement_position else None
        hint = diag.message_hint
        invalid = self._invalid_indexes()
        if invalid:
            note = (f"index(es) left INVALID: {', '.join(invalid)}; drop them "
                    "(DROP INDEX CONCURRENTLY ...) before running again, or a retry with "
                    "IF NOT EXISTS keeps the broken index")
            hint = f"{hint}; {note}" if hint else note
        return DbError(
            code=diag.sqlstate or type(exc).__name__,
            message=diag.message_primary or _first_line(exc),
            detail=diag.message_detail,
            hint=hint,
            position=position,
            # class 53: insufficient resources (disk full, out of memory); 58030: I/O error
            resource=(diag.sqlstate or "").startswith("53") or diag.sqlstate == "58030",
            # class 08: connection exception; 57P0x: terminated by an administrator, a
            # crash or shutdown of the server, the database dropped
            lost=self.conn.broken or (diag.sqlstate or "").startswith(("08", "57P0")),
        )

    def _invalid_indexes(self) -> list[str]:
        """Indexes a failed CREATE INDEX CONCURRENTLY leaves behind (outside a transaction)."""
        if self.conn.broken or self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return []
        try:
            rows = self.conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c "
                "ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "ORDER BY 1"
            ).fetchall()
        except psycopg.Error:
            return []
        return [str(r[0]) for r in rows]

    def dry_run_sql(self) -> dict[str, str]:
        return {
            "begin": f"BEGIN;\nSELECT pg_advisory_xact_lock({self._key});",
            "commit": "COMMIT;",
            "fk_off": "-- foreign-keys-off is not supported on PostgreSQL",
            "fk_check": "--",
            "fk_on": "--",
            "create": self.sql.create() + ";",
            "now": "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
            "insert": f"INSERT INTO {self.sql.qualified} ({', '.join(COLUMNS)}) VALUES",
            "delete": f"DELETE FROM {self.sql.qualified} WHERE version =",
        }


def _check_lengths(table: str, settings: PgSettings) -> None:
    """PostgreSQL cuts a longer name to 63 bytes with only a NOTICE: two long names
    would share one table, schema or lock. Refused before connecting."""
    names = [("--migrations-table", part) for part in table.split(".")]
    if settings.first_schema:
        names.append(("the schema of search_path", settings.first_schema))
    for what, name in names:
        size = len(name.encode())
        if size > MAX_IDENTIFIER_BYTES:
            raise ConfigError(
                f"{what}: {name!r} is {size} bytes long; PostgreSQL names are at most "
                f"{MAX_IDENTIFIER_BYTES} bytes (longer ones are silently cut short)")


def _check_connection(conn: psycopg.Connection[Any], conninfo: str) -> None:
    """After ``kill -9`` the server notices the lost client within CHECK_INTERVAL
    instead of when the running statement ends, so its locks are free in seconds.
    PostgreSQL 14+ on Linux; elsewhere, or where the user set it, nothing changes."""
    if conn.info.server_version < 140000 or _CHECK_INTERVAL in conninfo \
            or _CHECK_INTERVAL in os.environ.get("PGOPTIONS", ""):
        return
    with contextlib.suppress(psycopg.Error):  # "must be set to 0 on this platform"
        conn.execute("SELECT set_config(%s, %s, false)", (_CHECK_INTERVAL, CHECK_INTERVAL))


def _transient(message: str) -> bool:
    return any(t in message for t in _TRANSIENT)

