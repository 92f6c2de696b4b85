"""The public, typed library API that the CLI only calls.

    from migrator import Migrator
    Migrator("sqlite:///app.db", "migrations").up()

Each command validates every file before it opens the database, takes the
run-wide lock before it writes, and leaves the database at a migration
boundary whatever happens.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from migrator import replaces
from migrator.backends import open_backend
from migrator.backends.base import Backend, transaction
from migrator.backends.guard import driver_errors
from migrator.errors import ConfigError, MigrationFailed
from migrator.files import REPEATABLE_PREFIX, Discovered, Migration
from migrator.integrity import discover_verified
from migrator.ordering import ProvenOrder, unexcused
from migrator.plan import (
    MISSING,
    MODIFIED,
    Entry,
    check_drift,
    check_order,
    check_rollback,
    find,
    mark_unfinished,
    pending_up_to,
    reconcile,
    rollback_targets,
)
from migrator.progress import DOWN, UP, Progress, StepResult
from migrator.state import AppliedMigration, utc_now, validate_table_name

if TYPE_CHECKING:
    from migrator.lockretry import LockWait, RetryPolicy
    from migrator.placeholders import Variable
    from migrator.prepared import Prepared

# The engine (splitter, pre-flight checks) is imported by the commands that run
# files, never at module level: ``status`` on a long history must start fast.

MIN_BUSY_WAIT = 5.0


def _retry(
    policy: RetryPolicy | None, on_wait: Callable[[LockWait], None] | None,
) -> tuple[RetryPolicy, Callable[[LockWait], None]] | None:
    """What ``_run_all`` retries files under; None when no retry policy is active."""
    if policy is None or not policy.active:
        return None
    return policy, on_wait or (lambda wait: None)


class RunResult:
    """What a writing command did, in order; ``done`` leaves out skipped files.

    ``elapsed_ms`` is the command's wall-clock time, from reading the files to
    the last COMMIT (fsync included) and the lock's release: what a user waited.
    """

    __slots__ = ("direction", "elapsed_ms", "replaced", "steps")

    def __init__(
        self, direction: str, steps: list[StepResult] | None = None,
        elapsed_ms: int | None = None,
    ) -> None:
        self.direction = direction
        self.steps: list[StepResult] = [] if steps is None else steps
        self.elapsed_ms = elapsed_ms
        # squashed migrations recorded in place of the rows they replace, nothing run
        self.replaced: list[replaces.Fold] = []

    def __repr__(self) -> str:
        return f"RunResult(direction={self.direction!r}, steps={self.steps!r})"

    @property
    def done(self) -> list[StepResult]:
        return [s for s in self.steps if not s.skipped]

    @property
    def duration_ms(self) -> int:
        """The wall time when measured, else the files' own times added up."""
        if self.elapsed_ms is not None:
            return self.elapsed_ms
        return sum(s.duration_ms for s in self.done)

    def timed(self, started: float) -> RunResult:
        """This result, with the wall time since ``started`` (``perf_counter``)."""
        self.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return self


class Problem(NamedTuple):
    version: str
    file: str | None
    kind: str  # modified | missing
    detail: str


class VerifyReport(NamedTuple):
    problems: list[Problem]
    notes: list[Problem]  # not drift: line-ending or BOM changes
    checked: int

    @property
    def ok(self) -> bool:
        return not self.problems


class Migrator:
    def __init__(
        self,
        url: str,
        migrations_dir: str | Path = "migrations",
        *,
        table: str = "schema_migrations",
        lock_timeout: float = 0.0,
        progress: Progress | None = None,
        variables: Mapping[str, Variable] | None = None,
    ) -> None:
        """``variables`` fill ``${NAME}`` in files marked ``-- migrator: placeholders``;
        None reads them from ``MIGRATOR_VAR_*`` and ``MIGRATOR_SECRET_*``."""
        if not url:
            raise ConfigError("no database URL given")
        self.url = url
        self.migrations_dir = Path(migrations_dir)
        self.table = validate_table_name(table)
        self.lock_timeout = lock_timeout
        self.progress = progress or Progress()
        self._variables = variables
        self._shown: Progress | None = None

    # -- plumbing -------------------------------------------------------------

    @property
    def variables(self) -> Mapping[str, Variable]:
        """Read when a file is prepared to run, not before: ``status`` never needs them."""
        if self._variables is None:
            import os

            from migrator.placeholders import collect

            self._variables = collect({}, os.environ)
        return self._variables

    @property
    def _progress(self) -> Progress:
        """``progress``, behind a mask when a secret is set: statements shown by
        ``--verbose`` and warnings never carry a secret value."""
        if self._shown is None:
            from migrator.placeholders import MaskedProgress, has_secrets

            variables = self.variables
            secret = has_secrets(variables)
            self._shown = MaskedProgress(self.progress, variables) if secret else self.progress
        return self._shown

    def _masked(self, exc: MigrationFailed) -> MigrationFailed:
        from migrator.placeholders import has_secrets, masked_failure

        return masked_failure(exc, self.variables) if has_secrets(self.variables) else exc

    def migrations(self) -> list[Migration]:
        """The versioned migrations, ordered by version."""
        return self._discovered().migrations

    def repeatables(self) -> list[Migration]:
        """The repeatable migrations (``R_<name>.up.sql``), in the order they run."""
        return self._discovered().repeatables

    def _discovered(self) -> Discovered:
        """Every migration; refused (exit 3) if the directory's migrations.sum disagrees."""
        return discover_verified(self.migrations_dir)

    @contextlib.contextmanager
    def _backend(self, *, readonly: bool) -> Iterator[Backend]:
        backend = open_backend(
            self.url,
            table=self.table,
            readonly=readonly,
            busy_timeout=max(MIN_BUSY_WAIT, self.lock_timeout),
        )
        try:
            with driver_errors(backend):
                yield backend
        finally:
            backend.close()

    @contextlib.contextmanager
    def _writing(self, *, journal_check: bool = True) -> Iterator[Backend]:
        with self._backend(readonly=False) as backend, backend.run_lock(self.lock_timeout):
            backend.ensure_state_table()
            if journal_check and backend.journal is not None:
                from migrator.journaled import refuse_unfinished

                refuse_unfinished(backend.journal)
            yield backend

    def _run_all(
        self, backend: Backend, items: list[Prepared], direction: str,
        retry: tuple[RetryPolicy, Callable[[LockWait], None]] | None = None,
    ) -> RunResult:
        from migrator.engine import run

        result = RunResult(direction)
        progress = self._progress
        progress.run_started(direction, len(items))
        for item in items:
            try:
                if retry is None:
                    result.steps.append(run(backend, item, progress))
                else:
                    from migrator.lockretry import run_retrying

                    result.steps.append(run_retrying(backend, item, progress, *retry))
            except MigrationFailed as exc:
                exc.completed = result.done
                raise self._masked(exc) from exc.__cause__
        return result

    # -- read-only commands ---------------------------------------------------

    def status(self) -> list[Entry]:
        """Versioned migrations by version, then repeatable ones by name."""
        found = self._discovered()
        with self._backend(readonly=True) as backend:
            folded = replaces.fold(found.migrations, backend.applied())
            entries = reconcile(found.migrations, folded.rows,
                                repeatables=found.repeatables)
            entries = replaces.mark(entries, folded)
            if backend.journal is not None:  # MySQL: say which file stopped part-way
                entries = mark_unfinished(entries, backend.journal.unfinished())
            return entries

    def verify(self) -> VerifyReport:
        entries = self.status()
        problems, notes = [], []
        for e in entries:
            if e.repeatable:  # a changed one is re-run, a removed one is no drift
                continue
            if e.state == MODIFIED:
                problems.append(Problem(e.version, e.file, MODIFIED, "checksum differs"))
            elif e.state == MISSING:
                problems.append(Problem(e.version, None, MISSING, "file is missing"))
            elif e.note and e.is_applied:  # a pending file's note is no checksum matter
                notes.append(Problem(e.version, e.file, "line-endings", e.note))
        checked = sum(1 for e in entries if e.is_applied and not (e.repeatable and
                                                                   e.state == MISSING))
        return VerifyReport(problems, notes, checked)

    def plan_up(
        self, *, to: str | None = None, allow_modified: bool = False,
        allow_out_of_order: bool | ProvenOrder = False,
    ) -> list[Prepared]:
        """What ``up`` would run, checked and split, without writing anything."""
        found = self._discovered()
        with self._backend(readonly=True) as backend:
            return self._up_items(backend, found, to, allow_modified, allow_out_of_order)

    def plan_replacements(self) -> list[replaces.Fold]:
        """The squashed migrations ``up`` would record in place of the rows they replace."""
        found = self._discovered()
        with self._backend(readonly=True) as backend:
            return replaces.due(backend, found.migrations)

    def plan_down(
        self, *, steps: int | None = None, to: str | None = None, everything: bool = False,
        allow_modified: bool = False,
    ) -> list[Prepared]:
        migrations = self.migrations()
        with self._backend(readonly=True) as backend:
            return self._down_items(backend, migrations, steps, to, everything, allow_modified)

    # -- writing commands -----------------------------------------------------

    def up(
        self, *, to: str | None = None, allow_modified: bool = False,
        allow_out_of_order: bool | ProvenOrder = False, single_transaction: bool = False,
        lock_retries: RetryPolicy | None = None,
        on_lock_wait: Callable[[LockWait], None] | None = None,
        on_folded: Callable[[list[replaces.Fold]], None] | None = None,
    ) -> RunResult:
        """Apply pending migrations, then re-run the repeatables that changed;
        ``single_transaction``: all of them or none. ``lock_retries``: a file that
        times out waiting for a lock is retried (``on_lock_wait`` hears of each wait).
        ``allow_out_of_order``: True, or what ``migrator.dba.order.prove_order`` proved.
        ``on_folded`` hears of squashed rows recorded in place of old ones, when they
        are, before any file runs."""
        started = time.perf_counter()
        migrations = self._discovered()
        # Split and check the pending files read-only first: an invalid file must
        # not create the database or its bookkeeping table (SPEC "What a run does" 1).
        with self._backend(readonly=True) as backend:
            checked = self._up_items(backend, migrations, to, allow_modified,
                                     allow_out_of_order)
        from migrator.engine import check_group, run_group

        if single_transaction:
            check_group(checked)
            if lock_retries is not None and lock_retries.active:
                raise ConfigError("--lock-retries and --file-lock-timeout work file by file "
                                  "and do not apply to --single-transaction; nothing was run")
        with self._writing() as backend:
            items = self._up_items(backend, migrations, to, allow_modified, allow_out_of_order,
                                   checked)
            folds = replaces.due(backend, migrations.migrations)
            replaces.record(backend, folds)  # before any file: it may run after them
            if folds and on_folded is not None:
                on_folded(folds)
            if single_transaction:
                progress = self._progress
                progress.run_started(UP, len(items))
                try:
                    result = RunResult(UP, run_group(backend, items, progress))
                except MigrationFailed as exc:
                    raise self._masked(exc) from exc.__cause__
            else:
                result = self._run_all(backend, items, UP, _retry(lock_retries, on_lock_wait))
            result.replaced = folds
        return result.timed(started)

    def down(
        self, *, steps: int | None = None, to: str | None = None, everything: bool = False,
        allow_modified: bool = False, lock_retries: RetryPolicy | None = None,
        on_lock_wait: Callable[[LockWait], None] | None = None,
    ) -> RunResult:
        """Roll back; ``lock_retries`` as for ``up``, a down file being rolled back
        as a whole when it times out waiting for a lock."""
        started = time.perf_counter()
        migrations = self.migrations()
        if not self._anything_to_roll_back(migrations, steps, to, everything):
            return RunResult(DOWN).timed(started)
        with self._writing() as backend:
            items = self._down_items(backend, migrations, steps, to, everything, allow_modified)
            result = self._run_all(backend, items, DOWN, _retry(lock_retries, on_lock_wait))
        return result.timed(started)

    def redo(
        self, *, steps: int = 1, lock_retries: RetryPolicy | None = None,
        on_lock_wait: Callable[[LockWait], None] | None = None,
    ) -> tuple[RunResult, RunResult]:
        """Roll back the newest ``steps`` migrations, then apply today's files of them;
        ``lock_retries`` applies to every file of both halves."""
        started = time.perf_counter()
        migrations = self.migrations()
        if not self._anything_to_roll_back(migrations, steps, None, False):
            return RunResult(DOWN).timed(started), RunResult(UP).timed(started)
        from migrator.prepared import prepare

        with self._writing() as backend:
            downs = self._down_items(backend, migrations, steps, None, False, True)
            ups = prepare(backend, [(i.migration, UP) for i in reversed(downs)], self._progress,
                          self.variables)
            retry = _retry(lock_retries, on_lock_wait)
            down_result = self._run_all(backend, downs, DOWN, retry).timed(started)
            halfway = time.perf_counter()
            up_result = self._run_all(backend, ups, UP, retry)
        return down_result, up_result.timed(halfway)

    def baseline(self, version: str) -> list[Migration]:
        """Record every migration up to ``version`` as applied without running it."""
        migrations = self.migrations()
        with self._writing() as backend:
            entries = reconcile(migrations, backend.applied())
            limit = find(entries, version)
            if limit.migration is None:
                raise ConfigError(f"no migration file with version {version}")
            todo = [
                e.migration for e in entries
                if e.migration is not None and not e.is_applied and e.key <= limit.key
            ]
            with transaction(backend):
                for m in todo:
                    if not backend.is_applied(m.version):
                        backend.record(AppliedMigration(m.version, m.name, m.checksum,
                                                        utc_now(), 0))
            return todo

    def unlock(self) -> str:
        with self._backend(readonly=True) as backend:  # must not create a database
            return backend.unlock()

    def repair(self, version: str, *, applied: bool) -> str:
        """Record by hand whether a migration is in effect, after a part-way failure.

        ``applied=True`` records it as applied (without running anything);
        ``False`` removes its row. Either way its journal entry (MySQL) is cleared.
        """
        from migrator.files import version_key

        found = self._discovered()
        migrations = found.migrations + found.repeatables
        with self._writing(journal_check=False) as backend:
            # -2 matches nothing: -1 is the key of every non-numeric row
            key = version_key(version) if version.replace("-", "").isdigit() else -2

            def same(v: str) -> bool:  # a repeatable is named by its version, R_<name>
                if version.startswith(REPEATABLE_PREFIX):
                    return v == version
                return version_key(v) == key

            journal = backend.journal
            unfinished = [] if journal is None else journal.unfinished()
            file = next((m for m in migrations if same(m.version)), None)
            entry = next((e for e in reconcile(found.migrations, backend.applied(),
                                               repeatables=found.repeatables)
                          if same(e.version)), None)
            loose = next((u for u in unfinished if same(u.version)), None)
            if file is None and entry is None and loose is None:
                raise ConfigError(f"no migration with version {version}: no file, no row")
            v = (loose.version if loose else entry.version if entry
                 else file.version if file else version)
            with transaction(backend):
                was = backend.is_applied(v)
                if applied and was and file is not None and file.repeatable:
                    backend.forget(v)  # its row takes the checksum of the file that ran
                    was = False
                if applied and not was:
                    name = file.name if file else loose.name if loose else ""
                    checksum = file.checksum if file else ""
                    backend.record(AppliedMigration(v, name, checksum, utc_now(), 0))
                elif not applied and was:
                    backend.forget(v)
                if loose is not None and journal is not None:
                    journal.journal_clear(v)
        state = "applied" if applied else "not applied (rolled back)"
        cleared = "; its unfinished-run record was cleared" if loose else ""
        return f"recorded migration {v} as {state}{cleared}"

    def wait(self, timeout: float, *, poll: float = 0.5) -> float:
        """Wait until the database accepts a connection; returns the seconds waited.

        Only "not accepting connections yet" is retried: a bad URL, password or
        database name fails at once. SQLite is always ready.

        :raises ServerUnavailable: still unreachable after ``timeout`` seconds.
        """
        from migrator.errors import ServerUnavailable

        started = time.monotonic()
        while True:
            try:
                with self._backend(readonly=True):
                    return time.monotonic() - started
            except ServerUnavailable as exc:
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise ServerUnavailable(f"still unreachable after {waited:.0f}s: {exc}") \
                        from exc
            time.sleep(poll)

    # -- selection ------------------------------------------------------------

    def _up_items(
        self, backend: Backend, found: Discovered, to: str | None,
        allow_modified: bool, allow_out_of_order: bool | ProvenOrder,
        checked: list[Prepared] | None = None,
    ) -> list[Prepared]:
        """Pending versioned files, then the repeatables due (see ``pending_up_to``)."""
        from migrator.prepared import prepare

        folded = replaces.fold(found.migrations, backend.applied())
        replaces.refuse_partial(folded)
        entries = reconcile(found.migrations, folded.rows, repeatables=found.repeatables)
        if not allow_modified:
            check_drift(entries)
        targets = pending_up_to(entries, to)
        if allow_out_of_order is not True:  # a late file may opt in, or be proven harmless
            proven = allow_out_of_order if isinstance(allow_out_of_order, ProvenOrder) else None
            check_order(entries, unexcused(entries, targets, proven))
        pairs = [(e.migration, UP) for e in targets if e.migration is not None]
        done = {i.migration.version: i for i in checked or ()}  # split once, warn once
        todo = [(m, d) for m, d in pairs if m.version not in done]
        fresh = iter(prepare(backend, todo, self._progress, self.variables))
        return [done.get(m.version) or next(fresh) for m, _ in pairs]

    def _anything_to_roll_back(
        self, migrations: list[Migration], steps: int | None, to: str | None, everything: bool,
    ) -> bool:
        """Asked read-only, so that a mistyped database path is not created empty."""
        with self._backend(readonly=True) as backend:
            entries = reconcile(migrations, backend.applied())
        return bool(rollback_targets(entries, steps=steps, to=to, everything=everything))

    def _down_items(
        self, backend: Backend, migrations: list[Migration], steps: int | None,
        to: str | None, everything: bool, allow_modified: bool,
    ) -> list[Prepared]:
        rows = backend.applied()
        replaces.refuse_down(replaces.fold(migrations, rows))
        entries = reconcile(migrations, rows)
        targets = rollback_targets(entries, steps=steps, to=to, everything=everything)
        check_rollback(targets, allow_modified)
        from migrator.prepared import prepare

        pairs = [(e.migration, DOWN) for e in targets if e.migration is not None]
        return prepare(backend, pairs, self._progress, self.variables)
