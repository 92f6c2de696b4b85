"""``migrator test --locks`` on SQLite: real runs in a scratch file, measured rebuilds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


FILES = {
    "1_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
                      "active BOOLEAN NOT NULL, note TEXT);\n"
                      "CREATE TABLE posts (id INTEGER PRIMARY KEY, "
                      "user_id INTEGER NOT NULL REFERENCES users (id));\n",
    "2_rebuild.up.sql": "-- migrator: foreign-keys-off\n"
                        "ALTER TABLE users ADD COLUMN age INTEGER;\n"
                        "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n"
                        "INSERT INTO users_new SELECT id, email FROM users;\n"
                        "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n",
}


def test_locks_fills_tables_and_sees_the_rebuild(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    result = run(tmp_path, "test", "--locks", "--rows", "50", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["rows"] == 50 and doc["disagreements"] == 0
    first, second = doc["migrations"]
    assert first["filled"] == [] and [s["index"] for s in first["statements"]] == [1, 2]
    assert second["filled"] == ["users", "posts"]  # parents first: posts references users
    assert second["rebuilt"] == ["users"]
    assert second["statements"][0]["rewritten"] == []  # ADD COLUMN keeps the b-tree
    text = run(tmp_path, "test", "--locks", "--rows", "5")
    assert "2_rebuild  (rows in: users, posts)" in text.stdout
    assert "rebuilt by this file: users" in text.stdout
    assert "2 migration(s) measured with 5 rows a table" in text.stderr


def test_locks_reports_the_failing_statement(tmp_path: Path, make_migrations) -> None:
    make_migrations({**FILES, "3_bad.up.sql": "ALTER TABLE users ADD COLUMN x TEXT UNIQUE;\n"})
    result = run(tmp_path, "test", "--locks", "--json")
    assert result.returncode == 1
    bad = json.loads(result.stdout)["migrations"][-1]
    assert bad["error"].startswith("statement 1 (line 1): ")
    assert "UNIQUE" in bad["error"] and "Traceback" not in result.stderr


def test_locks_refuses_from_db_and_negative_rows(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    with_copy = run(tmp_path, "test", "--locks", "--from-db", "sqlite:///x.db")
    assert with_copy.returncode == 2 and "drop --from-db" in with_copy.stderr
    negative = run(tmp_path, "test", "--locks", "--rows", "-1")
    assert negative.returncode == 2 and "--rows must be 0 or more" in negative.stderr
