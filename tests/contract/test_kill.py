"""kill -9 of a real ``migrator up`` in the middle of a statement, on every backend.

The database is left at a migration boundary (where DDL is transactional) or
with the journal naming the statement that was running (MySQL/MariaDB, then
``repair``), and the dead run's lock never blocks the next one.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from clihelp import MakeMigrations

from contract.backends import Backend, Db
from contract.kit import migrator, start_migrator


def test_kill_9_mid_run_leaves_no_lock_and_a_clear_state(
    backend: Backend, db: Db, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
        "2_slow.up.sql": "CREATE TABLE b (id INTEGER);\n" + db.sleep_sql(6) + "\n"
                         "CREATE TABLE c (id INTEGER);\n",
    })
    proc = start_migrator(db, d, "up", "-v")
    stderr = proc.stderr
    assert stderr is not None
    said: list[str] = []  # file 1 is reported applied only once it committed
    reader = threading.Thread(target=lambda: said.extend(iter(stderr.readline, "")),
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # another session's sleep must not count: file 1 must have committed first
        if any("applied 1_a" in line for line in said) and db.running(backend.sleep_fragment):
            break
        assert proc.poll() is None, said
        time.sleep(0.05)
    else:
        pytest.fail("the slow statement never started")
    time.sleep(0.3)  # inside statement 2 (SQLite cannot be watched from outside)
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert db.applied_versions() == ["1"]
    assert ("b" in db.tables()) == (not backend.atomic_ddl)  # atomic: never committed
    (d / "2_slow.up.sql").write_text("CREATE TABLE IF NOT EXISTS b (id INTEGER);\n"
                                     "CREATE TABLE c (id INTEGER);\n")
    again = migrator(db, d, "up", "--lock-timeout", "60")
    if backend.atomic_ddl:
        assert again.code == 0, again.stderr
    else:  # statement 1 committed; the journal says statement 2 was running
        assert again.code == 1
        assert "statement 2 of 3" in again.stderr and "repair" in again.stderr
        repaired = migrator(db, d, "repair", "2", "--rolled-back")
        assert repaired.code == 0, repaired.stderr
        again = migrator(db, d, "up", "--lock-timeout", "60")
        assert again.code == 0, again.stderr
    assert db.applied_versions() == ["1", "2"]
    assert {"b", "c"} <= db.tables()
