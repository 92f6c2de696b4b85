"""The run lock (``<db>.migrator-lock``) and the database's own busy wait.

The lock is an OS file lock, so it dies with its holder: a kill -9 must
never leave a lock that blocks the next deploy. The holder in these tests is
a real ``migrator up`` parked inside a migration whose statement waits on a
second database that another process keeps busy.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

from migrator import Migrator


@pytest.fixture
def gated(tmp_path: Path) -> tuple[Path, Path, Path]:
    gate = tmp_path / "gate.db"
    migrations = h.gated_migrations(tmp_path / "migrations", gate)
    return tmp_path / "app.db", migrations, gate


def timed(db: Path, migrations: Path, *args: str) -> tuple[h.Result, float]:
    started = time.monotonic()
    result = h.run_cli(db, migrations, *args)
    return result, time.monotonic() - started


def test_kill9_releases_the_lock_next_run_proceeds_at_once(
    gated: tuple[Path, Path, Path]
) -> None:
    db, migrations, gate = gated
    with h.WriteHolder(gate) as gatekeeper:
        holder = h.start_lock_holder(db, migrations)
        h.kill9(holder)
        gatekeeper.release()
    assert h.lock_path(db).exists()  # the file is left behind; its flock is not

    result = h.run_cli(db, migrations, "up")  # --lock-timeout 0: no waiting at all

    assert result.code == 0, result.stderr
    assert h.applied_versions(db) == ["001", "002"]
    assert h.integrity_ok(db)


def test_lock_timeout_waits_then_exits_4(gated: tuple[Path, Path, Path]) -> None:
    db, migrations, gate = gated
    with h.WriteHolder(gate) as gatekeeper:
        holder = h.start_lock_holder(db, migrations)

        result, elapsed = timed(db, migrations, "up", "--lock-timeout", "2")

        assert result.code == 4, result.stderr
        assert elapsed >= 2.0
        assert f"pid {holder.pid}" in result.stderr
        assert "after waiting 2s" in result.stderr
        assert "Traceback" not in result.stderr
        assert holder.poll() is None
        gatekeeper.release()
        holder.communicate(timeout=h.TIMEOUT)
    assert holder.returncode == 0
    assert h.applied_versions(db) == ["001", "002"]


def test_lock_timeout_from_the_environment(gated: tuple[Path, Path, Path]) -> None:
    db, migrations, gate = gated
    with h.WriteHolder(gate) as gatekeeper:
        holder = h.start_lock_holder(db, migrations)
        env = {**h.clean_env(), "MIGRATOR_LOCK_TIMEOUT": "1.5"}
        started = time.monotonic()
        result = subprocess.run(h.cli_cmd(db, migrations, "up"), env=env, capture_output=True,
                                text=True, timeout=h.TIMEOUT, check=False)
        assert result.returncode == 4, result.stderr
        assert time.monotonic() - started >= 1.5
        gatekeeper.release()
        holder.communicate(timeout=h.TIMEOUT)


def test_unlock_refuses_a_live_holder_and_removes_a_left_over_file(
    gated: tuple[Path, Path, Path]
) -> None:
    db, migrations, gate = gated
    lock = h.lock_path(db)
    with h.WriteHolder(gate) as gatekeeper:
        holder = h.start_lock_holder(db, migrations)

        refused = h.run_cli(db, migrations, "unlock")

        assert refused.code == 4, refused.stderr
        assert f"pid {holder.pid}" in refused.stderr
        assert lock.exists()
        assert holder.poll() is None  # the holder carries on undisturbed
        h.kill9(holder)
        gatekeeper.release()

    removed = h.run_cli(db, migrations, "unlock")
    assert removed.code == 0, removed.stderr
    assert not lock.exists()
    again = h.run_cli(db, migrations, "unlock")
    assert again.code == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert h.run_cli(db, migrations, "up").code == 0
    assert h.applied_versions(db) == ["001", "002"]


@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_symlink_at_the_lock_path_is_not_followed(tmp_path: Path, dangling: bool) -> None:
    migrations = h.write_files(tmp_path / "migrations",
                               {"001_first.up.sql": "CREATE TABLE first(x);\n"})
    db = tmp_path / "app.db"
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_text("precious\n")
    os.symlink(victim, h.lock_path(db))

    result = h.run_cli(db, migrations, "up")

    assert result.code == 2, result.stderr
    assert "symbolic link" in result.stderr
    assert "Traceback" not in result.stderr
    if dangling:
        assert not victim.exists()
    else:
        assert victim.read_text() == "precious\n"
    assert not db.exists() or h.applied_versions(db) == []

    removed = h.run_cli(db, migrations, "unlock")
    assert removed.code == 0, removed.stderr
    assert not os.path.lexists(h.lock_path(db))
    assert dangling or victim.read_text() == "precious\n"
    assert h.run_cli(db, migrations, "up").code == 0


# -- a busy database: another connection holds a write transaction ---------------------


@pytest.fixture
def busy_project(tmp_path: Path) -> tuple[Path, Path]:
    migrations = h.write_files(tmp_path / "migrations", {
        "001_first.up.sql": "CREATE TABLE first(x);\nINSERT INTO first VALUES (1);\n",
    })
    db = tmp_path / "app.db"
    Migrator(f"sqlite:///{db}", migrations).up()
    h.write_files(migrations, {"002_second.up.sql": "CREATE TABLE second(x);\n"})
    return db, migrations


def test_busy_database_waits_at_least_5s_then_exits_4(busy_project: tuple[Path, Path]) -> None:
    db, migrations = busy_project
    before = h.snapshot(db)
    with h.WriteHolder(db):
        result, elapsed = timed(db, migrations, "up")
        assert h.snapshot(db) == before
    assert result.code == 4, result.stderr
    assert elapsed >= 5.0
    assert re.search(r"database .*app\.db is busy", result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert h.snapshot(db) == before


def test_busy_wait_is_at_least_the_lock_timeout(busy_project: tuple[Path, Path]) -> None:
    db, migrations = busy_project
    before = h.snapshot(db)
    with h.WriteHolder(db):
        result, elapsed = timed(db, migrations, "up", "--lock-timeout", "6.5")
    assert result.code == 4, result.stderr
    assert elapsed >= 6.5
    assert "is busy" in result.stderr
    assert h.snapshot(db) == before


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_busy_database_released_in_time_succeeds(
    busy_project: tuple[Path, Path], journal_mode: str
) -> None:
    db, migrations = busy_project
    with h.WriteHolder(db, journal_mode) as holder:
        started = time.monotonic()
        proc = h.spawn_cli(db, migrations, "up")  # default: busy wait of at least 5 s
        time.sleep(1.5)
        assert proc.poll() is None  # waiting, not failed
        holder.release()
        _, err = proc.communicate(timeout=h.TIMEOUT)
    assert proc.returncode == 0, err
    assert time.monotonic() - started >= 1.5
    assert h.applied_versions(db) == ["001", "002"]
    conn = h.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == (journal_mode,)
    conn.close()
