"""``migrator squash``: one migration that provably rebuilds what the old ones built."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.backends import open_backend
from migrator.backends.sqlite.rebuild import literal

ROOT = Path(__file__).resolve().parent.parent

FILES = {
    "1_users.up.sql": (
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL,\n"
        "  score REAL, avatar BLOB, full TEXT GENERATED ALWAYS AS (email || '!') VIRTUAL);\n"
        "CREATE TABLE audit (what TEXT);\n"
        "CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN\n"
        "  INSERT INTO audit VALUES ('new ' || NEW.email);\nEND;\n"
    ),
    "1_users.down.sql": "DROP TABLE users;\nDROP TABLE audit;\n",
    "2_seed/up.sql": (
        "INSERT INTO users (email, score, avatar) VALUES ('o''brien@example.com', 1.5, x'00ff'),"
        " ('b@example.com', NULL, NULL);\n"
        "DELETE FROM users WHERE email = 'b@example.com';\n"
        "PRAGMA user_version = 7;\n"
    ),
    "2_seed/down.sql": "DELETE FROM users;\nDELETE FROM audit;\n",
    "3_kv.up.sql": "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;\n"
                   "INSERT INTO kv VALUES ('b', '2'), ('a', '1');\n"
                   "CREATE VIEW emails AS SELECT email FROM users;\n",
    "3_kv.down.sql": "DROP VIEW emails;\nDROP TABLE kv;\n",
    "4_later.up.sql": "CREATE TABLE later (x);\n",
    "4_later.down.sql": "DROP TABLE later;\n",
}


def rebuild(db: Path) -> tuple[str, str]:
    """What the catalog reads back: every object and row, and the drops."""
    backend = open_backend(f"sqlite:///{db}", table="schema_migrations", readonly=True,
                           busy_timeout=5.0)
    try:
        return backend.catalog().rebuild_script()
    finally:
        backend.close()


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_squash_rebuilds_schema_rows_and_sequence(tmp_path: Path, make_migrations) -> None:
    root = make_migrations(FILES)
    assert run(tmp_path, "-u", "sqlite:///deployed.db", "up", "--to", "3").returncode == 0
    assert run(tmp_path, "-u", "sqlite:///old.db", "up").returncode == 0
    dry = run(tmp_path, "squash", "--to", "3", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert not (root / "squashed").exists()
    result = run(tmp_path, "squash", "--to", "3", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [m["version"] for m in doc["squashed"]] == ["1", "2", "3"]
    assert sorted(p.name for p in root.iterdir()) == [
        "3_squashed.down.sql", "3_squashed.up.sql", "4_later.down.sql", "4_later.up.sql",
        "squashed"]
    assert sorted(p.name for p in (root / "squashed").iterdir()) == [
        "1_users.down.sql", "1_users.up.sql", "2_seed", "3_kv.down.sql", "3_kv.up.sql"]
    up = (root / "3_squashed.up.sql").read_text()
    assert up.index("INSERT INTO \"users\"") < up.index("CREATE TRIGGER users_audit")
    assert "'o''brien@example.com', 1.5, X'00ff'" in up
    assert "INSERT INTO sqlite_sequence (name, seq) VALUES ('users', 2);" in up
    assert "PRAGMA user_version = 7;" in up

    # a fresh database from the squashed files equals one from the old files
    assert run(tmp_path, "-u", "sqlite:///new.db", "up").returncode == 0
    assert rebuild(tmp_path / "new.db") == rebuild(tmp_path / "old.db")
    conn = sqlite3.connect(tmp_path / "new.db")
    assert conn.execute("SELECT what FROM audit").fetchall() == [
        ("new o'brien@example.com",), ("new b@example.com",)]  # the trigger did not re-fire
    conn.close()
    assert run(tmp_path, "check").returncode == 0
    assert run(tmp_path, "test").returncode == 0

    assert up.startswith("-- migrator: foreign-keys-off\n-- migrator: replaces 1 2 3\n")

    # the deployed database follows on its next up: the squashed row replaces the old ones
    shutil.copy(tmp_path / "deployed.db", tmp_path / "manual.db")
    url = "sqlite:///deployed.db"
    followed = run(tmp_path, "-u", url, "up", "--json")
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout)["replaced"] == [
        {"version": "3", "name": "squashed", "replaces": ["1", "2", "3"]}]
    assert "recorded 3_squashed in place of 1, 2, 3" in followed.stderr
    status = json.loads(run(tmp_path, "-u", url, "status", "--json").stdout)
    assert [(m["version"], m["state"]) for m in status["migrations"]] == [
        ("3", "applied"), ("4", "applied")]
    assert rebuild(tmp_path / "deployed.db")[0].count("CREATE TABLE") == \
        rebuild(tmp_path / "old.db")[0].count("CREATE TABLE")

    # --history-only still does the same rewrite at once
    url = "sqlite:///manual.db"
    history = run(tmp_path, "-u", url, "squash", "--to", "3", "--history-only", "--json")
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout) == {"removed": ["1", "2", "3"], "recorded": "3"}
    again = run(tmp_path, "-u", url, "squash", "--to", "3", "--history-only", "--json")
    assert json.loads(again.stdout) == {"removed": [], "recorded": None}
    assert run(tmp_path, "-u", url, "up").returncode == 0


def test_partly_applied_database_is_refused(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    assert run(tmp_path, "-u", "sqlite:///part.db", "up", "--to", "1").returncode == 0
    assert run(tmp_path, "squash", "--to", "3").returncode == 0
    result = run(tmp_path, "-u", "sqlite:///part.db", "squash", "--to", "3", "--history-only")
    assert result.returncode == 3
    assert "applied only part of the squashed migrations (missing 2, 3)" in result.stderr
    up = run(tmp_path, "-u", "sqlite:///part.db", "up")
    assert up.returncode == 3
    assert "3_squashed replaces 1, 2, 3; this database applied only 1 (missing 2, 3)" in up.stderr


@pytest.mark.parametrize(("line", "needle"), [
    ("-- migrator: replaces\n", "needs the versions it replaces"),
    ("-- migrator: replaces 1 two\n", "needs the versions it replaces"),
    ("SELECT 1;\n-- migrator: replaces 1 2\n", "must be in the comment lines at the top"),
])
def test_bad_replaces_directive_is_a_file_error(
    tmp_path: Path, make_migrations, line: str, needle: str
) -> None:
    make_migrations({"3_squashed.up.sql": line + "CREATE TABLE t (x INTEGER);\n"})
    result = run(tmp_path, "-u", "sqlite:///app.db", "up")
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr and "3_squashed.up.sql" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "app.db").exists()


def test_refusals(tmp_path: Path, make_migrations) -> None:
    make_migrations({**FILES, "5_wal.up.sql": "-- migrator: no-transaction\nVACUUM;\n"})
    one = run(tmp_path, "squash", "--to", "1")
    assert one.returncode == 2 and "at least two migrations" in one.stderr
    no_tx = run(tmp_path, "squash", "--to", "5")
    assert no_tx.returncode == 2 and "5_wal.up.sql" in no_tx.stderr
    assert not (tmp_path / "migrations" / "squashed").exists()


@pytest.mark.parametrize(("value", "sql"), [
    (None, "NULL"), (3, "3"), (1.25, "1.25"), (float("inf"), "9e999"), ("it's", "'it''s'"),
    (b"\x00\x01", "X'0001'"),
])
def test_literal_reads_back_as_the_same_value(value: object, sql: str) -> None:
    assert literal(value) == sql
    conn = sqlite3.connect(":memory:")
    assert conn.execute(f"SELECT {sql}").fetchone()[0] == value
