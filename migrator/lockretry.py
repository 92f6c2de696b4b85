"""``up``/``down``/``redo --lock-retries``: a file that cannot get its locks is tried again.

On a busy server a migration waiting for a lock makes every later query on
that table wait behind it. With a short per-file lock timeout the file
gives up instead, its transaction rolls back, and after a jittered,
doubling pause it is tried again, up to N times; each wait names the
sessions that blocked it. Only a file rolled back as a whole is retried: a
MySQL file whose DDL already committed is reported as it stands. The
policy comes from the flags, else MIGRATOR_LOCK_RETRIES /
MIGRATOR_FILE_LOCK_TIMEOUT, else ``lock_retries`` / ``file_lock_timeout`` in
the config (migrator.config).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from typing import NamedTuple

from migrator.backends.base import Backend, Blocker, LockWaits
from migrator.engine import run
from migrator.errors import MigrationFailed
from migrator.failures import failure
from migrator.prepared import Prepared
from migrator.progress import Progress, StepResult

_FIRST_PAUSE = 0.5  # seconds before the first retry; doubled each time
_MAX_PAUSE = 30.0


class RetryPolicy(NamedTuple):
    retries: int = 0  # how many times a file is tried again after a lock timeout
    lock_timeout: float | None = None  # seconds one statement may wait; None: the URL's

    @property
    def active(self) -> bool:
        return self.retries > 0 or self.lock_timeout is not None


class LockWait(NamedTuple):
    """One lock timeout of a file, and the pause before its next attempt."""

    version: str
    label: str  # version_name, as progress lines show the file
    attempt: int  # the attempt that timed out, 1-based
    blockers: list[Blocker]
    pause: float  # seconds until the next attempt; 0 after the last one

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "attempt": self.attempt,
                "blockers": [b.to_json() for b in self.blockers]}

    def describe(self, retries: int) -> str:
        who = "; ".join(str(b) for b in self.blockers) or "a session that has since let go"
        return (f"{self.label}: lock timeout on attempt {self.attempt} of {retries + 1}, "
                f"blocked by {who}; retrying in {self.pause:.1f}s")


class LockWaitFailed(MigrationFailed):
    """The usual migration failure, with the sessions that held the locks."""

    def __init__(self, failed: MigrationFailed, waits: list[LockWait], note: str) -> None:
        super().__init__(failed.info, f"{failed}\n  {note}")
        self.waits = waits

    def details(self) -> dict[str, object]:
        last = self.waits[-1]
        return {**super().details(), "attempts": last.attempt,
                "blockers": [b.to_json() for b in last.blockers],
                "retries": [w.to_json() for w in self.waits[:-1]]}


def pause(attempt: int) -> float:
    """Full jitter over a doubling ceiling, so retrying runs do not meet again."""
    ceiling = min(_FIRST_PAUSE * 2 ** (attempt - 1), _MAX_PAUSE)
    return random.uniform(ceiling / 2, ceiling)


def run_retrying(
    backend: Backend, item: Prepared, progress: Progress, policy: RetryPolicy,
    on_wait: Callable[[LockWait], None],
) -> StepResult:
    """``engine.run`` under the policy; ``on_wait`` hears of each retry before its pause."""
    waits = backend.lock_waits
    if waits is None or not policy.active:
        return run(backend, item, progress)
    if policy.lock_timeout is not None:
        _set_first(backend, item, waits, policy.lock_timeout)
    history: list[LockWait] = []
    try:
        while True:
            try:
                with waits.watch():
                    return run(backend, item, progress)
            except MigrationFailed as exc:
                if not waits.is_lock_timeout(exc.info.db_error):
                    raise
                seen, attempt = waits.blockers(), len(history) + 1
                last = LockWait(item.migration.version, item.migration.label, attempt, seen, 0.0)
                if not exc.info.transactional:
                    note = ("; not retried: statements of this file were already committed"
                            if item.source.transactional else "; not retried: a no-transaction "
                            "file is not rolled back as a whole")
                elif attempt > policy.retries:
                    note = (f"; gave up after {attempt} attempts" if policy.retries else
                            "; run again once it ends, or pass --lock-retries N")
                else:
                    history.append(last._replace(pause=pause(attempt)))
                    on_wait(history[-1])
                    time.sleep(history[-1].pause)
                    continue
                raise LockWaitFailed(exc, [*history, last], _blocked(seen) + note) \
                    from exc.__cause__
    finally:
        if policy.lock_timeout is not None:
            with contextlib.suppress(Exception):  # a lost connection has no setting left
                waits.set_lock_timeout(None)


def _set_first(backend: Backend, item: Prepared, waits: LockWaits, seconds: float) -> None:
    """Set the file's lock timeout; the database refusing it (a lost connection) is
    this file's failure, reported as any other, before any of it ran."""
    try:
        waits.set_lock_timeout(seconds)
    except Exception as exc:
        db_error = backend.describe_error(exc)
        if db_error is None:
            raise
        raise failure(item, None, item.total, db_error,
                      "setting the file's lock timeout failed, so none of it ran",
                      atomic=True) from exc


def _blocked(seen: list[Blocker]) -> str:
    return "blocked by: " + ("; ".join(str(b) for b in seen) if seen
                             else "no session seen (it let go as the wait ended)")
