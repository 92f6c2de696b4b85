"""``migrator rehearse``: up on a copy; the real database is never written."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL = "sqlite:///app.db"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), os.stat(path).st_mtime_ns


def populated(tmp_path: Path, make_migrations, *, wal: bool = False) -> Path:
    make_migrations({
        "1_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
    })
    assert run(tmp_path, "-u", URL, "up").returncode == 0
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        conn.executemany("INSERT INTO users (email) VALUES (?)",
                         [(f"u{i}@example.com",) for i in range(500)] + [("u1@example.com",)])
    conn.close()
    return db


def test_data_dependent_failure_shows_and_real_db_is_untouched(
    tmp_path: Path, make_migrations
) -> None:
    db = populated(tmp_path, make_migrations)
    make_migrations({
        "2_plan.up.sql": "ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';\n",
        "2_plan.down.sql": "ALTER TABLE users DROP COLUMN plan;\n",
        "3_unique.up.sql": "SELECT 1;\nCREATE UNIQUE INDEX users_email ON users (email);\n",
        "3_unique.down.sql": "DROP INDEX users_email;\n",
    })
    before = fingerprint(db)
    files_before = sorted(tmp_path.iterdir())
    result = run(tmp_path, "-u", URL, "rehearse", "--json")
    assert result.returncode == 1, result.stderr
    assert sorted(tmp_path.iterdir()) == files_before  # no journal, lock or WAL file appeared
    doc = json.loads(result.stdout)
    assert doc["rehearsal"] is True and doc["ok"] is False
    assert doc["pending"] == ["2_plan", "3_unique"]
    assert [a["version"] for a in doc["applied"]] == ["2"]
    assert doc["error"]["version"] == "3"
    assert doc["error"]["line"] == 2
    assert "UNIQUE constraint failed: users.email" in doc["error"]["message"]
    assert "the copy was discarded" in result.stderr
    assert fingerprint(db) == before
    status = json.loads(run(tmp_path, "-u", URL, "status", "--json").stdout)
    assert [m["state"] for m in status["migrations"]] == ["applied", "pending", "pending"]


def test_not_null_without_default_fails_in_rehearsal(tmp_path: Path, make_migrations) -> None:
    db = populated(tmp_path, make_migrations)
    make_migrations({"2_bad.up.sql": "ALTER TABLE users ADD COLUMN plan TEXT NOT NULL;\n"})
    before = fingerprint(db)
    result = run(tmp_path, "-u", URL, "rehearse")
    assert result.returncode == 1
    assert "Cannot add a NOT NULL column with default value NULL" in result.stderr
    assert "2_bad.up.sql:1" in result.stderr
    assert fingerprint(db) == before


def test_successful_rehearsal_reports_timings_and_changes_nothing(
    tmp_path: Path, make_migrations
) -> None:
    db = populated(tmp_path, make_migrations, wal=True)
    make_migrations({"2_idx.up.sql": "CREATE INDEX users_email ON users (email);\n",
                     "2_idx.down.sql": "DROP INDEX users_email;\n"})
    before = fingerprint(db)
    result = run(tmp_path, "-u", URL, "rehearse", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert [a["version"] for a in doc["applied"]] == ["2"]
    assert isinstance(doc["applied"][0]["duration_ms"], int)
    assert doc["copy_ms"] >= 0 and doc["total_ms"] >= 0 and doc["size_bytes"] > 0
    assert fingerprint(db) == before
    assert run(tmp_path, "-u", URL, "up").returncode == 0  # the real run still has work


def test_drift_exits_3_and_missing_database_exits_2(tmp_path: Path, make_migrations) -> None:
    db = populated(tmp_path, make_migrations)
    (tmp_path / "migrations" / "1_users.up.sql").write_text("CREATE TABLE users (x);\n")
    before = fingerprint(db)
    drift = run(tmp_path, "-u", URL, "rehearse")
    assert drift.returncode == 3
    assert "modified" in drift.stderr
    assert fingerprint(db) == before
    missing = run(tmp_path, "-u", "sqlite:///nope.db", "rehearse")
    assert missing.returncode == 2
    assert "nope.db does not exist" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
