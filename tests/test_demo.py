"""The demo migrations the README's quick start applies stay correct and reversible.

Every down file must put the database back exactly as it was before its up
file ran: the same sqlite_schema text and the same rows.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "migrations"
Snapshot = tuple[list[tuple[str, str, str, str | None]], dict[str, list[tuple[object, ...]]]]


def migrator(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", "--url", f"sqlite:///{db}", "-d", str(DEMO), *args],
        capture_output=True, text=True, timeout=120, cwd=db.parent,
    )


def ok(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = migrator(db, *args)
    assert result.returncode == 0, result.stderr
    return result


def snapshot(db: Path) -> Snapshot:
    """Schema text and every user row, without the bookkeeping table."""
    conn = sqlite3.connect(db)
    try:
        schema = sorted(
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_schema "
                "WHERE tbl_name <> 'schema_migrations'"
            ).fetchall()
        )
        rows = {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall())
            for kind, name, _, _ in schema
            if kind == "table"
        }
    finally:
        conn.close()
    return schema, rows


def versions() -> list[str]:
    found = [
        m.group(1)
        for p in DEMO.iterdir()
        if (m := re.match(r"^(\d+)_[A-Za-z0-9_-]+(?:\.up\.sql)?$", p.name))
        and (p.is_dir() or p.name.endswith(".up.sql"))
    ]
    return sorted(found, key=int)


def test_demo_uses_both_layouts_and_every_migration_has_a_down_file() -> None:
    pairs = sorted(p.name for p in DEMO.glob("*.up.sql"))
    dirs = sorted(p.name for p in DEMO.iterdir() if p.is_dir())
    assert pairs and dirs
    for name in pairs:
        assert (DEMO / name.replace(".up.sql", ".down.sql")).is_file(), name
    for name in dirs:
        assert (DEMO / name / "up.sql").is_file() and (DEMO / name / "down.sql").is_file()
    assert all(len(v) == 14 for v in versions())
    assert len(versions()) == len(pairs) + len(dirs) >= 6


def test_up_down_all_up_again(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    up = ok(db, "--json", "up")
    applied = [e["version"] for e in json.loads(up.stdout)["applied"]]
    assert applied == versions()

    status = json.loads(ok(db, "--json", "status").stdout)["migrations"]
    assert {e["state"] for e in status} == {"applied"}
    assert migrator(db, "status", "--exit-code").returncode == 0
    assert migrator(db, "verify").returncode == 0

    down = ok(db, "--json", "down", "--all")
    assert [e["version"] for e in json.loads(down.stdout)["rolled_back"]] == versions()[::-1]
    conn = sqlite3.connect(db)
    left = sorted(conn.execute("SELECT type, name FROM sqlite_schema").fetchall())
    conn.close()
    assert left == [
        ("index", "sqlite_autoindex_schema_migrations_1"),
        ("table", "schema_migrations"),
    ]

    again = ok(db, "--json", "up")
    assert [e["version"] for e in json.loads(again.stdout)["applied"]] == versions()


def test_each_down_restores_the_schema_and_rows_before_its_up(tmp_path: Path) -> None:
    db = tmp_path / "steps.db"
    ok(db, "status")  # read-only: must not create the file
    assert not db.exists()
    before: list[Snapshot] = []
    for version in versions():
        before.append(snapshot(db) if db.exists() else ([], {}))
        ok(db, "up", "--to", version)
        assert snapshot(db) != before[-1], f"{version} changed nothing"
    for version, expected in zip(versions()[::-1], before[::-1], strict=True):
        ok(db, "down")
        assert snapshot(db) == expected, f"down of {version} did not restore the schema"


def test_rebuild_keeps_child_rows_and_enforces_the_new_checks(tmp_path: Path) -> None:
    """The foreign-keys-off rebuild must not cascade-delete task_events."""
    db = tmp_path / "rebuild.db"
    *earlier, rebuild = versions()
    ok(db, "up", "--to", earlier[-1])
    conn = sqlite3.connect(db)
    events_before = conn.execute("SELECT * FROM task_events ORDER BY id").fetchall()
    conn.close()
    assert len(events_before) == 3

    ok(db, "up")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        assert conn.execute("SELECT * FROM task_events ORDER BY id").fetchall() == events_before
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        table_sql = conn.execute(
            "SELECT sql FROM sqlite_schema WHERE name = 'tasks'"
        ).fetchone()[0]
        assert table_sql.startswith('CREATE TABLE "tasks"')  # what RENAME stores
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE tasks SET status = 'blocked' WHERE id = 2")
        # The recreated triggers still write the audit trail.
        with conn:
            conn.execute("UPDATE tasks SET status = 'done' WHERE id = 2")
        assert conn.execute(
            "SELECT detail FROM task_events WHERE task_id = 2 AND event = 'status'"
        ).fetchall() == [("todo -> done",)]
        assert [r[0] for r in conn.execute("SELECT id FROM open_tasks")] == [3]
    finally:
        conn.close()
    assert rebuild.startswith("2026")


def test_seed_data_and_triggers_behave(tmp_path: Path) -> None:
    db = tmp_path / "seed.db"
    ok(db, "up")
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute("UPDATE users SET updated_at = '2000-01-01T00:00:00.000Z' WHERE id = 1")
            conn.execute("UPDATE users SET display_name = 'Ada L.' WHERE id = 1")
        touched = conn.execute("SELECT updated_at FROM users WHERE id = 1").fetchone()[0]
        assert touched > "2026"
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute("INSERT INTO users (email, display_name) VALUES ('ADA@example.com', 'x')")
    finally:
        conn.close()
