"""Files + recorded rows -> each migration's state and what a command would do.

No database access here; the only I/O is re-reading a file whose checksum
differs, to tell a line-ending change from a real edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from migrator.checksum import cosmetic_match
from migrator.errors import ConfigError, DriftError, IrreversibleError
from migrator.files import REPEATABLE_KEY, REPEATABLE_PREFIX, Migration, version_key
from migrator.source import OUT_OF_ORDER_OK
from migrator.state import AppliedMigration

if TYPE_CHECKING:
    from migrator.backends.base import Unfinished

APPLIED, PENDING, MODIFIED, MISSING = "applied", "pending", "modified", "missing"
OUT_OF_ORDER = "out of order: older than the newest applied migration"
OUT_OF_ORDER_OK_NOTE = "out of order, allowed by its out-of-order-ok directive"
REPEATABLE = "repeatable"
REPEATABLE_CHANGED = "repeatable, changed since it last ran"
# A repeatable's file may go (its view dropped by a later migration): nothing to re-run.
REPEATABLE_GONE = "repeatable, its file is gone; not drift"


class Entry(NamedTuple):
    """One line of ``status``: a file, a recorded row, or both.

    A NamedTuple rather than a frozen dataclass: ``status`` builds thousands
    and a tuple is built in C, several times faster; both are immutable.
    """

    version: str
    name: str
    state: str
    key: int
    migration: Migration | None
    row: AppliedMigration | None
    note: str | None = None  # e.g. "only line endings differ"

    @property
    def applied_at(self) -> str | None:
        return self.row.applied_at if self.row else None

    @property
    def checksum(self) -> str:
        if self.migration is not None:
            return self.migration.checksum
        return self.row.checksum if self.row else ""

    @property
    def file(self) -> str | None:
        return self.migration.up.path if self.migration else None

    @property
    def is_applied(self) -> bool:
        return self.row is not None

    @property
    def repeatable(self) -> bool:
        return self.version.startswith(REPEATABLE_PREFIX)


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def reconcile(
    migrations: Sequence[Migration],
    rows: Sequence[AppliedMigration],
    read: Callable[[str], bytes] = _read,
    repeatables: Sequence[Migration] = (),
) -> list[Entry]:
    """Versioned entries by version, then repeatable ones by name."""
    by_key = {m.key: m for m in migrations}
    # A row nearly always spells its version as its file does: reuse the file's
    # key rather than parse the row's text again (version_key on 1000s of rows).
    by_version = {m.version: m for m in by_key.values()}
    entries: list[Entry] = []
    seen: set[int] = set()
    repeated: dict[str, AppliedMigration] = {}
    for row in rows:
        m = by_version.get(row.version)
        if m is not None:
            key = m.key
        elif row.version.startswith(REPEATABLE_PREFIX):  # only on a miss: no cost otherwise
            repeated[row.version] = row
            continue
        else:
            key = version_key(row.version)
            m = by_key.get(key)
        seen.add(key)
        if m is None:
            entries.append(Entry(row.version, row.name, MISSING, key, None, row))
        elif m.up.checksum == row.checksum:
            entries.append(Entry(m.version, m.name, APPLIED, key, m, row))
        else:
            note = cosmetic_match(read(m.up.path), row.checksum)
            if note is not None:
                note = f"only {note} differ"
                entries.append(Entry(m.version, m.name, APPLIED, key, m, row, note))
            else:
                entries.append(Entry(m.version, m.name, MODIFIED, key, m, row))
    newest = max(seen, default=None)
    for m in migrations:
        if m.key not in seen:
            late = newest is not None and m.key < newest
            entries.append(Entry(m.version, m.name, PENDING, m.key, m, None,
                                 _late_note(m) if late else None))
    entries.sort(key=_BY_KEY)
    if repeatables or repeated:
        entries += _repeatable_entries(repeatables, repeated)
    return entries


def _repeatable_entries(
    repeatables: Sequence[Migration], rows: dict[str, AppliedMigration]
) -> list[Entry]:
    """Applied while the checksum matches the row's; pending when changed or never run."""
    entries = []
    for m in repeatables:
        row = rows.pop(m.version, None)
        if row is None:
            entries.append(Entry(m.version, m.name, PENDING, REPEATABLE_KEY, m, None, REPEATABLE))
        elif row.checksum == m.checksum:
            entries.append(Entry(m.version, m.name, APPLIED, REPEATABLE_KEY, m, row, REPEATABLE))
        else:
            entries.append(Entry(m.version, m.name, PENDING, REPEATABLE_KEY, m, row,
                                 REPEATABLE_CHANGED))
    for version in sorted(rows):
        row = rows[version]
        entries.append(Entry(version, row.name, MISSING, REPEATABLE_KEY, None, row,
                             REPEATABLE_GONE))
    return entries


_BY_KEY = attrgetter("key", "version")  # a (key, version) tuple, built in C


def _late_note(m: Migration) -> str:
    """A late file that opted in is no drift: ``status --exit-code`` counts it as pending."""
    return OUT_OF_ORDER_OK_NOTE if OUT_OF_ORDER_OK in m.up.directives else OUT_OF_ORDER


def mark_unfinished(entries: list[Entry], unfinished: Sequence[Unfinished]) -> list[Entry]:
    """Note the migrations a journal says stopped part-way (MySQL), so that ``status``
    says why every writing command refuses to run until ``repair``."""
    if not unfinished:
        return entries
    stopped = {u.version: u for u in unfinished}
    marked = []
    for e in entries:
        u = stopped.get(e.version)
        if u is not None:
            how = "failed" if u.status == "failed" else "stopped"
            note = (f"unfinished {u.direction}: {how} at statement {u.statement} of {u.total}; "
                    f"see 'migrator repair {u.version}'")
            e = e._replace(note=f"{REPEATABLE}, {note}" if e.repeatable else note)
        marked.append(e)
    return marked


def find(entries: Sequence[Entry], version: str) -> Entry:
    """The entry for a user-given VERSION (leading zeros and dashes do not matter)."""
    if not version[:1].isdigit() or not version.replace("-", "").isdigit():
        raise ConfigError(f"'{version}' is not a migration version (digits expected)")
    key = version_key(version)
    for entry in entries:
        if entry.key == key:
            return entry
    raise ConfigError(f"no migration with version {version}")


def drift_problems(entries: Sequence[Entry]) -> list[Entry]:
    """Modified or missing versioned files; a repeatable is re-run, never drift."""
    return [e for e in entries if e.state in (MODIFIED, MISSING) and not e.repeatable]


def check_drift(entries: Sequence[Entry]) -> None:
    problems = drift_problems(entries)
    if not problems:
        return
    lines = []
    for e in problems:
        if e.state == MODIFIED:
            lines.append(f"  {e.file}: modified since it was applied at {e.applied_at}")
        else:
            lines.append(
                f"  {e.version}_{e.name}: applied at {e.applied_at} but its file is missing"
            )
    raise DriftError(
        "applied migrations differ from their files; nothing was run:\n"
        + "\n".join(lines)
        + "\n  hint: restore the files (git checkout), or pass --allow-modified to run anyway",
        [{"version": e.version, "file": e.file, "kind": e.state} for e in problems],
    )


def pending_up_to(entries: Sequence[Entry], to: str | None) -> list[Entry]:
    """The versioned migrations ``up`` applies, then the repeatables it re-runs.

    Repeatables run only when the run reaches the newest version: with an
    older ``--to`` they would see a schema they were not written for.
    """
    limit = find(entries, to).key if to is not None else None
    versioned = [e for e in entries if e.state == PENDING and not e.repeatable
                 and (limit is None or e.key <= limit)]
    newest = max((e.key for e in entries if e.migration is not None and not e.repeatable),
                 default=None)
    if limit is not None and newest is not None and limit < newest:
        return versioned
    return versioned + [e for e in entries if e.repeatable and e.state == PENDING]


def check_order(entries: Sequence[Entry], targets: Sequence[Entry]) -> None:
    applied_keys = [e.key for e in entries if e.is_applied and not e.repeatable]
    targets = [e for e in targets if not e.repeatable]
    if not applied_keys or not targets:
        return
    newest = max(applied_keys)
    newest_version = next(e.version for e in entries if e.key == newest)
    late = [e for e in targets if e.key < newest]
    if late:
        names = "\n".join(f"  {e.file}" for e in late)
        raise DriftError(
            f"pending migrations are older than the newest applied one ({newest_version}); "
            f"nothing was run:\n{names}\n"
            "  hint: give them a newer version (rename the files), prove that the order does "
            "not matter ('migrator check-order', 'up --prove-order'), or pass "
            "--allow-out-of-order to apply them anyway",
            [{"version": e.version, "file": e.file, "kind": "out-of-order"} for e in late],
        )


def rollback_targets(
    entries: Sequence[Entry], *, steps: int | None, to: str | None, everything: bool
) -> list[Entry]:
    """Versioned migrations only: ``down`` leaves repeatables alone."""
    applied = sorted((e for e in entries if e.is_applied and not e.repeatable),
                     key=lambda e: e.key, reverse=True)
    if everything:
        return applied
    if to and to.strip("0") == "" and all(e.key != 0 for e in entries):
        return applied  # --to 0: roll back everything, as golang-migrate users expect
    if to is not None:
        limit = find(entries, to)
        if not limit.is_applied:
            raise ConfigError(f"--to {to}: that migration is not applied")
        return [e for e in applied if e.key > limit.key]
    count = 1 if steps is None else steps
    if count < 1:
        raise ConfigError("--steps must be at least 1")
    return applied[:count]


def check_rollback(targets: Sequence[Entry], allow_modified: bool) -> None:
    """Refuse a rollback that cannot be trusted, before anything runs: a file is
    missing, an up file changed since it ran, or there is no down file."""
    missing = [e for e in targets if e.migration is None]
    if missing:
        raise DriftError(
            "cannot roll back migrations whose files are missing; nothing was run:\n"
            + "\n".join(f"  {e.version}_{e.name}" for e in missing),
            [{"version": e.version, "file": None, "kind": MISSING} for e in missing],
        )
    modified = [e for e in targets if e.state == MODIFIED]
    if modified and not allow_modified:
        raise DriftError(
            "cannot roll back: these up files changed since they were applied, so their "
            "down files may not match what ran; nothing was run:\n"
            + "\n".join(f"  {e.file}" for e in modified)
            + "\n  hint: restore the files, or pass --allow-modified",
            [{"version": e.version, "file": e.file, "kind": MODIFIED} for e in modified],
        )
    irreversible = [e for e in targets if e.migration and e.migration.down is None]
    if irreversible:
        raise IrreversibleError(
            "cannot roll back migrations that have no down file; nothing was run:\n"
            + "".join(f"  {e.file}\n" for e in irreversible)
            + "  hint: write a down file (<version>_<name>.down.sql, or down.sql in its "
            "directory) to make a migration reversible"
        )
