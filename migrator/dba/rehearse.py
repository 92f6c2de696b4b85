"""``migrator rehearse``: run ``up`` on a throw-away copy of the real database.

The copy is made with SQLite's backup API from a read-only connection, so
the real file is never opened for writing, and the copy carries the real
data: a NOT NULL column without a default on a populated table, a UNIQUE
index over duplicates, a slow rebuild of a big table all show up here first.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator, RunResult
from migrator.dba.serverscratch import is_server_url
from migrator.dba.sqlitefile import copy_database, database_file
from migrator.errors import ConfigError, MigrationFailed
from migrator.progress import Progress


@dataclass(slots=True)
class Rehearsal:
    source: Path
    size_bytes: int
    copy_ms: int = 0
    total_ms: int = 0
    result: RunResult | None = None
    failure: MigrationFailed | None = None
    pending: list[str] = field(default_factory=list)  # labels the run was asked to apply


def rehearse(
    url: str, migrations_dir: Path, table: str, progress: Progress, *,
    to: str | None = None, allow_modified: bool = False, allow_out_of_order: bool = False,
) -> Rehearsal:
    """Copy, migrate the copy, delete it. MigratorErrors other than a failed file propagate."""
    if is_server_url(url):
        # A faithful copy of a server schema (data, sequences, grants, dependencies
        # across schemas) is a pg_dump/mysqldump job, not something to half-do here.
        raise ConfigError(
            "'migrator rehearse' copies SQLite databases only; on PostgreSQL or MySQL/MariaDB "
            "run 'migrator test' (every migration up, down and up again in a scratch schema "
            "or database on this server) or run 'migrator up' on a staging copy of the "
            "database restored from a recent backup"
        )
    source = database_file(url)
    rehearsal = Rehearsal(source, source.stat().st_size)
    with tempfile.TemporaryDirectory(prefix="migrator-rehearse-") as scratch:
        copy = Path(scratch) / source.name
        started = time.perf_counter()
        copy_database(source, copy)
        rehearsal.copy_ms = int((time.perf_counter() - started) * 1000)
        m = Migrator(f"sqlite:///{copy}", migrations_dir, table=table, progress=progress)
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
