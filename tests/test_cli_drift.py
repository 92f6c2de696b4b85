"""Exit 3 (drift, foreign bookkeeping tables) and exit 4 (lock held), through the CLI.

Modified, missing and out-of-order files and the run lock are checked on
every backend in tests/contract; what is left here is SQLite's own.

Every refusal is checked against a before/after dump: a refused run must
leave the database exactly as it found it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
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


# -- drift (modified, missing and out-of-order files: tests/contract/test_drift.py) --------


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
        assert f"migrator adopt --from {tool}" in r.stderr  # how to adopt, in place
        assert db.read_bytes() == before_bytes and dump(db) == before
    # the other way, which still works: a table of migrator's own, baseline, then up
    r = run(proj, "--migrations-table", "migrator_versions", "baseline", VERSIONS[0])
    assert r.code == 0, r
    r = run(proj, "--migrations-table", "migrator_versions", "up")
    assert r.code == 0, r
    assert applied(db, "migrator_versions") == VERSIONS
    assert dump(db)["data"]["schema_migrations"] == before["data"]["schema_migrations"]


# -- the database's own busy wait (the run lock's contract is in tests/contract) -----------


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
