"""Ctrl-C and SIGTERM (a deploy's timeout, ``docker stop``) during a migration.

The signal is handled between statements: the current file is rolled back,
the lock is released, the exit code is 130/143, and stderr ends in a single
line saying so, never a traceback.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

SLOW_STATEMENTS = 80  # ~50 ms each: far longer than it takes to deliver the signal
FIRST = {"001_first.up.sql": "CREATE TABLE first(x);\nINSERT INTO first VALUES (1);\n"}


def slow_file() -> str:
    burns = "".join(f"{h.burn(250_000)};\nINSERT INTO second VALUES ({i});\n"
                    for i in range(SLOW_STATEMENTS // 2))
    return "CREATE TABLE second(x);\n" + burns


def lock_is_free(db: Path) -> bool:
    fd = os.open(h.lock_path(db), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def assert_one_line_message(err: str, name: str) -> None:
    assert "Traceback" not in err, err
    lines = h.stderr_lines(err)
    errors = h.error_lines(err)
    assert len(errors) == 1, err
    assert lines[-1] == errors[0]
    assert f"interrupted by {name}" in errors[0]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_during_a_migration_rolls_it_back(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    migrations = h.write_files(tmp_path / "migrations",
                               {**FIRST, "002_slow.up.sql": slow_file()})
    db = tmp_path / "app.db"

    proc = h.spawn_cli(db, migrations, "up")
    h.wait_for(lambda: proc.poll() is not None or (db.exists() and
                                                   "001" in h.applied_versions(db)),
               what="001 to commit")
    time.sleep(0.3)  # well inside 002
    assert proc.poll() is None
    os.kill(proc.pid, signum)
    _, err = proc.communicate(timeout=h.TIMEOUT)

    assert proc.returncode == code, err
    assert_one_line_message(err, signum.name)
    assert "rolled back" in h.error_lines(err)[0]
    assert h.applied_versions(db) == ["001"]
    assert set(h.user_tables(db)) == {"first", "schema_migrations"}  # 'second' rolled back
    assert h.integrity_ok(db)
    assert lock_is_free(db)

    h.write_files(migrations, {"002_slow.up.sql": "CREATE TABLE second(x);\n"})
    rerun = h.run_cli(db, migrations, "up")  # --lock-timeout 0: the lock must be free
    assert rerun.code == 0, rerun.stderr
    assert h.applied_versions(db) == ["001", "002"]


def test_sigterm_while_waiting_for_the_lock(tmp_path: Path) -> None:
    gate = tmp_path / "gate.db"
    migrations = h.gated_migrations(tmp_path / "migrations", gate)
    db = tmp_path / "app.db"
    with h.WriteHolder(gate) as gatekeeper:
        holder = h.start_lock_holder(db, migrations)
        waiter = h.spawn_cli(db, migrations, "up", "--lock-timeout", "120")
        h.wait_until_handling_signals(waiter)
        time.sleep(1.0)  # now polling for the lock
        assert waiter.poll() is None
        os.kill(waiter.pid, signal.SIGTERM)
        _, err = waiter.communicate(timeout=h.TIMEOUT)
        assert waiter.returncode == 143, err
        assert_one_line_message(err, "SIGTERM")
        assert holder.poll() is None  # the holder is not disturbed
        gatekeeper.release()
        holder.communicate(timeout=h.TIMEOUT)
    assert holder.returncode == 0
    assert h.applied_versions(db) == ["001", "002"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_during_the_busy_wait_is_not_held_back(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    """Ctrl-C must work while migrator waits (up to --lock-timeout) for a busy database."""
    migrations = h.write_files(tmp_path / "migrations", FIRST)
    db = tmp_path / "app.db"
    h.run_cli(db, migrations, "up")
    h.write_files(migrations, {"002_second.up.sql": "CREATE TABLE second(x);\n"})
    before = h.snapshot(db)
    with h.WriteHolder(db):
        proc = h.spawn_cli(db, migrations, "up", "--lock-timeout", "120")
        h.wait_for(lambda: proc.poll() is not None or h.lock_written(db),
                   what="the run lock (taken after the signal handlers are in place)")
        time.sleep(1.0)  # now inside the busy wait for BEGIN IMMEDIATE
        assert proc.poll() is None
        sent = time.monotonic()
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=h.TIMEOUT)
        waited = time.monotonic() - sent
    assert proc.returncode == code, err
    assert waited < 30, f"the signal was handled only after {waited:.0f}s"
    assert_one_line_message(err, signum.name)
    assert h.snapshot(db) == before
    assert lock_is_free(db)
