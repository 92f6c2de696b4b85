"""``migrator drift``: the live schema against the one its applied migrations build.

The applied versions come from the database's own bookkeeping table; their
files (only those, skipping pending ones between them) are replayed on a
scratch space of the database's dialect. Where the two models differ, the
dialect's differ says both ways out: SQL that brings the live database
back, and SQL that keeps the live change as the next migration. The live
database is only read. This finds the hand-made hotfix nobody wrote down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends import dialect_of_url
from migrator.dba.spaces import opened
from migrator.diff.dialects import differ
from migrator.diff.model import Renames, Script
from migrator.diff.proof import difference
from migrator.diff.render import render
from migrator.diff.sources import from_migrations
from migrator.placeholders import Variable


@dataclass(slots=True)
class DriftReport:
    applied: list[str]
    difference: list[str] = field(default_factory=list)  # unified diff, expected -> live
    back: Script = field(default_factory=Script)  # live -> expected
    keep: Script = field(default_factory=Script)  # expected -> live
    back_text: str = ""
    keep_text: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.difference)


def drift(url: str, migrations_dir: Path, table: str,
          variables: Mapping[str, Variable] | None = None) -> DriftReport:
    d = differ(dialect_of_url(url))
    with opened(url, table, readonly=True) as backend:
        catalog = backend.catalog()
        live = catalog.schema()
        applied = [row.version for row in backend.applied()]
    with from_migrations(url, migrations_dir, table, variables, set(applied)) as built:
        expected = built.schema
    report = DriftReport(applied)
    want, got = d.comparable(expected), d.comparable(live)
    if want == got:
        return report
    report.difference = difference(want, got, "applied migrations", "live database")
    report.back = d.script(live, expected, Renames())
    report.keep = d.script(expected, live, Renames())
    report.back_text = render(report.back, "'migrator drift': back to what the applied "
                                                "migrations build")
    report.keep_text = render(report.keep, "'migrator drift': the live change kept as a "
                                                "migration")
    return report
