"""Running a file where DDL commits on its own (MySQL/MariaDB).

No transaction can make such a file atomic, so every statement commits on its
own and a journal row, written before each one, says where a failed or
killed file stopped; runs stop until ``migrator repair`` records the outcome.
"""

from __future__ import annotations

import time

from migrator.backends.base import Backend, Journal, transaction
from migrator.engine import Prepared, bookkeeping, failure
from migrator.errors import DbError, MigrationFailed, UnfinishedMigration
from migrator.progress import DOWN, UP, Progress, StepResult
from migrator.source import FOREIGN_KEYS_OFF
from migrator.splitting import Statement


def run_journaled(
    backend: Backend, journal: Journal, item: Prepared, progress: Progress
) -> StepResult:
    """MySQL: DDL commits implicitly, so every statement commits on its own and a
    journal row, written before each one, says where a failed or killed file stopped."""
    m, total = item.migration, item.total
    if backend.is_applied(m.version) != (item.direction == DOWN):
        return StepResult(m.version, m.name, item.direction, 0, 0, skipped=True)
    if FOREIGN_KEYS_OFF in item.source.directives:
        with backend.foreign_keys_off():  # refused by backends without transactional DDL
            pass
    progress.migration_started(m, item.direction, total)
    started = time.perf_counter()
    journal.journal_start(m.version, m.name, item.direction, total)
    text = item.source.text
    for stmt in item.spans.statements(text) if item.spans else backend.split(text):
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
    duration = int((time.perf_counter() - started) * 1000)
    with transaction(backend):
        bookkeeping(backend, item, duration)
        journal.journal_clear(m.version)
        progress.before_commit(m, item.direction)
    step = StepResult(m.version, m.name, item.direction, duration, total)
    progress.migration_finished(step)
    return step


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
