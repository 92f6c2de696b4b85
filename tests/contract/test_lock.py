"""The run lock on every backend, held by a real second process.

A second run exits 4 naming the holder, ``--lock-timeout`` waits, reading
commands need no lock, and the lock dies with its holder (kill -9 included).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest
from clihelp import MakeMigrations, clean_env, finish

from contract.backends import Backend, Db
from contract.kit import D, LockHolder, fourth, migrator, no_traceback, start_migrator, three


@pytest.fixture
def migrated(db: Db, tmp_path: Path) -> Path:
    """``three`` applied, a fourth migration pending; the migrations directory."""
    d = three(tmp_path)
    assert migrator(db, d, "up").code == 0
    fourth(tmp_path)
    return d


def test_lock_held_exits_4_naming_the_holder(backend: Backend, db: Db, migrated: Path) -> None:
    before = db.snapshot()
    with LockHolder(db, migrated) as holder:
        for cmd in (["up"], ["down"], ["redo"], ["baseline", D],
                    ["--lock-timeout", "0.3", "up"]):
            r = migrator(db, migrated, *cmd)
            assert r.code == 4, (cmd, r)
            no_traceback(r)
            assert any(words in r.stderr for words in backend.held_words), r.stderr
            assert f"pid {holder.pid}" in r.stderr, r.stderr
            assert socket.gethostname() in r.stderr  # which machine, and since when
            assert re.search(r"since \d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d", r.stderr), r.stderr
            assert "--lock-timeout" in r.stderr
            if backend.reads_while_locked:  # DuckDB: the file cannot be looked into now
                assert db.snapshot() == before
        r = migrator(db, migrated, "up", env=clean_env(MIGRATOR_LOCK_TIMEOUT="0.3"))
        assert r.code == 4 and backend.waited_words(0.3) in r.stderr, r
        # reading needs no lock (DuckDB: no second process may open the file meanwhile)
        for cmd in (["status"], ["verify"], ["up", "--dry-run"]):
            r = migrator(db, migrated, *cmd)
            assert r.code == (0 if backend.reads_while_locked else 4), (cmd, r)
        # unlock never removes a live lock
        r = migrator(db, migrated, "unlock")
        assert r.code == backend.unlock_live_exit, r
        assert f"pid {holder.pid}" in r.stdout + r.stderr
        lock = db.lock_file()
        assert lock is None or lock.exists()
        assert migrator(db, migrated, "up").code == 4  # still held
        holder.release()
    assert db.snapshot() == before
    r = migrator(db, migrated, "up")
    assert r.code == 0, r
    assert db.applied_versions()[-1] == D


def test_lock_held_json(db: Db, migrated: Path) -> None:
    with LockHolder(db, migrated) as holder:
        for cmd in (["up"], ["down"]):
            r = migrator(db, migrated, "--json", *cmd)
            assert r.code == 4, r
            assert f"pid {holder.pid}" in r.json()["error"]["message"]


def test_lock_timeout_waits_then_exits_4(backend: Backend, db: Db, migrated: Path) -> None:
    with LockHolder(db, migrated) as holder:
        started = time.monotonic()
        r = migrator(db, migrated, "up", "--lock-timeout", "2")
        assert r.code == 4, r
        assert time.monotonic() - started >= 2.0
        assert f"pid {holder.pid}" in r.stderr
        assert backend.waited_words(2) in r.stderr
        no_traceback(r)
        assert holder.proc.poll() is None
    assert db.applied_versions()[-1] == "20260103000000"


def test_waiting_for_the_lock_then_running(db: Db, migrated: Path) -> None:
    with LockHolder(db, migrated) as holder:
        waiter = start_migrator(db, migrated, "--lock-timeout", "60", "up")
        try:
            time.sleep(0.5)
            assert waiter.poll() is None  # waiting, not failed
            holder.release()
            r = finish(waiter, timeout=60)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.communicate()
    assert r.code == 0, r
    assert db.applied_versions()[-1] == D


def test_kill_9_of_holder_frees_the_lock(db: Db, migrated: Path) -> None:
    with LockHolder(db, migrated) as holder:
        assert migrator(db, migrated, "up").code == 4
        os.kill(holder.pid, signal.SIGKILL)
        holder.proc.wait(timeout=30)
        r = migrator(db, migrated, "up", "--lock-timeout", "10")
        assert r.code == 0, r
    assert db.applied_versions()[-1] == D


def test_concurrent_processes_apply_each_migration_once(
    db: Db, make_migrations: MakeMigrations
) -> None:
    files = {f"{i:03d}_m{i}.up.sql": f"CREATE TABLE t{i} (id INTEGER);\n"
                                     f"INSERT INTO t{i} VALUES ({i});\n" for i in range(1, 7)}
    d = make_migrations(files)
    procs = [start_migrator(db, d, "up", "--lock-timeout", "120") for _ in range(5)]
    outcomes = [finish(p) for p in procs]
    for r in outcomes:
        assert r.code == 0, r
    assert db.applied_versions() == [f"{i:03d}" for i in range(1, 7)]
    for i in range(1, 7):
        assert db.rows(f"t{i}") == [(i,)]
    assert migrator(db, d, "up", "--json").json()["applied"] == []
