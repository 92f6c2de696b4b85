"""``migrator check-order`` and ``up --prove-order``: does the order of late migrations matter?

A pending migration older than the newest applied one would run after
migrations it was written before, while a new database gets it in version
order. Both orders are replayed on scratch spaces of the URL's dialect:
(a) the applied migrations in version order, then the late ones, as ``up``
would run them now; (b) all of them in version order. Equal schema models
mean the order does not matter. Only the schema is compared, not rows: that
is what the issue asked, and rows of a scratch space are only what the
migrations inserted. The real database is only read.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator
from migrator.backends.base import ScratchSpace
from migrator.dba.spaces import opened, schema_of, scratch_beside
from migrator.errors import DriftError, MigrationFailed
from migrator.files import Migration
from migrator.ordering import ProvenOrder
from migrator.placeholders import Variable
from migrator.plan import MISSING, Entry, check_drift, pending_up_to
from migrator.progress import UP, Progress
from migrator.schema import Schema

NOW = "applied, then the out-of-order ones"
IN_ORDER = "all in version order"


@dataclass(slots=True)
class OrderProof:
    """Both replays of one database's migrations, and how they differ ("" when equal)."""

    applied: list[Migration]
    late: list[Migration]
    difference: str = ""  # a unified diff of the schemas, or the failure of one order
    scratch: list[str] = field(default_factory=list)  # server namespaces, for the report

    @property
    def equal(self) -> bool:
        return not self.difference

    @property
    def proven(self) -> ProvenOrder:
        """What ``Migrator.up(allow_out_of_order=...)`` may rely on."""
        return ProvenOrder(frozenset(m.version for m in self.applied),
                           frozenset(m.version for m in self.late))

    def summary(self) -> str:
        late = ", ".join(m.label for m in self.late)
        if not self.late:
            return "no pending migration is out of order; nothing to prove"
        if self.equal:
            return (f"order does not matter: applying {late} after the {len(self.applied)} "
                    "applied migration(s) builds the same schema as version order")
        return (f"order matters: applying {late} after the {len(self.applied)} applied "
                "migration(s) does not build the schema that version order builds")

    def to_json(self) -> dict[str, object]:
        return {"ok": self.equal, "equal": self.equal,
                "applied": [m.version for m in self.applied],
                "out_of_order": [{"version": m.version, "name": m.name, "file": m.up.path}
                                 for m in self.late],
                "difference": self.difference or None, "compared": "schema",
                "scratch": self.scratch}


def prove_order(
    url: str, migrations_dir: Path, table: str, *, to: str | None = None,
    allow_modified: bool = False, variables: Mapping[str, Variable] | None = None,
) -> OrderProof:
    """Replay both orders on scratch spaces beside ``url`` and compare their schemas.

    :raises DriftError: an applied file is missing (or, without ``allow_modified``,
        changed): the replay could not be what the database ran.
    :raises MigrationFailed: an applied migration fails in the scratch space, so
        neither order can be built there.
    """
    m = Migrator(url, migrations_dir, table=table, variables=variables)
    applied, late = _split(m.status(), to, allow_modified)
    proof = OrderProof(applied, late)
    if not late:
        return proof
    everything = sorted([*applied, *late], key=lambda x: x.key)
    with scratch_beside(url, table) as space:
        proof.scratch.append(space.name)
        _replay(space, applied, m.variables, prefix=True)
        now = _built(space, late, m.variables, "after the applied ones")
    with scratch_beside(url, table) as space:
        proof.scratch.append(space.name)
        ordered = _built(space, everything, m.variables, "in version order")
    proof.scratch = [name for name in proof.scratch if name]
    if isinstance(now, str) or isinstance(ordered, str):
        proof.difference = "\n".join(x for x in (ordered, now) if isinstance(x, str))
    elif now != ordered:  # the model first; its lines, sorted by name, decide
        proof.difference = "\n".join(difflib.unified_diff(
            ordered.lines(), now.lines(), f"schema: {IN_ORDER}", f"schema: {NOW}",
            lineterm=""))
    return proof


def _split(
    entries: Sequence[Entry], to: str | None, allow_modified: bool
) -> tuple[list[Migration], list[Migration]]:
    """The applied migrations (their files), and the pending ones older than the newest."""
    if not allow_modified:
        check_drift(entries)
    missing = [e for e in entries if e.state == MISSING and not e.repeatable]
    if missing:
        raise DriftError(
            "cannot replay what the database ran: applied migrations' files are missing; "
            "nothing was run:\n" + "\n".join(f"  {e.version}_{e.name}" for e in missing)
            + "\n  hint: restore the files (git checkout)",
            [{"version": e.version, "file": None, "kind": MISSING} for e in missing])
    applied = [e.migration for e in entries
               if e.is_applied and not e.repeatable and e.migration is not None]
    newest = max((m.key for m in applied), default=None)
    late = [e.migration for e in pending_up_to(entries, to)
            if not e.repeatable and e.migration is not None
            and newest is not None and e.key < newest]
    return applied, late


def _built(
    space: ScratchSpace, migrations: list[Migration],
    variables: Mapping[str, Variable], where: str,
) -> Schema | str:
    """The schema after applying ``migrations``, or why one of them failed."""
    try:
        _replay(space, migrations, variables, prefix=False)
    except MigrationFailed as exc:
        i = exc.info
        return f"{i.version}_{i.name} fails {where}: {i.db_error}"
    return schema_of(space)


def _replay(
    space: ScratchSpace, migrations: list[Migration],
    variables: Mapping[str, Variable], *, prefix: bool,
) -> None:
    """Apply exactly these migrations, in this order, through the engine ``up`` uses.

    ``Migrator.up`` would pick its own set (every pending file up to a
    version); the proof needs the applied ones without the late ones.
    """
    from migrator.engine import run
    from migrator.prepared import prepare

    progress = Progress()
    with opened(space.url, space.table, readonly=False) as backend, backend.run_lock(0.0):
        backend.ensure_state_table()
        items = prepare(backend, [(m, UP) for m in migrations], progress, variables)
        try:
            for item in items:
                run(backend, item, progress)
        except MigrationFailed as exc:
            if not prefix:
                raise
            raise MigrationFailed(exc.info, "cannot prove the order: the applied migrations "
                                  "do not build in a scratch space, so nothing was compared:\n"
                                  + str(exc)) from exc
