"""``-- migrator: replaces V1 V2 ...``: a squashed migration that deployed databases follow.

``migrator squash`` writes this directive into the file that takes the old
migrations' place. A database whose rows cover exactly those versions has
in effect applied that file already: ``up`` deletes the old rows and records
the squashed one, in one transaction under the run lock, running nothing. A
fresh database runs the file. A database with only some of the rows is
refused: neither running the file nor recording it would be true there.

The replaced files must be gone from the migrations directory (squash moves
them to ``squashed/``): next to the file that replaces them, a fresh database
would run both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from migrator.backends.base import Backend, transaction
from migrator.errors import ConfigError, DriftError
from migrator.files import Migration, version_key
from migrator.plan import PENDING, Entry
from migrator.source import REPLACES, SqlText
from migrator.state import AppliedMigration, sql_literal, utc_now

_PREFIX = REPLACES + " "


def replaced_versions(source: SqlText) -> list[str]:
    """The versions a file's ``replaces`` directive names, as written; [] without one."""
    for directive in source.directives:
        if directive.startswith(_PREFIX):
            return directive.split()[1:]
    return []


class Fold(NamedTuple):
    """A squashed migration to record in place of the rows of what it replaces."""

    migration: Migration
    replaced: list[AppliedMigration]  # the rows to delete, oldest first
    record: bool  # False: a row of its own version, not among the replaced, stays

    @property
    def versions(self) -> list[str]:
        return [r.version for r in self.replaced]

    def to_json(self) -> dict[str, object]:
        m = self.migration
        return {"version": m.version, "name": m.name, "replaces": self.versions}


class Partial(NamedTuple):
    """A squashed migration whose replaced versions this database applied only some of."""

    migration: Migration
    present: list[str]
    missing: list[str]


class Folded(NamedTuple):
    rows: list[AppliedMigration]  # the rows as they are once every fold is recorded
    folds: list[Fold]
    partial: list[Partial]


def _replacing(migrations: Sequence[Migration]) -> list[tuple[Migration, list[str]]]:
    """The files with a ``replaces`` directive; most sets have none, found at the cost
    of one truth test per file."""
    return [(m, replaced_versions(m.up)) for m in migrations
            if m.up.directives and replaced_versions(m.up)]


def fold(migrations: Sequence[Migration], rows: list[AppliedMigration]) -> Folded:
    """What ``up`` would record in place of replaced rows, and the rows as they would be.

    Raises ConfigError when a replaced migration's file is still in the directory.
    """
    replacing = _replacing(migrations)
    if not replacing:
        return Folded(rows, [], [])
    _refuse_originals(migrations, replacing)
    by_key = {version_key(r.version): r for r in rows}
    folds: list[Fold] = []
    partial: list[Partial] = []
    for m, versions in replacing:
        keys = sorted({version_key(v) for v in versions})
        if not any(k in by_key for k in keys if k != m.key):
            continue  # a fresh database runs the file; a rewritten one has its row
        missing = [v for v in sorted(versions, key=version_key) if version_key(v) not in by_key]
        present = [by_key[k] for k in keys if k in by_key]
        if missing:
            partial.append(Partial(m, [r.version for r in present], missing))
            continue
        folds.append(Fold(m, present, record=m.key in keys or m.key not in by_key))
    if not folds:
        return Folded(rows, [], partial)
    gone = {r.version for f in folds for r in f.replaced}
    kept = [r for r in rows if r.version not in gone]
    kept += [AppliedMigration(f.migration.version, f.migration.name, f.migration.checksum,
                              "", 0) for f in folds if f.record]
    return Folded(kept, folds, partial)


def due(backend: Backend, migrations: Sequence[Migration]) -> list[Fold]:
    """The folds ``up`` records on this database; its rows are read only if a file
    replaces others."""
    if not _replacing(migrations):
        return []
    return fold(migrations, backend.applied()).folds


def _refuse_originals(
    migrations: Sequence[Migration], replacing: list[tuple[Migration, list[str]]]
) -> None:
    files = {m.key: m for m in migrations}
    lines = []
    for m, versions in replacing:
        still = [files[k] for k in sorted({version_key(v) for v in versions})
                 if k != m.key and k in files]
        if still:
            lines.append(f"  {m.up.path} replaces {', '.join(versions)}; still here: "
                         + ", ".join(o.up.path for o in still))
    if lines:
        raise ConfigError(
            "a squashed migration and migrations it replaces are both in the directory; a "
            "fresh database would run both. Nothing was run:\n" + "\n".join(lines)
            + "\n  hint: move the replaced files out (migrator squash puts them in squashed/)"
        )


def refuse_partial(folded: Folded) -> None:
    """Before ``up``: a database that applied only part of what a file replaces stops it."""
    if not folded.partial:
        return
    lines = [f"  {p.migration.label} replaces {', '.join(p.present + p.missing)}; this "
             f"database applied only {', '.join(p.present)} (missing {', '.join(p.missing)})"
             for p in folded.partial]
    raise DriftError(
        "this database applied only part of the migrations a squashed one replaces, so it can "
        "neither run it nor record it; nothing was run:\n" + "\n".join(lines)
        + "\n  hint: apply the missing ones with their original files (squashed/) first",
        [{"version": v, "file": None, "kind": "missing"}
         for p in folded.partial for v in p.missing],
    )


def refuse_down(folded: Folded) -> None:
    """``down`` on rows not yet replaced would roll back files that are gone."""
    if not folded.folds:
        return
    lines = [f"  {f.migration.label} replaces {', '.join(f.versions)}" for f in folded.folds]
    raise DriftError(
        "this database still has the rows of migrations a squashed one replaces; nothing "
        "was rolled back:\n" + "\n".join(lines)
        + "\n  hint: run 'migrator up' first: it records the squashed migration in their "
        "place without running anything"
    )


def note_of(f: Fold) -> str:
    return f"replaces {' '.join(f.versions)}, will be recorded without running"


def mark(entries: list[Entry], folded: Folded) -> list[Entry]:
    """``status``: a fold shows as pending, saying it will be recorded without running;
    a partly applied one says why ``up`` refuses."""
    if not folded.folds and not folded.partial:
        return entries
    notes = {f.migration.version: note_of(f) for f in folded.folds}
    for p in folded.partial:
        notes[p.migration.version] = (
            f"replaces {' '.join(p.present + p.missing)}, but this database applied only "
            f"{' '.join(p.present)}, not {' '.join(p.missing)}: up refuses")
    recorded = {f.migration.version for f in folded.folds if f.record}
    out = []
    for e in entries:
        note = notes.get(e.version)
        if note is not None and e.migration is not None:
            if e.version in recorded:
                e = e._replace(state=PENDING, row=None)
            e = e._replace(note=note)
        out.append(e)
    return out


def record(backend: Backend, folds: list[Fold]) -> None:
    """Delete the replaced rows and record the squashed ones, in one transaction.

    The caller holds the run lock and found ``folds`` on rows read under it.
    """
    if not folds:
        return
    with transaction(backend):
        for f in folds:
            for row in f.replaced:
                backend.forget(row.version)
            if f.record:
                m = f.migration
                backend.record(AppliedMigration(m.version, m.name, m.checksum, utc_now(), 0))


def dry_run_lines(folds: list[Fold], sql: dict[str, str]) -> list[str]:
    """The bookkeeping ``up`` would write for ``folds``, as the dry-run script shows it."""
    out: list[str] = []
    for f in folds:
        m = f.migration
        out += ["", f"-- {m.label} ({m.up.path}): {note_of(f)}", sql["begin"]]
        out += [f"{sql['delete']} {sql_literal(v)};" for v in f.versions]
        if f.record:
            values = [sql_literal(m.version), sql_literal(m.name), sql_literal(m.checksum),
                      sql["now"], "0"]
            out.append(f"{sql['insert']} ({', '.join(values)});")
        out.append(sql["commit"])
    return out
