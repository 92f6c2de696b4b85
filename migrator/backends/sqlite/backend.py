"""SQLite through the stdlib ``sqlite3`` module, with the transaction owned by us.

The module's legacy transaction handling does not wrap DDL and
``executescript`` commits behind our back, so the connection runs in
autocommit mode and every BEGIN/COMMIT/ROLLBACK is issued here explicitly.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from migrator.backends import splitter
from migrator.backends.base import (
    TICK_MASK,
    Catalog,
    Journal,
    LockWaits,
    SpanRunner,
    transaction,
)
from migrator.backends.rows import RowStore
from migrator.backends.sqlite import DIALECT
from migrator.errors import ConfigError, DbError, LockError
from migrator.state import COLUMNS, StateSql, is_ours

if TYPE_CHECKING:
    from migrator.backends.base import Backend
    from migrator.splitting import Statement

MEMORY = ":memory:"
_BUSY_SLICE_MS = 200  # longest stretch a signal waits while the database is busy


def _connect(target: str, timeout: float, uri: bool) -> sqlite3.Connection:
    if sys.version_info >= (3, 12):
        return sqlite3.connect(target, timeout=timeout, uri=uri, autocommit=True)
    return sqlite3.connect(target, timeout=timeout, uri=uri, isolation_level=None)


class SqliteBackend(RowStore):
    name = "sqlite"
    transactional_ddl = True
    journal: Journal | None = None
    lock_waits: LockWaits | None = None  # one writer; busy_timeout is its wait

    def __init__(self, path: str, *, table: str, readonly: bool, busy_timeout: float) -> None:
        self.path = path
        self.span_runner: SpanRunner | None = self
        self.display_url = f"sqlite:///{path}" if not path.startswith("/") else f"sqlite://{path}"
        self.sql = StateSql(table)
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._writable = False
        self._journal_unknown = False  # a statement ran outside our transaction
        self._open()

    # -- connection -----------------------------------------------------------

    def _open(self) -> None:
        memory = self.path == MEMORY
        file = Path(self.path)
        if not memory and not file.parent.is_dir():
            raise ConfigError(
                f"cannot open database {self.path}: directory {file.parent} does not exist"
            )
        if self.readonly and not memory and not file.exists():
            return  # a database that does not exist yet has nothing applied
        try:
            conn = self._connect_mode(file, memory)
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open database {self.path}: {exc}") from exc
        if mode == "off":
            conn.close()
            raise ConfigError(
                f"database {self.path} uses journal_mode=OFF, where ROLLBACK undoes nothing; "
                "migrator refuses to run on it. Switch it first: "
                f"sqlite3 {self.path} 'PRAGMA journal_mode=DELETE'"
            )
        self._conn = conn
        # The hot path (one call per statement of a 200k-statement data file)
        # reaches the connection without the Optional check of ``conn``, through
        # one reused cursor: ``conn.execute`` makes a new cursor per call (~7%).
        self._cursor = conn.cursor()
        self._execute = self._cursor.execute
        self._live = conn

    def _connect_mode(self, file: Path, memory: bool) -> sqlite3.Connection:
        if memory or not self.readonly:
            # SQLite built with SQLITE_USE_URI (Debian's is) reads a name that starts
            # with 'file:' as a URI even without uri=True: 'sqlite:///file:x.db%3Fmode=memory'
            # would migrate an in-memory database, and the lock would guard another file.
            target = "./" + self.path if self.path.startswith("file:") else self.path
            return _connect(target, self.busy_timeout, uri=False)
        # Read-only commands must not create the file, but may roll back a hot
        # journal left by a crash; fall back to mode=ro on a read-only file.
        base = f"file:{quote(str(file.resolve()))}"
        try:
            conn = _connect(base + "?mode=rw", self.busy_timeout, uri=True)
            conn.execute("PRAGMA schema_version").fetchone()
            return conn
        except sqlite3.OperationalError:
            return _connect(base + "?mode=ro", self.busy_timeout, uri=True)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")  # only reached on a read-only miss
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            # After SQLITE_FULL/IOERR SQLite ends the transaction itself but leaves the
            # file half-written beside a hot journal until the next read; read once so
            # the file on disk is whole again before we exit and report it so.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA schema_version").fetchone()
            self._conn.close()
            self._conn = None

    # The splitter is imported where it is used: status never splits.
    def statement_bounds(self, text: str) -> Iterator[tuple[int, int, int]]:
        """The dialect's splitter, through the registry: loaded on the first file cut
        (status never cuts), a missing parser named with its extra."""
        return splitter(DIALECT)(text)

    def split(self, text: str) -> Iterator[Statement]:
        from migrator.splitting import statements_of  # status never splits

        return statements_of(text, self.statement_bounds(text))

    # -- bookkeeping ----------------------------------------------------------

    def _columns(self) -> list[str] | None:
        if self._conn is None:
            return None
        schema, _, table = self.sql.table.rpartition(".")
        pragma = f'PRAGMA "{schema}".table_info' if schema else "PRAGMA table_info"
        rows = self._conn.execute(f"{pragma}(\"{table}\")").fetchall()
        return [str(r[1]) for r in rows] or None

    def _check_ours(self) -> bool:
        """True if our table exists; DriftError if a foreign one does."""
        try:
            columns = self._columns()
        except sqlite3.Error as exc:
            raise self._as_config_error(exc) from exc
        return is_ours(self.sql.table, columns)

    def ensure_state_table(self) -> None:
        if self._check_ours():
            return
        with transaction(self):
            self.conn.execute(self.sql.create())

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        return self.conn.execute(sql, params)

    # -- transactions ---------------------------------------------------------

    def begin(self) -> None:
        # journal_mode is per connection: a no-transaction file can switch it OFF
        # after the check in _open, and then ROLLBACK would silently undo nothing.
        # Only a statement run outside a transaction can (the pre-flight check
        # refuses journal_mode in transactional files): ask again after one.
        if self._journal_unknown and self._journal_is_off():
            raise ConfigError(
                f"journal_mode is OFF on the connection to {self.path} (a no-transaction "
                "migration set it?); ROLLBACK undoes nothing there, so migrator stopped "
                "before opening a transaction. Remove 'PRAGMA journal_mode=OFF' from the "
                "migrations"
            )
        if not self._writable:
            self._refuse_read_only()
            self._writable = True  # checked once per connection, not per migration
        # SQLite's busy handler sleeps in C, where Python cannot run signal
        # handlers: one long wait would hold back Ctrl-C/SIGTERM for up to
        # --lock-timeout. Wait in short slices instead, to the same deadline.
        deadline = time.monotonic() + self.busy_timeout
        self.conn.execute(f"PRAGMA busy_timeout = {_BUSY_SLICE_MS}")
        try:
            while True:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                        raise
                    if time.monotonic() >= deadline:
                        raise LockError(
                            f"database {self.path} is busy: another connection holds a write "
                            f"transaction on it and did not finish within "
                            f"{self.busy_timeout:g}s ({exc}). Retry when it is done, or raise "
                            "--lock-timeout"
                        ) from exc
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    def _journal_is_off(self) -> bool:
        self._journal_unknown = False
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "off"

    def _refuse_read_only(self) -> None:
        """Exit 2 before a write that cannot work, instead of blaming the migration.

        SQLite opens a file it cannot write read-only without a word, and BEGIN
        IMMEDIATE still succeeds; the first write then fails as if the SQL were
        wrong. ``os.access`` sees what SQLite will see (a mode root may ignore,
        a read-only mount nobody may): the file, and the directory that must
        take the journal.
        """
        if self.path == MEMORY or not Path(self.path).exists():
            return
        file = Path(self.path)
        directory = file.parent
        if not os.access(file, os.W_OK):
            why = f"the file {file} is not writable"
        elif not os.access(directory, os.W_OK | os.X_OK):
            why = f"its directory {directory} is not writable (SQLite writes its journal there)"
        else:
            return
        raise ConfigError(
            f"database {self.path} is read-only for this process: {why}, by permissions or "
            "a read-only file system. Nothing was changed; run migrator as a user who can "
            "write it"
        )

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def in_transaction(self) -> bool:
        return self._live.in_transaction

    def execute(self, sql: str) -> None:
        if not self._live.in_transaction:
            self._journal_unknown = True
        cursor = self._execute(sql)
        if cursor.description is not None:
            for _ in cursor:  # step a SELECT to the end so all of it runs
                pass

    def run_spans(
        self, text: str, offsets: Sequence[int], ends: Sequence[int], transactional: bool,
        tick: Callable[[int], None] | None = None,
    ) -> tuple[int, Exception | None] | None:
        """``execute`` and ``in_transaction`` per statement, inlined (SpanRunner)."""
        execute, conn, cursor = self._execute, self._live, self._cursor
        if not transactional or not conn.in_transaction:
            self._journal_unknown = True
        for at, (offset, end) in enumerate(zip(offsets, ends, strict=True)):
            if tick is not None and not at & TICK_MASK:
                tick(at)
            try:
                execute(text[offset:end])
                if cursor.description is not None:
                    for _ in cursor:
                        pass
            except sqlite3.Error as exc:
                return at, exc
            if transactional and not conn.in_transaction:
                return at, None
        return None

    @contextlib.contextmanager
    def foreign_keys_off(self) -> Iterator[None]:
        before = int(self.conn.execute("PRAGMA foreign_keys").fetchone()[0])
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            if before:
                self.conn.execute("PRAGMA foreign_keys = ON")

    def foreign_key_violations(self) -> list[str]:
        rows = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        return [
            f"table {table} rowid {rowid} references missing row in {parent} (constraint #{fk})"
            for table, rowid, parent, fk in rows
        ]

    # -- locking --------------------------------------------------------------

    def run_lock(self, timeout: float) -> contextlib.AbstractContextManager[None]:
        if self.path == MEMORY:
            return contextlib.nullcontext()
        from migrator.lock import file_lock, lock_path_for  # writers only: status skips it

        return file_lock(lock_path_for(Path(self.path)), timeout, f"database {self.path}")

    def unlock(self) -> str:
        if self.path == MEMORY:
            return "an in-memory database has no lock"
        from migrator.lock import lock_path_for, remove_lock

        return remove_lock(lock_path_for(Path(self.path)))

    # -- errors ---------------------------------------------------------------

    def describe_error(self, exc: BaseException) -> DbError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        code = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        hint = None
        resource = code.startswith(("SQLITE_FULL", "SQLITE_IOERR"))
        if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in str(exc):
            hint = (
                "the statement text holds more than one statement; split it with ';' "
                "or report the file to the migrator developers"
            )
        elif resource:
            hint = (
                "the disk is full, a file size limit was reached or the disk failed; the "
                "migration itself may be fine: free space and run it again"
            )
        return DbError(code=code, message=str(exc), hint=hint, resource=resource)

    def _as_config_error(self, exc: sqlite3.Error) -> ConfigError:
        return ConfigError(f"cannot read database {self.path}: {exc}")

    def dry_run_sql(self) -> dict[str, str]:
        return {
            "begin": "BEGIN IMMEDIATE;",
            "commit": "COMMIT;",
            "fk_off": "PRAGMA foreign_keys = OFF;",
            "fk_check": "PRAGMA foreign_key_check;",
            "fk_on": "PRAGMA foreign_keys = ON;  -- restored if it was on",
            "create": self.sql.create() + ";",
            "now": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            "insert": f"INSERT INTO {self.sql.qualified} ({', '.join(COLUMNS)}) VALUES",
            "delete": f"DELETE FROM {self.sql.qualified} WHERE version =",
        }

    def catalog(self) -> Catalog:
        from migrator.backends.sqlite.catalog import SqliteCatalog  # the DBA commands only

        return SqliteCatalog(self)


def open_backend(
    url: str, *, table: str, readonly: bool, busy_timeout: float
) -> SqliteBackend:
    from migrator.backends.sqlite.url import sqlite_path

    return SqliteBackend(
        sqlite_path(url), table=table, readonly=readonly, busy_timeout=busy_timeout
    )


if TYPE_CHECKING:

    def _conforms(backend: SqliteBackend) -> Backend:
        """mypy checks here that the class fills the Backend protocol."""
        return backend
