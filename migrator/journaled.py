"""Running a file where DDL commits on its own (MySQL/MariaDB).

No transaction can make such a file atomic, but most of it can be: DML never
commits implicitly, so each maximal run of statements the backend calls
transaction-keeping (``Journal.keeps_transaction``) runs in one transaction,
and every other statement (DDL, LOCK TABLES, ...) on its own. The journal row
is written only where the file commits: before a boundary statement, and
inside a run's transaction at its end, so after a failure or a crash it says
which statements stay. A file's last run shares its transaction with the
bookkeeping row, so a DML-only file is all-or-nothing and needs no journal;
a failed run is rolled back whole. Runs stop at an unfinished entry until
``migrator repair`` records the outcome.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

from migrator.backends.base import Backend, Journal
from migrator.errors import DbError, MigrationFailed, UnfinishedMigration
from migrator.failures import commit_failed, failure
from migrator.files import label_of
from migrator.prepared import Prepared, statements_of
from migrator.progress import UP, Progress
from migrator.runloop import committing
from migrator.source import FOREIGN_KEYS_OFF
from migrator.splitting import Statement

# How a journal message says that a run was rolled back: "rolled back statements 4-9: ..."
_ROLLED_BACK = re.compile(r"rolled back statements (\d+)-(\d+): ")


class Journaled:
    """The way of running for a backend with a Journal: boundaries on their own,
    runs of DML in one transaction each, the journal written where a file commits."""

    def __init__(self, backend: Backend, journal: Journal, progress: Progress) -> None:
        self.backend, self.journal, self.progress = backend, journal, progress
        self.run_from = 0  # first statement of the open run of DML; 0: none is open
        self.journaled = False  # the journal holds an entry for the current file
        self.frozen = False  # LOCK TABLES ran: the journal table cannot be written
        self.at = 0  # the statement that entry names
        self.run_last = 0  # the last statement the open run has started
        self.before_run = (False, 0)  # (journaled, at) as the run began: a rollback restores

    def file_scope(self, item: Prepared) -> AbstractContextManager[None]:
        if FOREIGN_KEYS_OFF in item.source.directives:
            return self.backend.foreign_keys_off()  # refused by backends without it
        return nullcontext()

    def execute(self, item: Prepared) -> None:
        backend, journal, progress = self.backend, self.journal, self.progress
        m, total = item.migration, item.total
        self.run_from, self.journaled, self.at, self.frozen = 0, False, 0, False
        grouping = item.source.transactional  # a no-transaction file: one by one
        keeps, execute, started = journal.keeps_transaction, backend.execute, \
            progress.statement_started
        for stmt in statements_of(backend, item):
            started(m, stmt, total)
            role = keeps(stmt.sql) if grouping else False
            if role:
                if not self.run_from:
                    if self.journaled:  # the run starts where the entry says it stops
                        self._mark(item, stmt.index)
                    backend.begin()
                    self.run_from, self.before_run = stmt.index, (self.journaled, self.at)
                self.run_last = stmt.index
                try:
                    execute(stmt.sql)
                except BaseException as exc:
                    failed = self._run_failed(item, stmt, exc)
                    if failed is exc:
                        raise
                    raise failed from exc
                continue
            if self.run_from:
                self._commit_run(item, stmt.index)
            first_commit = not self.journaled  # nothing of the file has committed yet
            self._mark(item, stmt.index)
            if role is None:  # LOCK TABLES: a transaction would release the locks, and
                grouping, self.frozen = False, True  # other tables cannot be written
            try:
                execute(stmt.sql)
            except Exception as exc:
                db_error = backend.describe_error(exc)
                if db_error is None:
                    raise
                if first_commit and _lock_timeout(backend, db_error):
                    raise self._waited(item, stmt, db_error) from exc
                # under LOCK TABLES this write fails, as it does on a lost connection;
                # the entry, still 'running' (at the LOCK statement, or at this one),
                # stops later runs all the same
                if not db_error.lost:
                    with contextlib.suppress(Exception) if self.frozen else nullcontext():
                        journal.journal_failed(m.version, stmt.index, str(db_error))
                raise journal_failure(item, stmt, db_error) from exc
        if not self.run_from and backend.in_transaction():
            backend.rollback()
            error = DbError("", "the file left a transaction open; it was rolled back")
            self._mark(item, total)
            journal.journal_failed(m.version, total, error.message)
            raise journal_failure(item, None, error)

    def _waited(self, item: Prepared, stmt: Statement, db_error: DbError) -> MigrationFailed:
        """A lock wait timed out before the statement did anything, and nothing before
        it had committed: the entry goes, and the file is as if never run (retryable)."""
        with contextlib.suppress(Exception):  # if it stays, repair says what to do
            self.journal.journal_clear(item.migration.version)
        self.journaled = False
        return failure(item, stmt, item.total, db_error,
                       "it timed out waiting for a lock and changed nothing, and no statement "
                       "before it had committed: the database is as it was before this file",
                       atomic=True)

    def _mark(self, item: Prepared, index: int) -> None:
        """The journal says statements before ``index`` committed (inside the open
        transaction, if any, so it commits with them)."""
        m = item.migration
        if self.frozen:
            return
        if not self.journaled:
            self.journal.journal_start(m.version, m.name, item.direction, item.total)
            self.journaled, self.at = True, 0
        if self.at != index:
            self.journal.journal_statement(m.version, index)
            self.at = index

    def _commit_run(self, item: Prepared, upto: int) -> None:
        """COMMIT the open run, the journal moved to ``upto`` in the same transaction."""
        self._mark(item, upto)
        self._commit(item)

    def _commit(self, item: Prepared) -> None:
        try:
            self.backend.commit()
        except Exception as exc:
            failed = self._run_failed(item, None, exc)
            if failed is exc:
                raise
            raise failed from exc
        self.run_from = 0

    def _run_failed(
        self, item: Prepared, stmt: Statement | None, exc: BaseException
    ) -> BaseException:
        """Roll the open run back; the report (or the exception itself, if it is not
        the database's) for the caller to raise."""
        backend, first = self.backend, self.run_from
        self.run_from = 0
        with contextlib.suppress(Exception):  # a dead connection has rolled back itself
            backend.rollback()
        self.journaled, self.at = self.before_run  # the entry's changes rolled back too
        db_error = backend.describe_error(exc) if isinstance(exc, Exception) else None
        if db_error is None:
            return exc
        if not self.journaled:  # nothing of the file was committed: nothing stays
            if stmt is None:
                return commit_failed(item, db_error)
            return failure(item, stmt, item.total, db_error,
                           "its statements ran in one transaction, rolled back: the "
                           "database is as it was before this file", atomic=True)
        last = stmt.index if stmt is not None else self.run_last
        with contextlib.suppress(Exception):  # the report matters more than the entry
            self.journal.journal_failed(item.migration.version, last,
                                        f"rolled back statements {first}-{last}: {db_error}")
        return journal_failure(item, stmt, db_error, rolled_back=(first, last))

    @contextlib.contextmanager
    def row_scope(self, item: Prepared) -> Iterator[None]:
        if not self.run_from:
            with committing(self.backend, lambda error: self._row_failed(item, error)):
                yield
            return
        try:  # the file's last run is open: its row joins that transaction
            yield
        except BaseException:
            self.backend.rollback()
            raise
        self._commit(item)

    def recorded(self, item: Prepared) -> None:
        if self.journaled:
            self.journal.journal_clear(item.migration.version)
        self.progress.before_commit(item.migration, item.direction)

    def _row_failed(self, item: Prepared, db_error: DbError) -> MigrationFailed:
        """The COMMIT of the row failed: every statement ran, nothing says so."""
        with contextlib.suppress(Exception):  # if this fails too, the entry still says running
            if not self.journaled:
                self._mark(item, item.total)
            self.journal.journal_failed(item.migration.version, item.total,
                                        f"the COMMIT of its bookkeeping row failed: {db_error}")
        return journal_failure(item, None, db_error)


def _lock_timeout(backend: Backend, db_error: DbError) -> bool:
    return backend.lock_waits is not None and backend.lock_waits.is_lock_timeout(db_error)


def refuse_unfinished(journal: Journal) -> None:
    """Stop a run while the journal holds a migration whose outcome nobody recorded."""
    rows = journal.unfinished()
    if not rows:
        return
    lines = ["a migration did not finish, so nothing was run:"]
    for u in rows:
        what = ("failed at" if u.status == "failed" else "was running (its process stopped) at")
        label = label_of(u.version, u.name)
        lines.append(f"  {label} ({u.direction}) {what} statement {u.statement} "
                     f"of {u.total}, started {u.started_at}")
        run = _ROLLED_BACK.match(u.message)
        message = u.message[run.end():] if run else u.message
        if message:
            lines.append(f"    {message.splitlines()[0]}")
        if run:
            first, last = int(run[1]), int(run[2])
            lines.append(f"    statements before {first} committed; {_statements(first, last)} "
                         "ran in one transaction and were rolled back")
        else:
            lines.append(f"    statements before {u.statement} committed; statement "
                         f"{u.statement} may have partly run (MySQL cannot roll DDL back)")
    v = rows[0].version
    lines.append("  next: make the database match the whole file or none of it, then run "
                 f"'migrator repair {v} --applied' or 'migrator repair {v} --rolled-back'")
    raise UnfinishedMigration("\n".join(lines))


def journal_failure(
    item: Prepared, stmt: Statement | None, db_error: DbError,
    rolled_back: tuple[int, int] | None = None,
) -> MigrationFailed:
    """The report of a file that stopped part-way; ``rolled_back`` is the run of
    statements (first, last) whose transaction was rolled back."""
    done = (stmt.index - 1) if stmt else item.total
    if rolled_back is not None:
        done = rolled_back[0] - 1
    ran = (
        "no statement had run" if done == 0
        else f"statement 1 of {item.total} ran and stays committed" if done == 1
        else f"statements 1-{done} of {item.total} ran and stay committed"
    )
    if rolled_back is None:
        ran += " (MySQL commits every statement; DDL cannot be rolled back)"
    else:
        ran += (f"; {_statements(*rolled_back)}, one transaction, were rolled back "
                "(DDL commits at once on MySQL and cannot be rolled back)")
    v, command = item.migration.version, "up" if item.direction == UP else "down"
    recorded = ("the connection was lost, and the journal still says the file was running"
                if db_error.lost else "recorded as failed")
    next_step = (
        f"make the database match the whole file or none of it, then record which with "
        f"'migrator repair {v} --applied' or 'migrator repair {v} --rolled-back', "
        f"then run 'migrator {command}' again"
    )
    return failure(item, stmt, item.total, db_error,
                   f"{ran}; {recorded}, so runs stop until it is repaired",
                   next_step=next_step)


def _statements(first: int, last: int) -> str:
    return f"statement {first}" if first == last else f"statements {first}-{last}"
