"""Applying one file with its row, written once; the ways of running plug in.

Every file goes through ``apply_file``: the skip check (another process may
have applied it first), ``migration_started``, the statements, the
bookkeeping row, COMMIT. What differs between one transaction, a
``--single-transaction`` group, a ``no-transaction`` file and the MySQL
journal is a ``Way``: which transaction surrounds the file, how its
statements run, which transaction holds its row. ``duration_ms`` runs to
the end of the COMMIT that made the file durable (fsync included); the
row's own ``duration_ms`` is written before that COMMIT, so it cannot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from time import perf_counter
from typing import Protocol

from migrator.backends.base import Backend
from migrator.errors import DbError, MigrationFailed
from migrator.prepared import Prepared
from migrator.progress import DOWN, UP, Progress, StepResult
from migrator.state import AppliedMigration, utc_now


class Way(Protocol):
    """One way of running a file, as ``apply_file`` uses it."""

    def file_scope(self, item: Prepared) -> AbstractContextManager[None]:
        """Around the whole file, skip check included: its transaction, if it has one."""
        ...

    def execute(self, item: Prepared) -> None:
        """Run the file's statements; MigrationFailed on the first failure."""
        ...

    def row_scope(self, item: Prepared) -> AbstractContextManager[None]:
        """Around the bookkeeping write: a transaction of its own when the file had none."""
        ...

    def recorded(self, item: Prepared) -> None:
        """Right after the bookkeeping write, inside its transaction, before COMMIT."""
        ...


def apply_file(backend: Backend, item: Prepared, progress: Progress, way: Way) -> StepResult:
    """Apply (or roll back) one prepared file the given way; the caller reports it
    finished, since a group's files are finished only when the group commits."""
    m, direction = item.migration, item.direction
    started = 0.0
    with way.file_scope(item):
        # A repeatable is re-run by design, so a row is no reason to skip it.
        if not m.repeatable and backend.is_applied(m.version) != (direction == DOWN):
            # another process got here first; nothing was written, so the scope just ends
            return StepResult(m.version, m.name, direction, 0, 0, skipped=True)
        progress.migration_started(m, direction, item.total)
        started = perf_counter()
        way.execute(item)
        with way.row_scope(item):
            bookkeeping(backend, item, int((perf_counter() - started) * 1000))
            way.recorded(item)
    return StepResult(m.version, m.name, direction, int((perf_counter() - started) * 1000),
                      item.total)


def bookkeeping(backend: Backend, item: Prepared, duration: int) -> None:
    m = item.migration
    if m.repeatable:  # one row per repeatable, its checksum that of this run
        backend.forget(m.version)
    if item.direction == UP:
        backend.record(AppliedMigration(m.version, m.name, m.checksum, utc_now(), duration))
    else:
        backend.forget(m.version)


@contextlib.contextmanager
def committing(
    backend: Backend, commit_failed: Callable[[DbError], MigrationFailed]
) -> Iterator[None]:
    """BEGIN, the block, COMMIT; any exception (a signal too) rolls back.

    An error raised by COMMIT itself (a deferred foreign key, a full disk)
    becomes ``commit_failed``'s report after a ROLLBACK: SQLite keeps the
    transaction open after a failed COMMIT, the servers end it.
    """
    backend.begin()
    try:
        yield
    except BaseException:
        backend.rollback()
        raise
    try:
        backend.commit()
    except Exception as exc:
        db_error = backend.describe_error(exc)
        with contextlib.suppress(Exception):  # the report matters more than this
            backend.rollback()
        if db_error is None:
            raise
        raise commit_failed(db_error) from exc
