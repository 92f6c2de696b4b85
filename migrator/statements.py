"""Executing one file's statements, and turning a driver's error into a report.

The hottest loop in migrator: a data file has 200k statements. Without a
listener for ``statement_started`` it runs from the spans (three integers
a statement) and, when the backend has one, in the backend's own loop.
"""

from __future__ import annotations

from collections.abc import Callable

from migrator.backends.base import TICK_MASK, Backend
from migrator.failures import check_foreign_keys_failed, ended_transaction, failure
from migrator.prepared import Prepared, Spans, statements_of
from migrator.progress import Progress


def execute_all(
    backend: Backend, item: Prepared, progress: Progress, *, transactional: bool
) -> None:
    """Run every statement of the file; MigrationFailed names the one that failed."""
    m, total = item.migration, item.total
    execute, in_tx = backend.execute, backend.in_transaction
    if item.spans is not None and not wants_statements(progress):
        tick = _ticker(progress, item)
        _execute_spans(backend, item, item.spans, transactional=transactional, tick=tick)
        if tick is not None:
            tick(total)
        return
    started = progress.statement_started
    for stmt in statements_of(backend, item):
        started(m, stmt, total)
        try:
            execute(stmt.sql)
        except Exception as exc:
            db_error = backend.describe_error(exc)
            if db_error is None:
                raise
            raise failure(item, stmt, total, db_error, None) from exc
        if transactional and not in_tx():
            raise ended_transaction(item, stmt)


def wants_statements(progress: Progress) -> bool:
    """False when nobody listens to statement_started: the hot loop then skips
    building a Statement per statement (a data file has 200k of them)."""
    overridden = type(progress).statement_started is not Progress.statement_started
    return overridden and bool(getattr(progress, "wants_statements", True))


def _ticker(progress: Progress, item: Prepared) -> Callable[[int], None] | None:
    """``statements_done`` bound to this file, or None when nobody listens to it."""
    if type(progress).statements_done is Progress.statements_done:
        return None
    done, m, total = progress.statements_done, item.migration, item.total

    def tick(count: int) -> None:
        done(m, count, total)

    return tick


def _execute_spans(
    backend: Backend, item: Prepared, spans: Spans, *, transactional: bool,
    tick: Callable[[int], None] | None = None,
) -> None:
    """``execute_all`` without the progress hook: the same checks, fewer objects.

    A backend that runs the loop itself (SpanRunner) saves two Python calls a
    statement, which is most of migrator's own cost on a big data file.
    """
    text = item.source.text
    runner = backend.span_runner
    if runner is not None:
        outcome = runner.run_spans(text, spans.offsets, spans.ends, transactional, tick)
    else:
        outcome = _run_spans(backend, text, spans, transactional, tick)
    if outcome is None:
        return
    at, exc = outcome
    stmt = spans.statement(at, text)
    if exc is None:
        raise ended_transaction(item, stmt)
    db_error = backend.describe_error(exc)
    if db_error is None:
        raise exc
    raise failure(item, stmt, item.total, db_error, None) from exc


def _run_spans(
    backend: Backend, text: str, spans: Spans, transactional: bool,
    tick: Callable[[int], None] | None,
) -> tuple[int, Exception | None] | None:
    """The generic SpanRunner loop, through the Backend protocol."""
    execute, in_tx = backend.execute, backend.in_transaction
    for at, (offset, end) in enumerate(zip(spans.offsets, spans.ends, strict=True)):
        if tick is not None and not at & TICK_MASK:
            tick(at)
        try:
            execute(text[offset:end])
        except Exception as exc:
            return at, exc
        if transactional and not in_tx():
            return at, None
    return None


def check_foreign_keys(backend: Backend, item: Prepared) -> None:
    """After a ``foreign-keys-off`` file (or group), before COMMIT: no violation left."""
    violations = backend.foreign_key_violations()
    if violations:
        raise check_foreign_keys_failed(item, violations)
