"""DuckDB through the ``duckdb`` package: one file, transactional DDL.

DuckDB lets one process open a file read-write and no other process open it
at all meanwhile, not even read-only: a second ``connect`` fails at once
with an IO error naming the holder's PID. So opening the file waits (up to
the busy timeout, polling) the way SQLite waits for a busy database, and
the run lock is an ``flock`` beside the file, as on SQLite, which also keeps
two runs inside one process (that share DuckDB's database instance) apart.
Both locks are the kernel's: ``kill -9`` leaves neither behind.

The connection is opened on first use, so ``run_lock`` can wait for the
lock before waiting for the file. BEGIN/COMMIT/ROLLBACK are ours; the driver
has no transaction flag, so the transaction state is tracked from the
transaction-control statements that change it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from migrator.backends import splitter
from migrator.backends.base import Journal, LockWaits, SpanRunner, transaction
from migrator.backends.duckdb import DIALECT
from migrator.backends.duckdb.url import MEMORY
from migrator.backends.rows import RowStore
from migrator.errors import (
    ConfigError,
    DatabaseFailed,
    DbError,
    Interrupted,
    LockError,
    MigratorError,
)
from migrator.state import COLUMNS, StateSql, is_ours

if TYPE_CHECKING:
    from migrator.backends.base import Backend, Catalog
    from migrator.backends.duckdb.interrupt import Interrupter
    from migrator.splitting import Statement

_POLL = 0.05
_HELD_BY = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
_OTHER_MODE = "different configuration"
_OPENS = ("BEGIN", "START")
_ENDS = ("COMMIT", "END", "ROLLBACK", "ABORT")
_MOVES = ("USE", "SET", "RESET")  # may change where unqualified names resolve
_WORD = re.compile(r"[A-Za-z]+")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def error_parts(exc: BaseException) -> tuple[str, int | None]:
    """DuckDB's message and 0-based byte position, from its JSON form (errors_as_json)."""
    text = str(exc)
    head, brace, tail = text.partition("{")
    if brace:
        try:
            data = json.loads(brace + tail)
        except ValueError:
            data = None
        if isinstance(data, dict) and "exception_message" in data:
            kind = str(data.get("exception_type", "")).strip()
            message = str(data["exception_message"])
            position = data.get("position")
            prefix = f"{kind} Error: " if kind else head
            at = int(str(position)) if str(position).isdigit() else None
            return prefix + message, at
    return text, None


def disk_full(exc: BaseException) -> bool:
    """A write refused for space (a full disk, a file size limit), whatever the class:
    a COMMIT reports it as a TransactionException."""
    return any(words in str(exc) for words in ("File too large", "No space left on device"))


def full_disk_error(exc: BaseException) -> DbError:
    """``exc`` (a write refused for space) as the database's words and the advice."""
    first, _, rest = error_parts(exc)[0].partition("\n")
    return DbError(code=type(exc).__name__, message=first, detail=rest.strip() or None,
                   hint="the disk is full or a file size limit was reached: free space and "
                        "run it again", resource=True)


class DuckdbBackend(RowStore):
    name = "duckdb"
    transactional_ddl = True
    journal: Journal | None = None
    span_runner: SpanRunner | None = None
    lock_waits: LockWaits | None = None  # one process holds the file

    def __init__(self, path: str, *, table: str, readonly: bool, busy_timeout: float) -> None:
        self.path = path
        self.display_url = f"duckdb:///{path}"  # duckdb:////abs.db for an absolute path
        self.sql = StateSql(table)
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._in_tx = False
        self._moved = False  # a statement may have moved the session off its database
        self._home = ""
        self._last_sql = ""
        self._interrupter: Interrupter | None = None
        if path != MEMORY and not Path(path).parent.is_dir():
            raise ConfigError(
                f"cannot open database {path}: directory {Path(path).parent} does not exist"
            )

    # -- connection -----------------------------------------------------------

    @property
    def exists(self) -> bool:
        return self.path == MEMORY or Path(self.path).exists()

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            self._conn = self._open(self.busy_timeout)
        return self._conn

    def _open(self, timeout: float) -> duckdb.DuckDBPyConnection:
        """Connect, waiting up to ``timeout`` while another connection has the file open."""
        if self.readonly and not self.exists:
            raise ConfigError(f"database {self.path} does not exist")
        deadline = time.monotonic() + max(timeout, 0.0)
        new = not self.exists
        while True:
            try:
                conn = duckdb.connect(self.path, read_only=self.readonly and self.path != MEMORY)
                break
            except duckdb.Error as exc:
                holder = self._holder(exc)
                if new and holder is None:  # a file DuckDB began and left unfinished never opens
                    for leftover in (self.path, self.path + ".wal"):
                        with contextlib.suppress(OSError):
                            os.unlink(leftover)
                if holder is None and disk_full(exc):  # not the URL's fault: exit 1
                    raise DatabaseFailed(self.display_url, full_disk_error(exc)) from exc
                if holder is None:
                    raise ConfigError(f"cannot open database {self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise self._busy(holder, timeout) from exc
                time.sleep(_POLL)
        conn.execute("SET SESSION errors_as_json = true")  # positions for file:line:column
        home = conn.execute("SELECT current_database(), current_schema()").fetchone()
        self._home = f"{_quote(str(home[0]))}.{_quote(str(home[1]))}" if home else ""
        if not self.readonly:
            from migrator.backends.duckdb.interrupt import Interrupter

            self._interrupter = Interrupter(conn)  # Ctrl-C stops a long statement
        return conn

    def _holder(self, exc: duckdb.Error) -> str | None:
        """Who has the file open, if that is why ``connect`` failed."""
        held = _HELD_BY.search(str(exc))
        if isinstance(exc, duckdb.IOException) and held is not None:
            holder = f"pid {held['pid']} ({held['program']})"
        elif isinstance(exc, duckdb.ConnectionException) and _OTHER_MODE in str(exc):
            # this process has it open the other way (read-only vs read-write)
            holder = f"another connection of this process, pid {os.getpid()}"
        else:
            return None
        lock = self._lock_path()
        if lock is not None and lock.exists() and lock.stat().st_size:
            from migrator.lock import read_holder

            holder = f"{read_holder(lock)} (DuckDB names {holder})"
        return holder

    def _busy(self, holder: str, timeout: float) -> LockError:
        return LockError(
            f"database {self.path} is open elsewhere and was not closed within "
            f"{timeout:g}s: held by {holder}. DuckDB lets no other process open a "
            "file, even to read, while one has it open for writing. Retry when it is done, "
            "or raise --lock-timeout"
        )

    def close(self) -> None:
        if self._interrupter is not None:
            self._interrupter.close()
            self._interrupter = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._in_tx = False

    def statement_bounds(self, text: str) -> Iterator[tuple[int, int, int]]:
        """The dialect's splitter, through the registry: loaded on the first file cut
        (status never cuts), a missing parser named with its extra."""
        return splitter(DIALECT)(text)

    def split(self, text: str) -> Iterator[Statement]:
        from migrator.splitting import statements_of  # status never splits

        return statements_of(text, self.statement_bounds(text))

    def catalog(self) -> Catalog:
        from migrator.backends.duckdb.catalog import DuckdbCatalog

        return DuckdbCatalog(self)

    # -- bookkeeping ----------------------------------------------------------

    def _columns(self) -> list[str] | None:
        schema, _, table = self.sql.table.rpartition(".")
        self._go_home()
        rows = self.conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND lower(schema_name) = lower(coalesce(?, current_schema())) "
            "AND lower(table_name) = lower(?) ORDER BY column_index",
            (schema or None, table),
        ).fetchall()
        return [str(r[0]) for r in rows] or None

    def _check_ours(self) -> bool:
        if self.readonly and not self.exists:
            return False  # a database that does not exist yet has nothing applied
        try:
            columns = self._columns()
        except duckdb.Error as exc:
            raise ConfigError(f"cannot read database {self.path}: {error_parts(exc)[0]}") from exc
        return is_ours(self.sql.table, columns)

    def ensure_state_table(self) -> None:
        if self._check_ours():
            return
        schema, _, _ = self.sql.table.rpartition(".")
        with transaction(self):
            if schema:
                self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self.conn.execute(self.sql.create())

    def _go_home(self) -> None:
        if self._moved:
            self.conn.execute(f"USE {self._home}")
            self._moved = False

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        """A bookkeeping query, in the database and schema the URL opened even after
        a migration's USE or SET schema moved the session elsewhere."""
        try:
            self._go_home()
            return self.conn.execute(sql, params)
        except duckdb.Error as exc:
            message = error_parts(exc)[0].rstrip(".")
            hint = ""
            if "single attached database" in message:
                hint = (" DuckDB lets one transaction write to one database only: a file that "
                        "writes to another attached database needs '-- migrator: "
                        "no-transaction'.")
            raise MigratorError(
                f"the bookkeeping table {self.sql.table} in {self.path} could not be read or "
                f"written: {message}.{hint} A migration running in a transaction was rolled "
                "back with it; a no-transaction file's statements stay, and it was not "
                "recorded"
            ) from exc

    # -- transactions ---------------------------------------------------------

    def begin(self) -> None:
        self.conn.execute("BEGIN TRANSACTION")
        self._in_tx = True

    def commit(self) -> None:
        # DuckDB writes a transaction to its WAL only now: a full disk shows here, after
        # every statement succeeded, and the transaction is gone with it. The driver's
        # error goes up as it is, so a file's COMMIT is reported like any other backend's
        # (the file, "the COMMIT failed", the database's words; resource: free space).
        try:
            self.conn.execute("COMMIT")
        finally:
            self._in_tx = False

    def rollback(self) -> None:
        if self._conn is None or not self._in_tx:
            return
        self._in_tx = False
        for _ in range(2):
            try:
                self._conn.execute("ROLLBACK")
                return
            except duckdb.InterruptException:
                continue  # an interrupt meant for the statement before: once more
            except duckdb.TransactionException:
                return  # a failed COMMIT ended it

    def in_transaction(self) -> bool:
        return self._in_tx

    def execute(self, sql: str) -> None:
        self._last_sql = sql
        conn = self.conn
        try:
            conn.execute(sql)
        except (RuntimeError, duckdb.InterruptException) as exc:  # "Query interrupted"
            signum = self._interrupter.signal_heard(1.0) if self._interrupter else None
            if signum is not None:
                raise Interrupted(signum) from exc
            raise
        if conn.description is not None:
            conn.complete()  # run a SELECT to its end
        if sql[0] in "ABCERSUabcersu":
            word = _WORD.match(sql)
            kind = word.group().upper() if word else ""
            if kind in _OPENS:
                self._in_tx = True
            elif kind in _ENDS:
                self._in_tx = False
            elif kind in _MOVES:
                self._moved = True

    @contextlib.contextmanager
    def foreign_keys_off(self) -> Iterator[None]:
        raise ConfigError(
            "'-- migrator: foreign-keys-off' is a SQLite directive and this file was not run; "
            "DuckDB cannot turn foreign-key checks off: order the statements so every "
            "referenced row exists first"
        )
        yield  # pragma: no cover

    def foreign_key_violations(self) -> list[str]:
        return []  # DuckDB checks every foreign key as each statement runs

    # -- locking --------------------------------------------------------------

    def _lock_path(self) -> Path | None:
        if self.path == MEMORY:
            return None
        from migrator.lock import lock_path_for

        return lock_path_for(Path(self.path))

    @contextlib.contextmanager
    def run_lock(self, timeout: float) -> Iterator[None]:
        lock = self._lock_path()
        if lock is None:
            yield
            return
        from migrator.lock import file_lock

        with file_lock(lock, timeout, f"database {self.path}"):
            self.conn  # noqa: B018 (open the file now: a busy file is a lock wait)
            yield

    def unlock(self) -> str:
        lock = self._lock_path()
        if lock is None:
            return "an in-memory database has no lock"
        from migrator.lock import remove_lock

        return remove_lock(lock) + (
            "; DuckDB's own lock on the file ends with the process holding it, so none is "
            "ever left behind"
        )

    # -- errors ---------------------------------------------------------------

    def describe_error(self, exc: BaseException) -> DbError | None:
        if not isinstance(exc, duckdb.Error):
            return None
        message, at = error_parts(exc)
        position = None
        if at is not None and self._last_sql:
            prefix = self._last_sql.encode()[:at].decode("utf-8", errors="ignore")
            position = len(prefix) + 1
        hint = None
        resource = isinstance(exc, duckdb.OutOfMemoryException | duckdb.IOException) \
            or disk_full(exc)
        if resource:
            hint = ("memory or disk ran out, or the disk failed; the migration itself may "
                    "be fine: free space and run it again")
        first, _, rest = message.partition("\n")
        return DbError(code=type(exc).__name__, message=first, detail=rest.strip() or None,
                       hint=hint, position=position, resource=resource)

    def dry_run_sql(self) -> dict[str, str]:
        return {
            "begin": "BEGIN TRANSACTION;",
            "commit": "COMMIT;",
            "fk_off": "-- foreign-keys-off is not supported on DuckDB",
            "fk_check": "--",
            "fk_on": "--",
            "create": self.sql.create() + ";",
            "now": "strftime(now() AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')",
            "insert": f"INSERT INTO {self.sql.qualified} ({', '.join(COLUMNS)}) VALUES",
            "delete": f"DELETE FROM {self.sql.qualified} WHERE version =",
        }


def open_backend(
    url: str, *, table: str, readonly: bool, busy_timeout: float
) -> DuckdbBackend:
    from migrator.backends.duckdb.url import duckdb_path

    return DuckdbBackend(duckdb_path(url), table=table, readonly=readonly,
                         busy_timeout=busy_timeout)


if TYPE_CHECKING:

    def _conforms(backend: DuckdbBackend) -> Backend:
        """mypy checks here that the class fills the Backend protocol."""
        return backend
