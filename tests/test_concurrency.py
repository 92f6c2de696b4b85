"""Several ``migrator up`` processes on one database: each migration runs once.

Flyway's concurrent-migration test, with processes instead of threads
(SQLite locks are per process): eight runners start together, all succeed,
every migration and its seed rows exist exactly once, and a final run has
nothing to do. Without --lock-timeout the losers exit 4 naming the holder.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

PROCESSES = 8
FILES = 8
BURN_ROWS = 400_000  # ~80 ms per file: the runs overlap even on a fast machine


def seeded_migrations(directory: Path) -> Path:
    files = {
        "001_seed_table.up.sql": (
            "CREATE TABLE seed(migration INTEGER NOT NULL, n INTEGER NOT NULL);\n"
            "INSERT INTO seed VALUES (1, 1);\n"
        ),
    }
    for i in range(2, FILES + 1):
        files[f"{i:03d}_step{i}.up.sql"] = (
            f"CREATE TABLE t{i}(x);\n"
            f"{h.burn(BURN_ROWS)};\n"
            f"INSERT INTO seed VALUES ({i}, 1), ({i}, 2);\n"
            "UPDATE seed SET n = n + 10 WHERE migration = 1;\n"  # counts every application
        )
    return h.write_files(directory, files)


@pytest.mark.parametrize("journal_mode", ["delete", "wal", "no-file-yet"])
def test_parallel_runners_apply_each_migration_exactly_once(
    tmp_path: Path, journal_mode: str
) -> None:
    migrations = seeded_migrations(tmp_path / "migrations")
    db = tmp_path / "app.db"
    if journal_mode == "no-file-yet":
        journal_mode = "delete"  # all eight race to create the file
    else:
        h.make_db(db, journal_mode)

    procs = [h.spawn_cli(db, migrations, "--json", "up", "--lock-timeout", "60")
             for _ in range(PROCESSES)]
    results = [(p, *p.communicate(timeout=h.TIMEOUT)) for p in procs]

    for proc, _, err in results:
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    applied_by_run = [h.versions_in(json.loads(out)["applied"]) for _, out, _ in results]
    every = sorted(v for versions in applied_by_run for v in versions)
    expected = [f"{i:03d}" for i in range(1, FILES + 1)]
    assert every == expected, applied_by_run  # each version applied by exactly one process
    assert h.applied_versions(db) == expected  # primary key: unique rows
    seed = h.snapshot(db)["data"]["seed"]
    assert seed.count((1, 1 + 10 * (FILES - 1))) == 1  # the UPDATEs ran once each
    for i in range(2, FILES + 1):
        assert seed.count((i, 1)) == 1 and seed.count((i, 2)) == 1
    assert len(seed) == 1 + 2 * (FILES - 1)
    with h.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == (journal_mode,)
    conn.close()
    assert h.integrity_ok(db)

    final = h.run_cli(db, migrations, "--json", "up")
    assert final.code == 0, final.stderr
    assert json.loads(final.stdout)["applied"] == []


def test_without_timeout_the_others_exit_4_naming_the_holder(tmp_path: Path) -> None:
    """The holder sits inside a migration whose statement waits on another database."""
    gate = tmp_path / "gate.db"
    migrations = h.gated_migrations(tmp_path / "migrations", gate)
    db = tmp_path / "app.db"
    with h.WriteHolder(gate) as gatekeeper:
        holder = h.start_lock_holder(db, migrations)

        others = [h.spawn_cli(db, migrations, "up") for _ in range(PROCESSES - 1)]
        outcomes = [(p, *p.communicate(timeout=h.TIMEOUT)) for p in others]

        assert holder.poll() is None  # still inside its migration
        for proc, _, err in outcomes:
            assert proc.returncode == 4, err
            assert "Traceback" not in err
            assert f"host {socket.gethostname()}" in err
            assert f"pid {holder.pid}" in err
            assert re.search(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", err), err
        assert h.applied_versions(db) == ["001"]

        gatekeeper.release()
        _, err = holder.communicate(timeout=h.TIMEOUT)
    assert holder.returncode == 0, err
    assert h.applied_versions(db) == ["001", "002"]
    assert set(h.user_tables(db)) == {"first", "second", "schema_migrations"}


def test_removed_lock_file_cannot_make_a_migration_run_twice(tmp_path: Path) -> None:
    """Someone deletes the lock file under a running migrator, and a second one starts.

    Both then hold a lock (on different inodes); what keeps 002 from running
    twice is that each migration's transaction re-reads the applied set.
    """
    gate = tmp_path / "gate.db"
    migrations = h.gated_migrations(tmp_path / "migrations", gate)
    db = tmp_path / "app.db"
    with h.WriteHolder(gate) as gatekeeper:
        first = h.start_lock_holder(db, migrations)
        h.lock_path(db).unlink()
        second = h.spawn_cli(db, migrations, "--json", "up", "--lock-timeout", "120")
        h.wait_for(lambda: second.poll() is not None or h.lock_written(db),
                   what="the second runner to take the new lock file")
        time.sleep(0.5)  # let it reach 002's BEGIN IMMEDIATE, where it waits
        gatekeeper.release()
        _, err1 = first.communicate(timeout=h.TIMEOUT)
        out2, err2 = second.communicate(timeout=h.TIMEOUT)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert json.loads(out2)["applied"] == []
    assert h.applied_versions(db) == ["001", "002"]
    assert h.snapshot(gate)["data"]["passed"] == [(1,)]  # 002's INSERT ran once


def _new_after_barrier(directory: str, name: str, barrier: Any, out: Any) -> None:
    from migrator.scaffold import new_migration

    barrier.wait()
    try:
        out.put(new_migration(Path(directory), name)[0].name)
    except Exception as exc:  # reported to the parent instead of hanging it
        out.put(f"error: {exc!r}")


def test_simultaneous_new_calls_get_distinct_versions(tmp_path: Path) -> None:
    # All eight choose their version in the same instant: without the
    # directory lock several pick the same second under different names.
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_new_after_barrier, args=(str(tmp_path), f"n{i}", barrier, out))
             for i in range(PROCESSES)]
    for p in procs:
        p.start()
    names = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    versions = [name.split("_", 1)[0] for name in names]
    assert len(set(versions)) == PROCESSES, sorted(names)
    assert len(list(tmp_path.iterdir())) == 2 * PROCESSES
