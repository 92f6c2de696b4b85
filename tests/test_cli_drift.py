"""Exit 3 (drift, foreign bookkeeping tables) and exit 4 (lock held), through the CLI.

Every refusal is checked against a before/after dump: a refused run must
leave the database exactly as it found it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clihelp import (
    VERSIONS,
    applied,
    clean_env,
    dump,
    migration,
    no_traceback,
    run,
    tables,
    three,
)

A_UP = "migrations/20260101000000_create_a.up.sql"
B_UP = "migrations/20260102000000_create_b/up.sql"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    three(tmp_path)
    return tmp_path


@pytest.fixture
def migrated(proj: Path) -> Path:
    """All three applied, plus a fourth migration pending."""
    r = run(proj, "up")
    assert r.code == 0, r
    migration(proj, "20260104000000", "create_d", "CREATE TABLE d (x);\n", "DROP TABLE d;\n")
    return proj


# -- modified and missing files ---------------------------------------------------------


def test_modified_file_stops_up_and_changes_nothing(migrated: Path) -> None:
    db = migrated / "app.db"
    (migrated / A_UP).write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\n")
    before, before_bytes = dump(db), db.read_bytes()
    r = run(migrated, "up")
    assert r.code == 3, r
    no_traceback(r)
    assert A_UP in r.stderr and "--allow-modified" in r.stderr
    assert db.read_bytes() == before_bytes and dump(db) == before
    for cmd in (["up", "--dry-run"], ["down", "--all"]):
        r = run(migrated, *cmd)
        assert r.code == 3, (cmd, r)
        assert A_UP in r.stderr
        assert dump(db) == before
    s = run(migrated, "status")
    assert s.code == 0, s
    assert [ln.split()[2] for ln in s.stdout.splitlines()[1:]] == [
        "modified", "applied", "applied", "pending"]
    assert run(migrated, "status", "--exit-code").code == 3
    v = run(migrated, "verify")
    assert v.code == 3, v
    assert A_UP in v.stdout and "modified" in v.stdout
    # --allow-modified runs the pending one and leaves the modified one as it is
    r = run(migrated, "up", "--allow-modified")
    assert r.code == 0, r
    assert applied(db) == [*VERSIONS, "20260104000000"]
    assert "w" not in [c[1] for c in sqlite3.connect(db).execute("PRAGMA table_info(a)")]


def test_down_of_modified_file_needs_allow_modified(migrated: Path) -> None:
    db = migrated / "app.db"
    (migrated / "migrations/20260103000000_create_c.up.sql").write_text("CREATE TABLE c (y);\n")
    before = dump(db)
    r = run(migrated, "down")
    assert r.code == 3, r
    assert "20260103000000_create_c.up.sql" in r.stderr
    assert dump(db) == before
    r = run(migrated, "down", "--allow-modified")
    assert r.code == 0, r
    assert applied(db) == VERSIONS[:2]


def test_redo_picks_up_an_edited_newest_file(migrated: Path) -> None:
    """redo is the edit-and-rerun loop: the edited file is what runs, and is recorded."""
    db = migrated / "app.db"
    c_up = migrated / "migrations/20260103000000_create_c.up.sql"
    c_up.write_text("CREATE TABLE c (x TEXT, y TEXT);\n")
    assert run(migrated, "status", "--exit-code").code == 3
    r = run(migrated, "redo")
    assert r.code == 0, r
    cols = [c[1] for c in sqlite3.connect(db).execute("PRAGMA table_info(c)")]
    assert cols == ["x", "y"]
    assert run(migrated, "verify").code == 0
    assert run(migrated, "status", "--exit-code").code == 1  # d still pending


def test_missing_file_stops_up(migrated: Path) -> None:
    db = migrated / "app.db"
    for p in (migrated / B_UP).parent.iterdir():
        p.unlink()
    (migrated / B_UP).parent.rmdir()
    before_bytes = db.read_bytes()
    r = run(migrated, "up")
    assert r.code == 3, r
    assert "20260102000000_create_b" in r.stderr and "missing" in r.stderr
    assert db.read_bytes() == before_bytes
    s = run(migrated, "status", "--exit-code")
    assert s.code == 3, s
    assert s.stdout.splitlines()[2].split()[:3] == ["20260102000000", "create_b", "missing"]
    v = run(migrated, "verify")
    assert v.code == 3 and "missing" in v.stdout, v
    r = run(migrated, "down", "--steps", "2")  # c, then b whose file is gone
    assert r.code == 3, r
    assert db.read_bytes() == before_bytes
    r = run(migrated, "up", "--allow-modified")
    assert r.code == 0, r
    assert "d" in tables(db)


@pytest.mark.parametrize("change", ["crlf", "bom", "both"])
def test_line_ending_or_bom_change_is_not_drift(migrated: Path, change: str) -> None:
    db = migrated / "app.db"
    path = migrated / A_UP
    raw = path.read_bytes()
    recorded = hashlib.sha256(raw).hexdigest()
    if change in ("crlf", "both"):
        raw = raw.replace(b"\n", b"\r\n")
    if change in ("bom", "both"):
        raw = b"\xef\xbb\xbf" + raw
    path.write_bytes(raw)
    v = run(migrated, "verify")
    assert v.code == 0, v
    assert A_UP in v.stdout  # mentioned, not counted
    assert "line ending" in v.stdout.lower() or "bom" in v.stdout.lower(), v.stdout
    doc = run(migrated, "verify", "--json").json()
    assert doc["ok"] is True and doc["problems"] == []
    s = run(migrated, "status", "--exit-code")
    assert s.code == 1, s  # only the pending one
    assert s.stdout.splitlines()[1].split()[2] == "applied"
    r = run(migrated, "up")
    assert r.code == 0, r
    assert applied(db)[-1] == "20260104000000"
    # the recorded checksum is still the one that ran
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT checksum FROM schema_migrations WHERE version = ?",
                        (VERSIONS[0],)).fetchone() == (recorded,)
    conn.close()


def test_checksum_is_sha256_of_raw_bytes(migrated: Path) -> None:
    raw = (migrated / B_UP).read_bytes()
    conn = sqlite3.connect(migrated / "app.db")
    row = conn.execute("SELECT name, checksum FROM schema_migrations WHERE version = ?",
                       (VERSIONS[1],)).fetchone()
    conn.close()
    assert row == ("create_b", hashlib.sha256(raw).hexdigest())


# -- out of order -------------------------------------------------------------------------


def test_out_of_order_is_refused_unless_allowed(proj: Path) -> None:
    db = proj / "app.db"
    late = proj / "migrations/20260102000000_create_b"
    hidden = proj / "hidden_b"
    late.rename(hidden)
    assert run(proj, "up").code == 0
    hidden.rename(late)
    before = db.read_bytes()
    r = run(proj, "up")
    assert r.code == 3, r
    no_traceback(r)
    assert B_UP in r.stderr and "--allow-out-of-order" in r.stderr
    assert db.read_bytes() == before
    assert run(proj, "up", "--dry-run").code == 3
    r = run(proj, "status", "--exit-code")
    assert r.code == 3, r
    assert "out of order" in r.stdout
    r = run(proj, "up", "--allow-out-of-order")
    assert r.code == 0, r
    assert applied(db) == VERSIONS
    assert "b" in tables(db)


# -- foreign bookkeeping tables ---------------------------------------------------------


@pytest.mark.parametrize(("ddl", "rows", "tool"), [
    ("CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY)",
     [("20260101000000",)], "dbmate"),
    ("CREATE TABLE schema_migrations (version uint64 NOT NULL PRIMARY KEY, dirty bool NOT NULL)",
     [(20260101000000, 0)], "golang-migrate"),
])
def test_foreign_bookkeeping_table_is_never_touched(
    proj: Path, ddl: str, rows: list[tuple[object, ...]], tool: str
) -> None:
    db = proj / "app.db"
    conn = sqlite3.connect(db)
    conn.execute(ddl)
    marks = ", ".join("?" * len(rows[0]))
    conn.executemany(f"INSERT INTO schema_migrations VALUES ({marks})", rows)
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)")
    conn.commit()
    conn.close()
    before, before_bytes = dump(db), db.read_bytes()
    for cmd in (["up"], ["status"], ["verify"], ["down"], ["baseline", VERSIONS[0]],
                ["up", "--dry-run"]):
        r = run(proj, *cmd)
        assert r.code == 3, (cmd, r)
        no_traceback(r)
        assert tool in r.stderr, r.stderr
        assert "--migrations-table" in r.stderr and "baseline" in r.stderr  # how to adopt
        assert db.read_bytes() == before_bytes and dump(db) == before
    # adopting as the message says: own table, baseline, then up
    r = run(proj, "--migrations-table", "migrator_versions", "baseline", VERSIONS[0])
    assert r.code == 0, r
    r = run(proj, "--migrations-table", "migrator_versions", "up")
    assert r.code == 0, r
    assert applied(db, "migrator_versions") == VERSIONS
    assert dump(db)["data"]["schema_migrations"] == before["data"]["schema_migrations"]


# -- the lock ------------------------------------------------------------------------------

HOLD = """
import sys
import time
from pathlib import Path
from migrator.lock import file_lock
with file_lock(Path(sys.argv[1]), 0, "test"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder(migrated: Path) -> Iterator[subprocess.Popen[str]]:
    """A live process holding the migrator lock on app.db until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(migrated / "app.db.migrator-lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env())
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


def test_lock_held_exits_4_naming_the_holder(migrated: Path,
                                              holder: subprocess.Popen[str]) -> None:
    db = migrated / "app.db"
    before = db.read_bytes()
    for cmd in (["up"], ["down"], ["redo"], ["baseline", "20260104000000"],
                ["--lock-timeout", "0.3", "up"]):
        r = run(migrated, *cmd)
        assert r.code == 4, (cmd, r)
        no_traceback(r)
        assert f"pid {holder.pid}" in r.stderr, r.stderr
        assert "--lock-timeout" in r.stderr
        assert db.read_bytes() == before
    r = run(migrated, "up", env=clean_env(MIGRATOR_LOCK_TIMEOUT="0.3"))
    assert r.code == 4 and "0.3" in r.stderr, r
    # reading needs no lock
    assert run(migrated, "status").code == 0
    assert run(migrated, "verify").code == 0
    assert run(migrated, "up", "--dry-run").code == 0
    # unlock refuses to remove a live lock
    r = run(migrated, "unlock")
    assert r.code == 4, r
    assert (migrated / "app.db.migrator-lock").exists()
    _release(holder)
    r = run(migrated, "up")
    assert r.code == 0, r
    assert applied(db)[-1] == "20260104000000"


def test_waiting_for_the_lock_then_running(migrated: Path,
                                           holder: subprocess.Popen[str]) -> None:
    waiter = subprocess.Popen(
        [sys.executable, "-m", "migrator", "-u", "sqlite:///app.db", "--lock-timeout", "60",
         "up"], cwd=migrated, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        _release(holder)
        _, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, err
    assert applied(migrated / "app.db")[-1] == "20260104000000"


def test_kill_9_of_holder_frees_the_lock(migrated: Path,
                                         holder: subprocess.Popen[str]) -> None:
    assert run(migrated, "up").code == 4
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    r = run(migrated, "up")
    assert r.code == 0, r


def test_brief_write_by_an_application_does_not_fail_the_run(migrated: Path) -> None:
    """SQLite's busy wait is not the lock timeout: a short write transaction is waited out."""
    app = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); c.execute(\"INSERT INTO a (v) VALUES ('app')\")\n"
         "print('busy', flush=True); time.sleep(1.0); c.execute('COMMIT')\n",
         str(migrated / "app.db")], stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None and app.stdout.readline() == "busy\n"
        r = run(migrated, "up")
    finally:
        app.wait(timeout=30)
    assert r.code == 0, r
    assert "d" in tables(migrated / "app.db")


def test_running_migrator_holds_the_lock(migrated: Path) -> None:
    """A migrator in the middle of its run (here: waiting on a busy database) locks out others."""
    db = migrated / "app.db"
    app = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\n"
         "print('busy', flush=True); sys.stdin.read(); c.execute('COMMIT')\n", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    first = None
    try:
        assert app.stdout is not None and app.stdout.readline() == "busy\n"
        first = subprocess.Popen(
            [sys.executable, "-m", "migrator", "-u", "sqlite:///app.db", "--lock-timeout", "30",
             "up"], cwd=migrated,
            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = migrated / "app.db.migrator-lock"
        deadline = time.monotonic() + 30
        while f"pid {first.pid}" not in (lock.read_text() if lock.exists() else ""):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = run(migrated, "up")
        assert second.code == 4, second
        assert f"pid {first.pid}" in second.stderr
        assert app.stdin is not None
        app.stdin.close()
        app.wait(timeout=30)
        _, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
    finally:
        for proc in (app, first):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    assert applied(db)[-1] == "20260104000000"
