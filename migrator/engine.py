"""Running migration files on a backend: each all of it and its row, or nothing.

Per transactional file: BEGIN (IMMEDIATE on SQLite), re-read whether the
version is applied, one ``execute`` per statement with a check that the
transaction is still open after each, the bookkeeping write, COMMIT. Any
exception, COMMIT's own included, rolls back and is reported with the file,
line and statement. The loop itself is ``runloop.apply_file``; this module
holds the ways of running that plug into it and picks one per file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import nullcontext
from time import perf_counter

from migrator.backends.base import Backend
from migrator.errors import ConfigError, MigrationFailed
from migrator.failures import commit_failed, in_group, left_open, row_commit_failed
from migrator.journaled import Journaled
from migrator.prepared import Prepared, prepare
from migrator.progress import Progress, StepResult
from migrator.runloop import Way, apply_file, committing
from migrator.source import FOREIGN_KEYS_OFF
from migrator.statements import check_foreign_keys, execute_all

__all__ = ["Prepared", "check_group", "prepare", "run", "run_group"]


class OneTransaction:
    """The usual way: the file, its checks and its row in one transaction."""

    def __init__(self, backend: Backend, progress: Progress) -> None:
        self.backend, self.progress = backend, progress

    @contextlib.contextmanager
    def file_scope(self, item: Prepared) -> Iterator[None]:
        backend = self.backend
        fk_off = FOREIGN_KEYS_OFF in item.source.directives
        with backend.foreign_keys_off() if fk_off else nullcontext(), \
                committing(backend, lambda error: commit_failed(item, error)):
            yield

    def execute(self, item: Prepared) -> None:
        execute_all(self.backend, item, self.progress, transactional=True)
        if FOREIGN_KEYS_OFF in item.source.directives:
            check_foreign_keys(self.backend, item)

    def row_scope(self, item: Prepared) -> nullcontext[None]:
        return nullcontext()  # already inside the file's transaction

    def recorded(self, item: Prepared) -> None:
        self.progress.before_commit(item.migration, item.direction)


class GroupMember:
    """A file inside ``--single-transaction``'s one transaction, opened by ``run_group``."""

    def __init__(self, backend: Backend, progress: Progress, count: int) -> None:
        self.backend, self.progress, self.count = backend, progress, count

    def file_scope(self, item: Prepared) -> nullcontext[None]:
        return nullcontext()

    def execute(self, item: Prepared) -> None:
        try:
            execute_all(self.backend, item, self.progress, transactional=True)
        except MigrationFailed as exc:
            raise in_group(exc, self.count) from exc.__cause__

    def row_scope(self, item: Prepared) -> nullcontext[None]:
        return nullcontext()

    def recorded(self, item: Prepared) -> None:
        pass  # the group commits once, after its last file


class Autocommit:
    """``no-transaction`` files: statement by statement; the row only after the last."""

    def __init__(self, backend: Backend, progress: Progress) -> None:
        self.backend, self.progress = backend, progress

    def file_scope(self, item: Prepared) -> nullcontext[None]:
        return nullcontext()

    def execute(self, item: Prepared) -> None:
        backend = self.backend
        execute_all(backend, item, self.progress, transactional=False)
        if backend.in_transaction():
            backend.rollback()
            raise left_open(item)

    def row_scope(self, item: Prepared) -> contextlib.AbstractContextManager[None]:
        return committing(self.backend, lambda error: row_commit_failed(item, error))

    def recorded(self, item: Prepared) -> None:
        self.progress.before_commit(item.migration, item.direction)


def way_for(backend: Backend, item: Prepared, progress: Progress) -> Way:
    if backend.journal is not None:
        return Journaled(backend, backend.journal, progress)
    if item.source.transactional:
        return OneTransaction(backend, progress)
    return Autocommit(backend, progress)


def run(backend: Backend, item: Prepared, progress: Progress) -> StepResult:
    """Apply or roll back one prepared file."""
    step = apply_file(backend, item, progress, way_for(backend, item, progress))
    if not step.skipped:
        progress.migration_finished(step)
    return step


def run_group(backend: Backend, items: list[Prepared], progress: Progress) -> list[StepResult]:
    """Every file in one transaction (``up --single-transaction``): all or nothing.

    For deploys that must not stop half-way. A ``no-transaction`` file cannot
    join (refused before anything runs); with ``foreign-keys-off`` in any file
    the keys are off for the whole group and checked once before COMMIT. The
    COMMIT's time counts in the last applied file's ``duration_ms``.
    """
    check_group(items)
    if not backend.transactional_ddl:
        raise ConfigError(f"--single-transaction needs transactional DDL, and {backend.name} "
                          "commits every DDL statement on its own; nothing was run")
    if not items:
        return []
    count, last = len(items), items[-1]
    fk_off = any(FOREIGN_KEYS_OFF in i.source.directives for i in items)
    member = GroupMember(backend, progress, count)
    steps: list[StepResult] = []
    with backend.foreign_keys_off() if fk_off else nullcontext(), \
            committing(backend, lambda error: in_group(commit_failed(last, error), count,
                                                       at_commit=True)):
        for item in items:
            steps.append(apply_file(backend, item, progress, member))
        if fk_off:
            try:
                check_foreign_keys(backend, last)
            except MigrationFailed as exc:
                raise in_group(exc, count) from exc
        progress.before_commit(last.migration, last.direction)
        closing = perf_counter()
    applied = [i for i, s in enumerate(steps) if not s.skipped]
    if applied:
        at = applied[-1]
        extra = int((perf_counter() - closing) * 1000)
        steps[at] = steps[at]._replace(duration_ms=steps[at].duration_ms + extra)
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
