"""``migrator rehearse``: run ``up`` on a throw-away copy of the real database.

The copy comes from the backend's catalog (SQLite's backup API from a
read-only connection; a copied database on a server), so the real database
is only read, and the copy carries the real data: a NOT NULL column without
a default on a populated table, a UNIQUE index over duplicates, a slow
rebuild of a big table all show up here first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator, RunResult
from migrator.dba.spaces import opened
from migrator.errors import MigrationFailed
from migrator.placeholders import Variable
from migrator.progress import Progress


@dataclass(slots=True)
class Rehearsal:
    source: str  # the database copied, as reports name it (a password never shows)
    size_bytes: int
    copy_ms: int = 0
    total_ms: int = 0
    result: RunResult | None = None
    failure: MigrationFailed | None = None
    pending: list[str] = field(default_factory=list)  # labels the run was asked to apply
    copy: str = ""  # the copy's namespace on a server ("" for a temporary file)


def rehearse(
    url: str, migrations_dir: Path, table: str, progress: Progress, *,
    to: str | None = None, allow_modified: bool = False, allow_out_of_order: bool = False,
    variables: Mapping[str, Variable] | None = None,
) -> Rehearsal:
    """Copy, migrate the copy, drop it. MigratorErrors other than a failed file propagate."""
    with opened(url, table, readonly=True) as backend:
        source = _shown(url, backend.display_url)
        started = time.perf_counter()
        with backend.catalog().copy() as space:
            rehearsal = Rehearsal(source, space.size_bytes, copy=space.name)
            rehearsal.copy_ms = int((time.perf_counter() - started) * 1000)
            m = Migrator(space.url, migrations_dir, table=space.table, progress=progress,
                         variables=variables)
            items = m.plan_up(to=to, allow_modified=allow_modified,
                              allow_out_of_order=allow_out_of_order)
            rehearsal.pending = [i.migration.label for i in items]
            run_started = time.perf_counter()
            try:
                rehearsal.result = m.up(to=to, allow_modified=allow_modified,
                                        allow_out_of_order=allow_out_of_order)
            except MigrationFailed as exc:
                rehearsal.failure = exc
            rehearsal.total_ms = int((time.perf_counter() - run_started) * 1000)
    return rehearsal


def _shown(url: str, display_url: str) -> str:
    """A URL without a host (a database file) by its path; any other by its redacted URL."""
    _, sep, rest = url.partition(":///")
    return rest if sep and not any(c in rest for c in "@?#") else display_url
