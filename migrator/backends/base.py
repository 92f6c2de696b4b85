"""What the engine needs from a database: a small protocol each backend fills.

Only backends import drivers; the engine sees ``DbError`` and this protocol.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple, Protocol

from migrator.errors import DbError
from migrator.state import AppliedMigration

if TYPE_CHECKING:  # status never splits: keep the splitter off its import path
    from migrator.schema import Schema
    from migrator.splitting import Statement


class DialectInfo(NamedTuple):
    """What the registry knows of a backend package before importing its driver.

    Each ``backends/<name>/__init__.py`` defines one as ``DIALECT``; the
    registry is built from them, so adding a database touches only its
    package. ``splitter`` and ``backend`` are ``"module:attribute"`` paths,
    imported only when that dialect is used.
    """

    name: str  # the dialect's name, as --dialect takes it
    schemes: tuple[str, ...]  # URL schemes, the first being the canonical one
    extra: str | None  # the pip extra that installs the driver; None: stdlib
    splitter: str  # (text) -> Iterator[(first, end, line)]; raises SplitError
    backend: str  # (url, *, table, readonly, busy_timeout) -> Backend
    # (text, statements, shown) -> list[FileProblem]: checks of this dialect's own
    # that 'migrator check' adds to the shared ones; None: it has none
    review: str | None = None


class Backend(Protocol):
    name: str  # "sqlite"
    transactional_ddl: bool  # False on MySQL: a failed file can be half-applied
    display_url: str  # password redacted
    # Typed capabilities: None where the backend has none.
    journal: Journal | None  # durable per-statement progress (MySQL)
    span_runner: SpanRunner | None  # runs a file's statements in a loop of its own
    lock_waits: LockWaits | None  # a per-file lock timeout and who blocks it (servers)

    def split(self, text: str) -> Iterator[Statement]:
        """Statements in the dialect this backend runs."""
        ...

    def statement_bounds(self, text: str) -> Iterator[tuple[int, int, int]]:
        """``(first, end, line)`` of each statement ``split`` yields, ``text[first:end]``
        being its SQL; the engine keeps these instead of Statement objects."""
        ...

    def ensure_state_table(self) -> None:
        """Create the bookkeeping table, or refuse a foreign one (DriftError)."""
        ...

    def applied(self) -> list[AppliedMigration]:
        """Recorded rows; empty when the table or the database does not exist."""
        ...

    def is_applied(self, version: str) -> bool: ...

    def begin(self) -> None:
        """Open the migration's write transaction (SQLite: BEGIN IMMEDIATE)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def in_transaction(self) -> bool: ...

    def execute(self, sql: str) -> None:
        """Run exactly one statement."""
        ...

    def record(self, row: AppliedMigration) -> None: ...

    def forget(self, version: str) -> None: ...

    def foreign_keys_off(self) -> AbstractContextManager[None]:
        """Disable foreign-key enforcement around one transaction, then restore it."""
        ...

    def foreign_key_violations(self) -> list[str]: ...

    def run_lock(self, timeout: float) -> AbstractContextManager[None]:
        """Run-wide lock that dies with this process; raises LockError."""
        ...

    def unlock(self) -> str:
        """Remove left-over lock state; returns what was done."""
        ...

    def describe_error(self, exc: BaseException) -> DbError | None:
        """The driver's exception as a DbError, or None if it is not the driver's."""
        ...

    def dry_run_sql(self) -> dict[str, str]:
        """Statements a dry-run script shows: begin, commit, insert, delete, ..."""
        ...

    def close(self) -> None: ...

    def catalog(self) -> Catalog:
        """The dialect's catalog walker, scratch space and copy, for the DBA commands."""
        ...


class Unfinished(NamedTuple):
    """A migration that started but never recorded its outcome (no transactional DDL)."""

    version: str
    name: str
    direction: str  # up | down
    status: str  # running | failed
    statement: int  # the statement running or failed, 1-based; 0 before the first
    total: int
    started_at: str
    message: str


class Journal(Protocol):
    """Durable progress for backends whose DDL commits on its own (MySQL).

    Each write commits at once, so after a crash or a failure the journal says
    which statement of which file was running, and runs stop until a human
    says what state the database is in (``migrator repair``).
    """

    def journal_start(self, version: str, name: str, direction: str, total: int) -> None: ...

    def journal_statement(self, version: str, index: int) -> None: ...

    def keeps_transaction(self, sql: str) -> bool | None:
        """True for a statement that never commits implicitly (DML): consecutive ones
        share one transaction. False for one that may (DDL, ...): it runs on its own.
        None: run it and the rest of the file statement by statement (LOCK TABLES,
        whose locks a new transaction would release)."""
        ...

    def journal_failed(self, version: str, index: int, message: str) -> None: ...

    def journal_clear(self, version: str) -> None:
        """Delete the entry inside the caller's transaction (with the bookkeeping write)."""
        ...

    def unfinished(self) -> list[Unfinished]: ...


TICK_MASK = 1023  # a span runner ticks every 1024 statements: cheap, yet often on screen


class SpanRunner(Protocol):
    """A backend that runs a file's statements in one loop of its own."""

    def run_spans(
        self, text: str, offsets: Sequence[int], ends: Sequence[int], transactional: bool,
        tick: Callable[[int], None] | None = None,
    ) -> tuple[int, Exception | None] | None:
        """Execute ``text[offsets[i]:ends[i]]`` in order. None when all ran; else the
        0-based index that failed with its exception, or with None if that statement
        ended the transaction (checked after each statement of a transactional file).
        ``tick(done)``, when given, is called now and then (never per statement) with
        how many statements are done, for a progress line."""
        ...


class Blocker(NamedTuple):
    """A session holding a lock a migration waits for, as the server names it."""

    pid: int
    user: str
    seconds: float  # how long its transaction (or statement) has been running
    query: str  # its current or last statement

    def to_json(self) -> dict[str, object]:
        return {"pid": self.pid, "user": self.user, "seconds": round(self.seconds, 1),
                "query": self.query}

    def __str__(self) -> str:
        first = self.query.strip().splitlines()[0][:120] if self.query.strip() else "(idle)"
        return f"pid {self.pid} ({self.user or 'unknown user'}, {self.seconds:.1f}s): {first}"


class LockWaits(Protocol):
    """Lock waits on a busy server: a short per-file timeout, and who blocks.

    A migration that waits behind a long transaction queues every later
    query on that table behind itself; a short timeout with retries (``up
    --lock-retries``) fails fast instead, and says whom it waited for.
    """

    def set_lock_timeout(self, seconds: float | None) -> None:
        """How long one statement may wait for a lock; None: back to the URL's value."""
        ...

    def is_lock_timeout(self, error: DbError) -> bool:
        """This error is a lock wait that timed out (PostgreSQL 55P03, MySQL 1205)."""
        ...

    def watch(self) -> AbstractContextManager[None]:
        """Around one attempt: a second connection notes who blocks this session."""
        ...

    def blockers(self) -> list[Blocker]:
        """The blocking sessions seen during the last ``watch``, newest sighting."""
        ...


class Catalog(Protocol):
    """A backend's view of its own namespace for the DBA commands.

    One catalog walker per dialect feeds every command that reads a schema
    (``dump``, ``test``, ``squash``, ``rehearse``, ``adopt``, ...), so none of
    them reads a catalog or imports a driver itself.
    """

    def schema(self) -> Schema:
        """The normalized model of what migrations built here, bookkeeping left out."""
        ...

    def dump(self) -> str:
        """Deterministic schema SQL with the applied rows: ``migrator dump``'s bytes."""
        ...

    def rebuild_script(self) -> tuple[str, str]:
        """(up, down) for ``squash``: SQL recreating every object and row here, and
        SQL dropping them all; both run as ordinary migration files of this dialect."""
        ...

    def read_table(self, name: str) -> list[dict[str, object]] | None:
        """Every row of another tool's table as column -> value (for ``adopt``);
        None when there is no such table."""
        ...

    def scratch(self) -> AbstractContextManager[ScratchSpace]:
        """A new, empty namespace beside this database (a temporary SQLite file,
        a PostgreSQL schema, a MySQL database), dropped on exit, also after an
        error or SIGTERM."""
        ...

    def copy(self) -> AbstractContextManager[ScratchSpace]:
        """A faithful copy of this database for ``rehearse``, dropped on exit;
        the source is only read."""
        ...


class ScratchSpace(NamedTuple):
    url: str  # where to run migrations; its bookkeeping table is ``table``
    table: str
    name: str  # the namespace's name for reports ("" for a temporary file)
    size_bytes: int = 0  # what a copy() copied, where the dialect can tell; 0 otherwise


@contextlib.contextmanager
def transaction(backend: Backend) -> Iterator[None]:
    """BEGIN, the block, COMMIT; any exception (a signal too) rolls back."""
    backend.begin()
    try:
        yield
        backend.commit()
    except BaseException:
        backend.rollback()
        raise
