"""An error raised by COMMIT itself is a migration failure, not a traceback.

A deferred foreign key is checked only at COMMIT, and a full disk (here a
file-size limit) shows when COMMIT writes the pages out: the file is named,
the report says the COMMIT failed, gives the database's own message, and
the file was rolled back as a whole; ``--json`` still prints one document.
"""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

from clihelp import Result, applied, clean_env, migration, no_traceback, run, tables

from migrator import ExitCode

SCHEMA = (
    "CREATE TABLE parent(id INTEGER PRIMARY KEY);\n"
    "CREATE TABLE child(id INTEGER PRIMARY KEY,\n"
    "  parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);\n"
)
# Foreign keys are a connection setting on SQLite, and PRAGMA foreign_keys does
# nothing inside a transaction: a no-transaction file turns them on for the run.
KEYS_ON = "-- migrator: no-transaction\nPRAGMA foreign_keys = ON;\n"
ORPHAN = "INSERT INTO parent VALUES (1);\nINSERT INTO child VALUES (1, 42);\n"


def _deferred_fk(tmp_path: Path) -> Path:
    migration(tmp_path, "0001", "schema", SCHEMA)
    migration(tmp_path, "0002", "keys_on", KEYS_ON)
    return migration(tmp_path, "0003", "orphan", ORPHAN)


def _rows(db: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(f"SELECT * FROM {table} ORDER BY 1"))
    finally:
        conn.close()


def test_a_deferred_foreign_key_failing_at_commit_is_reported(tmp_path: Path) -> None:
    _deferred_fk(tmp_path)
    r = run(tmp_path, "up")
    no_traceback(r)
    assert r.code == ExitCode.FAILED, r
    assert "applied 0002_keys_on" in r.err
    report = r.err[r.err.index("error: "):]
    assert report.startswith("error: migration 0003_orphan failed and was rolled back\n"), r
    assert "  file:      migrations/0003_orphan.up.sql\n" in report
    assert "FOREIGN KEY constraint failed" in report
    assert "the COMMIT failed after all 2 statements ran" in report
    assert "the database is as it was before this file" in report
    assert "next:      fix migrations/0003_orphan.up.sql" in report
    assert applied(tmp_path / "app.db") == ["0001", "0002"]
    assert _rows(tmp_path / "app.db", "parent") == []  # its first statement went too


def test_a_commit_failure_keeps_the_json_document(tmp_path: Path) -> None:
    _deferred_fk(tmp_path)
    r = run(tmp_path, "--json", "up")
    no_traceback(r)
    assert r.code == ExitCode.FAILED, r
    doc = r.json()
    assert [s["version"] for s in doc["applied"]] == ["0001", "0002"]
    error = doc["error"]
    assert error["kind"] == "migration-failed"
    assert error["file"] == "migrations/0003_orphan.up.sql"
    assert error["version"] == "0003"
    assert error["statement"] == 0 and error["statements"] == 2
    assert error["rolled_back"] is True
    assert error["code"] == "SQLITE_CONSTRAINT_FOREIGNKEY"
    assert error["message"] == "FOREIGN KEY constraint failed"
    assert "the COMMIT failed" in error["summary"]


def test_after_a_commit_failure_the_fixed_file_applies(tmp_path: Path) -> None:
    orphan = _deferred_fk(tmp_path)
    assert run(tmp_path, "up").code == ExitCode.FAILED
    orphan.write_text("INSERT INTO parent VALUES (42);\nINSERT INTO child VALUES (1, 42);\n")
    r = run(tmp_path, "up")
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == ["0001", "0002", "0003"]
    assert _rows(tmp_path / "app.db", "child") == [(1, 42)]


def test_a_rollback_whose_commit_fails_is_reported(tmp_path: Path) -> None:
    migration(tmp_path, "0001", "schema", SCHEMA, "DROP TABLE child;\nDROP TABLE parent;\n")
    migration(tmp_path, "0002", "rows",
              "INSERT INTO parent VALUES (42);\nINSERT INTO child VALUES (1, 42);\n",
              "DELETE FROM parent;\n")  # leaves the child pointing nowhere
    migration(tmp_path, "0003", "keys_on", KEYS_ON, KEYS_ON)
    assert run(tmp_path, "up").code == 0
    # 0003's down turns the keys on for this run, then 0002's COMMIT fails
    r = run(tmp_path, "down", "--steps", "2")
    no_traceback(r)
    assert r.code == ExitCode.FAILED, r
    assert "rolled back 0003_keys_on" in r.err
    assert "error: rollback of 0002_rows failed and was rolled back\n" in r.err
    assert "the COMMIT failed after its statement ran" in r.err
    assert "next:      fix migrations/0002_rows.down.sql and run 'migrator down' again" in r.err
    assert applied(tmp_path / "app.db") == ["0001", "0002"]
    assert _rows(tmp_path / "app.db", "parent") == [(42,)]


def _limited_up(tmp_path: Path, limit: int, *args: str) -> Result:
    """``migrator up`` unable to write files past ``limit`` bytes (a full disk)."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "-u", "sqlite:///app.db", "up", *args],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60,
        preexec_fn=cap, stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


BIG = (
    "PRAGMA cache_size = -200000;\n"  # every page stays in memory until COMMIT writes it
    "INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c\n"
    "  WHERE i < 20000) SELECT randomblob(500) FROM c;\n"
)


def test_a_disk_that_fills_at_commit_is_a_migration_failure(tmp_path: Path) -> None:
    migration(tmp_path, "0001", "t", "CREATE TABLE t(x BLOB);\n")
    assert run(tmp_path, "up").code == 0
    before = (tmp_path / "app.db").read_bytes()
    migration(tmp_path, "0002", "big", BIG)
    r = _limited_up(tmp_path, 1 << 20, "--json")
    no_traceback(r)
    assert r.code == ExitCode.FAILED, r
    error = r.json()["error"]
    assert error["file"] == "migrations/0002_big.up.sql"
    assert error["code"].startswith(("SQLITE_FULL", "SQLITE_IOERR")), error
    assert error["rolled_back"] is True
    assert "the COMMIT failed after all 2 statements ran" in error["summary"]
    assert "free disk space" in error["summary"]
    assert (tmp_path / "app.db").read_bytes() == before
    r = run(tmp_path, "up")  # room again: the same file applies
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == ["0001", "0002"]


def test_a_group_whose_commit_fails_rolls_back_every_file(tmp_path: Path) -> None:
    migration(tmp_path, "0001", "t", "CREATE TABLE t(x BLOB);\n")
    migration(tmp_path, "0002", "big", BIG)
    r = _limited_up(tmp_path, 1 << 20, "--single-transaction")
    no_traceback(r)
    assert r.code == ExitCode.FAILED, r
    assert "error: migration 0002_big failed and was rolled back\n" in r.err
    assert ("  state:     the COMMIT failed; --single-transaction: all 2 pending migrations "
            "were rolled back together; none of them is applied\n") in r.err
    assert applied(tmp_path / "app.db") == []
    assert tables(tmp_path / "app.db") == ["schema_migrations"]  # no t: 0001 went too
