"""Running one migration file on a backend: all of it and its row, or nothing.

Per transactional file: BEGIN (IMMEDIATE on SQLite), re-read whether the
version is applied, one ``execute`` per statement with a check that the
transaction is still open after each, the bookkeeping write, COMMIT. Any
exception rolls back and is reported with the file, line and statement.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from typing import NamedTuple

from migrator.backends.base import Backend, transaction
from migrator.errors import (
    ConfigError,
    DbError,
    FailureInfo,
    FileProblem,
    MigrationFailed,
    MigrationFileError,
)
from migrator.files import Migration
from migrator.preflight import RISKY_FIRST, Findings, check
from migrator.progress import DOWN, UP, Progress, StepResult
from migrator.source import FOREIGN_KEYS_OFF, SqlText
from migrator.splitting import SplitError, Statement
from migrator.state import AppliedMigration, utc_now

_SHOWN_LINES = 6
_SHOWN_CHARS = 400


class Spans:
    """Where ``prepare`` found each statement: three machine integers apiece.

    ``run`` re-slices the statements from these instead of splitting the file
    a second time, and nothing holds a list of Statement objects (a 20 MB data
    file has 200k of them). Relies on ``sql == text[offset:offset + len(sql)]``,
    which both splitters guarantee.
    """

    __slots__ = ("ends", "lines", "offsets")

    def __init__(self) -> None:
        self.offsets = array("q")
        self.ends = array("q")
        self.lines = array("q")

    def collect(self, bounds: Iterable[tuple[int, int, int]]) -> SplitError | None:
        """Record every statement; a split error is returned after those before it."""
        add_offset, add_end, add_line = self.offsets.append, self.ends.append, self.lines.append
        try:
            for first, end, line in bounds:
                add_offset(first)
                add_end(end)
                add_line(line)
        except SplitError as exc:
            return exc
        return None

    def __len__(self) -> int:
        return len(self.offsets)

    def risky(self, text: str) -> Iterator[Statement]:
        """The statements the pre-flight check can object to, judged by first letter."""
        make, risky = Statement, RISKY_FIRST
        for index, (offset, end, line) in enumerate(
            zip(self.offsets, self.ends, self.lines, strict=True), start=1
        ):
            if text[offset] in risky:
                yield make(index, line, text[offset:end], offset)

    def statements(self, text: str) -> Iterator[Statement]:
        make = Statement
        for index, (offset, end, line) in enumerate(
            zip(self.offsets, self.ends, self.lines, strict=True), start=1
        ):
            yield make(index, line, text[offset:end], offset)


class Prepared(NamedTuple):
    migration: Migration
    direction: str
    source: SqlText
    total: int
    spans: Spans | None = None  # None: split the file again when it runs


def source_for(migration: Migration, direction: str) -> SqlText:
    if direction == UP:
        return migration.up
    assert migration.down is not None
    return migration.down


def prepare(
    backend: Backend, migrations: list[tuple[Migration, str]], progress: Progress
) -> list[Prepared]:
    """Split and check every file before any runs; all problems raised at once."""
    problems: list[FileProblem] = []
    prepared: list[Prepared] = []
    for migration, direction in migrations:
        source = source_for(migration, direction)
        spans = Spans()
        split_error = spans.collect(backend.statement_bounds(source.text))
        found: Findings = check(spans.risky(source.text), source.path, source.directives)
        problems.extend(found.errors)
        if split_error is not None:
            problems.append(FileProblem(source.path, split_error.message, split_error.line))
            continue
        for warning in found.warnings:
            progress.warning(warning)
        prepared.append(Prepared(migration, direction, source, len(spans), spans))
    if problems:
        raise MigrationFileError(problems)
    return prepared


def run(backend: Backend, item: Prepared, progress: Progress) -> StepResult:
    """Apply or roll back one prepared file."""
    if backend.journal is not None:
        from migrator.journaled import run_journaled

        return run_journaled(backend, backend.journal, item, progress)
    if item.source.transactional:
        return _run_transactional(backend, item, progress)
    return _run_autocommit(backend, item, progress)


def _run_transactional(backend: Backend, item: Prepared, progress: Progress) -> StepResult:
    m = item.migration
    fk_off = FOREIGN_KEYS_OFF in item.source.directives
    with backend.foreign_keys_off() if fk_off else nullcontext(), transaction(backend):
        if backend.is_applied(m.version) != (item.direction == DOWN):
            # another process got here first; this transaction only read, so it just ends
            return StepResult(m.version, m.name, item.direction, 0, 0, skipped=True)
        progress.migration_started(m, item.direction, item.total)
        started = time.perf_counter()
        _execute_all(backend, item, progress, transactional=True)
        if fk_off:
            _check_foreign_keys(backend, item)
        duration = int((time.perf_counter() - started) * 1000)
        bookkeeping(backend, item, duration)
        progress.before_commit(m, item.direction)
    step = StepResult(m.version, m.name, item.direction, duration, item.total)
    progress.migration_finished(step)
    return step


def run_group(backend: Backend, items: list[Prepared], progress: Progress) -> list[StepResult]:
    """Every file in one transaction (``up --single-transaction``): all or nothing.

    For deploys that must not stop half-way. A ``no-transaction`` file cannot
    join (refused before anything runs); with ``foreign-keys-off`` in any file
    the keys are off for the whole group and checked once before COMMIT.
    """
    check_group(items)
    if not backend.transactional_ddl:
        raise ConfigError(f"--single-transaction needs transactional DDL, and {backend.name} "
                          "commits every DDL statement on its own; nothing was run")
    if not items:
        return []
    fk_off = any(FOREIGN_KEYS_OFF in i.source.directives for i in items)
    steps: list[StepResult] = []
    with backend.foreign_keys_off() if fk_off else nullcontext(), transaction(backend):
        for item in items:
            m = item.migration
            if backend.is_applied(m.version) != (item.direction == DOWN):
                steps.append(StepResult(m.version, m.name, item.direction, 0, 0, True))
                continue
            progress.migration_started(m, item.direction, item.total)
            started = time.perf_counter()
            try:
                _execute_all(backend, item, progress, transactional=True)
            except MigrationFailed as exc:
                raise _in_group(exc, len(items)) from exc.__cause__
            duration = int((time.perf_counter() - started) * 1000)
            bookkeeping(backend, item, duration)
            steps.append(StepResult(m.version, m.name, item.direction, duration, item.total))
        if fk_off:
            try:
                _check_foreign_keys(backend, items[-1])
            except MigrationFailed as exc:
                raise _in_group(exc, len(items)) from exc
        progress.before_commit(items[-1].migration, items[-1].direction)
    for step in steps:
        if not step.skipped:
            progress.migration_finished(step)
    return steps


def check_group(items: list[Prepared]) -> None:
    """Refuse (exit 2) a group holding a no-transaction file, before anything runs."""
    loose = [i.source.path for i in items if not i.source.transactional]
    if loose:
        raise ConfigError(
            "--single-transaction cannot include no-transaction files: "
            + ", ".join(loose)
            + "; apply them on their own first (migrator up --to VERSION), then the rest"
        )


def _in_group(exc: MigrationFailed, count: int) -> MigrationFailed:
    """The same failure, saying that the whole group was rolled back."""
    state = (
        f"  state:     --single-transaction: all {count} pending migrations were rolled "
        "back together; none of them is applied"
    )
    lines = [state if ln.startswith("  state:") else ln for ln in str(exc).splitlines()]
    return MigrationFailed(exc.info, "\n".join(lines))


def _run_autocommit(backend: Backend, item: Prepared, progress: Progress) -> StepResult:
    """``no-transaction`` files: statement by statement; the row only after the last."""
    m = item.migration
    if backend.is_applied(m.version) != (item.direction == DOWN):
        return StepResult(m.version, m.name, item.direction, 0, 0, skipped=True)
    progress.migration_started(m, item.direction, item.total)
    started = time.perf_counter()
    _execute_all(backend, item, progress, transactional=False)
    if backend.in_transaction():
        backend.rollback()
        raise failure(
            item, None, item.total, DbError("", "the file left a transaction open"),
            "it was rolled back; end every BEGIN in a no-transaction file with COMMIT",
        )
    duration = int((time.perf_counter() - started) * 1000)
    with transaction(backend):
        bookkeeping(backend, item, duration)
        progress.before_commit(m, item.direction)
    step = StepResult(m.version, m.name, item.direction, duration, item.total)
    progress.migration_finished(step)
    return step


def _execute_all(
    backend: Backend, item: Prepared, progress: Progress, *, transactional: bool
) -> None:
    m, total = item.migration, item.total
    execute, in_tx = backend.execute, backend.in_transaction
    started = progress.statement_started
    text = item.source.text
    if item.spans is not None and not wants_statements(progress):
        _execute_spans(backend, item, item.spans, transactional=transactional)
        return
    statements = item.spans.statements(text) if item.spans else backend.split(text)
    for stmt in statements:
        started(m, stmt, total)
        try:
            execute(stmt.sql)
        except Exception as exc:
            db_error = backend.describe_error(exc)
            if db_error is None:
                raise
            raise failure(item, stmt, total, db_error, None) from exc
        if transactional and not in_tx():
            raise _ended_transaction(item, stmt)


def _ended_transaction(item: Prepared, stmt: Statement) -> MigrationFailed:
    return failure(
        item, stmt, item.total,
        DbError("", "this statement ended the migration's transaction"),
        "statements before it were committed by it and are NOT rolled back; "
        "inspect the database before running again",
    )


def wants_statements(progress: Progress) -> bool:
    """False when nobody listens to statement_started: the hot loop then skips
    building a Statement per statement (a data file has 200k of them)."""
    overridden = type(progress).statement_started is not Progress.statement_started
    return overridden and bool(getattr(progress, "wants_statements", True))


def _execute_spans(
    backend: Backend, item: Prepared, spans: Spans, *, transactional: bool
) -> None:
    """``_execute_all`` without the progress hook: the same checks, fewer objects.

    A backend that runs the loop itself (SpanRunner) saves two Python calls a
    statement, which is most of migrator's own cost on a big data file.
    """
    text = item.source.text
    runner = backend.span_runner
    if runner is not None:
        outcome = runner.run_spans(text, spans.offsets, spans.ends, transactional)
    else:
        outcome = _run_spans(backend, text, spans, transactional)
    if outcome is None:
        return
    at, exc = outcome
    offset, end = spans.offsets[at], spans.ends[at]
    stmt = Statement(at + 1, spans.lines[at], text[offset:end], offset)
    if exc is None:
        raise _ended_transaction(item, stmt)
    db_error = backend.describe_error(exc)
    if db_error is None:
        raise exc
    raise failure(item, stmt, item.total, db_error, None) from exc


def _run_spans(
    backend: Backend, text: str, spans: Spans, transactional: bool
) -> tuple[int, Exception | None] | None:
    """The generic SpanRunner loop, through the Backend protocol."""
    execute, in_tx = backend.execute, backend.in_transaction
    for at, (offset, end) in enumerate(zip(spans.offsets, spans.ends, strict=True)):
        try:
            execute(text[offset:end])
        except Exception as exc:
            return at, exc
        if transactional and not in_tx():
            return at, None
    return None


def _check_foreign_keys(backend: Backend, item: Prepared) -> None:
    violations = backend.foreign_key_violations()
    if violations:
        shown = "; ".join(violations[:10])
        more = f" (and {len(violations) - 10} more)" if len(violations) > 10 else ""
        raise failure(
            item, None, item.total,
            DbError("FOREIGN_KEY_CHECK", f"{len(violations)} foreign key violation(s): "
                    f"{shown}{more}"),
            None,
        )


def bookkeeping(backend: Backend, item: Prepared, duration: int) -> None:
    m = item.migration
    if item.direction == UP:
        backend.record(AppliedMigration(m.version, m.name, m.checksum, utc_now(), duration))
    else:
        backend.forget(m.version)


def shorten(sql: str) -> str:
    lines = sql.strip().splitlines()
    text = "\n".join(lines[:_SHOWN_LINES])
    cut = len(lines) > _SHOWN_LINES
    if len(text) > _SHOWN_CHARS:
        text, cut = text[:_SHOWN_CHARS], True
    return text + (" …" if cut else "")


def failure(
    item: Prepared, stmt: Statement | None, total: int, db_error: DbError, state: str | None
) -> MigrationFailed:
    m, src = item.migration, item.source
    line = stmt.line if stmt else 0
    info = FailureInfo(
        version=m.version,
        name=m.name,
        file=src.path,
        statement=stmt.index if stmt else 0,
        total=total,
        line=line,
        sql=shorten(stmt.sql) if stmt else "",
        db_error=db_error,
        transactional=src.transactional and state is None,
        direction=item.direction,
    )
    verb = "migration" if item.direction == UP else "rollback of"
    if info.transactional:
        head = f"{verb} {m.label} failed and was rolled back"
        state = state or "the database is as it was before this file"
    else:
        head = f"{verb} {m.label} failed part-way"
        if state is None:
            done = (stmt.index - 1) if stmt else total
            state = (
                f"no-transaction file: statements 1-{done} of {total} ran and stay; "
                "nothing was recorded for this migration"
                if done
                else "no-transaction file: no statement had run; nothing was recorded"
            )
    where = f"{src.path}:{line}" if line else src.path
    if stmt is not None and db_error.position:
        where = f"{src.path}:{_line_column(src.text, stmt, db_error.position)}"
    parts = [head, f"  file:      {where}"]
    if stmt is not None:
        parts.append(f"  statement: {stmt.index} of {total}")
        parts.extend("    " + ln for ln in info.sql.splitlines())
    parts.append(f"  database:  {db_error}")
    parts.append(f"  state:     {state}")
    parts.append(f"  next:      {_next_step(item, info)}")
    return MigrationFailed(info, "\n".join(parts))


def _line_column(text: str, stmt: Statement, position: int) -> str:
    """A server's 1-based character position in the statement, as the file's line:column."""
    at = min(stmt.offset + position - 1, len(text))
    return f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"


def _next_step(item: Prepared, info: FailureInfo) -> str:
    command = "up" if item.direction == UP else "down"
    code = info.db_error.code
    if code.startswith(("SQLITE_FULL", "SQLITE_IOERR")):
        return f"free disk space, then run 'migrator {command}' again (the file may be fine)"
    if info.transactional:
        return f"fix {item.source.path} and run 'migrator {command}' again"
    return (
        f"undo or complete the statements that ran, make {item.source.path} safe to re-run "
        f"(IF NOT EXISTS), then run 'migrator {command}' again"
    )
