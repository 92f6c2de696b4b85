"""Running a file where DDL commits on its own (MySQL/MariaDB).

No transaction can make such a file atomic, so every statement commits on its
own and a journal row, written before each one, says where a failed or
killed file stopped; runs stop until ``migrator repair`` records the outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

from migrator.backends.base import Backend, Journal
from migrator.errors import DbError, MigrationFailed, UnfinishedMigration
from migrator.failures import failure
from migrator.prepared import Prepared, statements_of
from migrator.progress import UP, Progress
from migrator.runloop import committing
from migrator.source import FOREIGN_KEYS_OFF
from migrator.splitting import Statement


class Journaled:
    """The way of running for a backend with a Journal: a journal row before each
    statement, the bookkeeping row and the journal's clearing in one transaction."""

    def __init__(self, backend: Backend, journal: Journal, progress: Progress) -> None:
        self.backend, self.journal, self.progress = backend, journal, progress

    def file_scope(self, item: Prepared) -> AbstractContextManager[None]:
        if FOREIGN_KEYS_OFF in item.source.directives:
            return self.backend.foreign_keys_off()  # refused by backends without it
        return nullcontext()

    def execute(self, item: Prepared) -> None:
        backend, journal, progress = self.backend, self.journal, self.progress
        m, total = item.migration, item.total
        journal.journal_start(m.version, m.name, item.direction, total)
        for stmt in statements_of(backend, item):
            progress.statement_started(m, stmt, total)
            journal.journal_statement(m.version, stmt.index)
            try:
                backend.execute(stmt.sql)
            except Exception as exc:
                db_error = backend.describe_error(exc)
                if db_error is None:
                    raise
                journal.journal_failed(m.version, stmt.index, str(db_error))
                raise journal_failure(item, stmt, db_error) from exc
        if backend.in_transaction():
            backend.rollback()
            error = DbError("", "the file left a transaction open; it was rolled back")
            journal.journal_failed(m.version, total, error.message)
            raise journal_failure(item, None, error)

    @contextlib.contextmanager
    def row_scope(self, item: Prepared) -> Iterator[None]:
        with committing(self.backend, lambda error: self._row_failed(item, error)):
            yield

    def recorded(self, item: Prepared) -> None:
        self.journal.journal_clear(item.migration.version)
        self.progress.before_commit(item.migration, item.direction)

    def _row_failed(self, item: Prepared, db_error: DbError) -> MigrationFailed:
        """The COMMIT of the row failed: every statement ran, nothing says so."""
        with contextlib.suppress(Exception):  # if this fails too, the entry still says running
            self.journal.journal_failed(item.migration.version, item.total,
                                        f"the COMMIT of its bookkeeping row failed: {db_error}")
        return journal_failure(item, None, db_error)


def refuse_unfinished(journal: Journal) -> None:
    """Stop a run while the journal holds a migration whose outcome nobody recorded."""
    rows = journal.unfinished()
    if not rows:
        return
    lines = ["a migration did not finish, so nothing was run:"]
    for u in rows:
        what = ("failed at" if u.status == "failed" else "was running (its process stopped) at")
        lines.append(f"  {u.version}_{u.name} ({u.direction}) {what} statement {u.statement} "
                     f"of {u.total}, started {u.started_at}")
        if u.message:
            lines.append(f"    {u.message.splitlines()[0]}")
        lines.append(f"    statements before {u.statement} committed; statement {u.statement} "
                     "may have partly run (MySQL cannot roll DDL back)")
    v = rows[0].version
    lines.append("  next: make the database match the whole file or none of it, then run "
                 f"'migrator repair {v} --applied' or 'migrator repair {v} --rolled-back'")
    raise UnfinishedMigration("\n".join(lines))


def journal_failure(item: Prepared, stmt: Statement | None, db_error: DbError) -> MigrationFailed:
    done = (stmt.index - 1) if stmt else item.total
    ran = (
        "no statement had run" if done == 0
        else f"statement 1 of {item.total} ran and stays committed" if done == 1
        else f"statements 1-{done} of {item.total} ran and stay committed"
    )
    v, command = item.migration.version, "up" if item.direction == UP else "down"
    exc = failure(item, stmt, item.total, db_error,
                  f"{ran} (MySQL commits every statement; DDL cannot be rolled back); "
                  "recorded as failed, so runs stop until it is repaired")
    next_step = (
        f"make the database match the whole file or none of it, then record which with "
        f"'migrator repair {v} --applied' or 'migrator repair {v} --rolled-back', "
        f"then run 'migrator {command}' again"
    )
    exc.args = (str(exc).rsplit("\n  next:", 1)[0] + f"\n  next:      {next_step}",)
    return exc
