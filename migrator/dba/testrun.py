"""``migrator test``: prove on a scratch database that every down file undoes its up.

For each migration in order: snapshot the schema, apply it, roll it back,
and compare with the snapshot; then apply it again (a down that leaves
debris makes the second up fail) and go on to the next. The scratch space
and the snapshots come from the backend's catalog: a temporary SQLite file,
a PostgreSQL schema or a MySQL database, dropped afterwards; ``--from-db``
starts from the catalog's copy of a real database instead of an empty one.
"""

from __future__ import annotations

import contextlib
import difflib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator
from migrator.backends.base import ScratchSpace
from migrator.dba.spaces import opened, schema_of, scratch_beside
from migrator.errors import MigrationFailed
from migrator.files import Migration
from migrator.placeholders import Variable
from migrator.progress import Progress

PASSED, NOT_RESTORED, IRREVERSIBLE, FAILED, ALREADY_APPLIED, NOT_TESTED = (
    "passed", "not-restored", "irreversible", "failed", "already-applied", "not-tested",
)


@dataclass(slots=True)
class MigrationTest:
    version: str
    name: str
    outcome: str
    diff: str = ""  # unified diff: schema before up (---) vs after down (+++)
    message: str = ""
    duration_ms: int = 0
    stopped: bool = False  # the scratch database cannot go on past this one

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "name": self.name, "outcome": self.outcome,
                "diff": self.diff or None, "message": self.message or None,
                "duration_ms": self.duration_ms}


@dataclass(slots=True)
class TestReport:
    results: list[MigrationTest] = field(default_factory=list)
    scratch: str = ""  # "schema migrator_test_..." on a server; "" for a SQLite file

    @property
    def ok(self) -> bool:
        return not any(r.outcome in (NOT_RESTORED, FAILED) for r in self.results)


def _diff(before: list[str], after: list[str], label: str) -> str:
    return "\n".join(difflib.unified_diff(
        before, after, f"schema before {label} up", f"schema after {label} down", lineterm="",
    ))


@contextlib.contextmanager
def _copy_of(from_db: str, table: str) -> Iterator[ScratchSpace]:
    with opened(from_db, table, readonly=True) as backend, backend.catalog().copy() as space:
        yield space


def _scratch(
    url: str | None, table: str, from_db: str | None
) -> contextlib.AbstractContextManager[ScratchSpace]:
    """A copy of ``from_db``, or an empty scratch space beside ``url`` (SQLite without one)."""
    return _copy_of(from_db, table) if from_db is not None else scratch_beside(url, table)


def run_tests(
    migrations_dir: Path, table: str, *, from_db: str | None = None,
    on_result: Callable[[MigrationTest], None] | None = None, url: str | None = None,
    variables: Mapping[str, Variable] | None = None,
) -> TestReport:
    """Apply, roll back and re-apply each migration on a scratch database.

    That is the scratch space of ``url``'s backend (a temporary SQLite file when
    there is no URL), so the database's own DDL runs; or a copy of ``from_db``.
    """
    report = TestReport()
    notify = on_result or (lambda r: None)
    with _scratch(url, table, from_db) as space:
        report.scratch = space.name
        m = Migrator(space.url, migrations_dir, table=space.table, progress=Progress(),
                     variables=variables)

        def snapshot() -> list[str]:
            return schema_of(space).lines()

        pending = set()
        newest = -1
        for entry in m.status():
            if entry.is_applied:
                newest = max(newest, entry.key)
                result = MigrationTest(entry.version, entry.name, ALREADY_APPLIED)
                report.results.append(result)
                notify(result)
            elif entry.migration is not None:
                pending.add(entry.version)
        for migration in m.migrations():
            if migration.version not in pending:
                continue
            if migration.key < newest:  # 'down' would roll back a newer one instead
                result = _apply_untested(m, migration)
                report.results.append(result)
                notify(result)
                if result.stopped:
                    break
                continue
            result = _test_one(m, snapshot, migration)
            report.results.append(result)
            notify(result)
            if result.stopped:
                break  # later migrations need this one applied
    return report


def _apply_untested(m: Migrator, migration: Migration) -> MigrationTest:
    """Apply an out-of-order migration so later ones start from the state a real run makes."""
    try:
        m.up(to=migration.version, allow_out_of_order=True)
    except MigrationFailed as exc:
        return MigrationTest(migration.version, migration.name, FAILED,
                             message=f"up failed:\n{exc}", stopped=True)
    return MigrationTest(
        migration.version, migration.name, NOT_TESTED,
        message="applied but not rolled back: it is older than the newest migration applied "
        "in the copied database; test it without --from-db")


def _test_one(
    m: Migrator, snapshot: Callable[[], list[str]], migration: Migration
) -> MigrationTest:
    label = migration.label
    started = time.perf_counter()

    def done(
        outcome: str, *, diff: str = "", message: str = "", stop: bool = False
    ) -> MigrationTest:
        ms = int((time.perf_counter() - started) * 1000)
        stopped = stop or outcome == FAILED
        return MigrationTest(migration.version, migration.name, outcome, diff, message, ms,
                             stopped)

    before = snapshot()
    try:
        m.up(to=migration.version, allow_out_of_order=True)
    except MigrationFailed as exc:
        return done(FAILED, message=f"up failed:\n{exc}")
    if migration.down is None:
        return done(IRREVERSIBLE, message="no down file; rollback not tested")
    after_up = snapshot()
    try:
        m.down(steps=1)
    except MigrationFailed as exc:
        return done(FAILED, message=f"down failed:\n{exc}")
    after_down = snapshot()
    restored = after_down == before
    diff = "" if restored else _diff(before, after_down, label)
    try:
        m.up(to=migration.version, allow_out_of_order=True)
    except MigrationFailed as exc:
        # The scratch database is stuck after this down: later migrations cannot run.
        head = "up failed after down" if restored else (
            "down did not restore the schema that up found, so up failed when run again")
        return done(NOT_RESTORED if not restored else FAILED, diff=diff,
                    message=f"{head}:\n{exc.info.db_error}", stop=True)
    if not restored:
        return done(NOT_RESTORED, diff=diff,
                    message="down did not restore the schema that up found")
    again = snapshot()
    if again != after_up:
        diff = "\n".join(difflib.unified_diff(
            after_up, again, "schema after first up", "schema after second up", lineterm=""))
        return done(NOT_RESTORED, diff=diff,
                    message="up after down produced a different schema than the first up")
    return done(PASSED)
