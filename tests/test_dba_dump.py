"""``migrator dump`` and ``up/down --dump``: a deterministic, loadable schema file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FILES = {
    "20261101000000_users.up.sql": (
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL);\n"
        "CREATE UNIQUE INDEX users_email ON users (email);\n"
    ),
    "20261101000000_users.down.sql": "DROP TABLE users;\n",
    "20261102000000_orders.up.sql": (
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n"
        "CREATE VIEW user_orders AS SELECT u.email, o.id FROM users u JOIN orders o "
        "ON o.user_id = u.id;\n"
        "CREATE TRIGGER users_gone AFTER DELETE ON users BEGIN\n"
        "  DELETE FROM orders WHERE user_id = OLD.id;\nEND;\n"
        "CREATE VIRTUAL TABLE notes USING fts5(body);\n"
    ),
    "20261102000000_orders.down.sql": (
        "DROP TABLE notes;\nDROP TRIGGER users_gone;\nDROP VIEW user_orders;\nDROP TABLE orders;\n"
    ),
}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_dump_is_ordered_deterministic_and_loads_back(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    assert run(tmp_path, "-u", "sqlite:///a.db", "up").returncode == 0
    first = run(tmp_path, "-u", "sqlite:///a.db", "dump")
    assert first.returncode == 0, first.stderr
    text = first.stdout
    headings = [ln for ln in text.splitlines() if ln.startswith("-- ")][1:]
    assert headings == ["-- tables", "-- indexes", "-- views", "-- triggers",
                        "-- applied migrations"]
    assert text.index("CREATE TABLE orders") < text.index("CREATE TABLE users")
    assert "notes_content" not in text  # fts5 shadow tables come with their virtual table
    assert "sqlite_sequence" not in text
    assert "VALUES ('20261101000000', 'users', " in text
    assert text.index("'20261101000000'") < text.index("'20261102000000'")

    # a second database built later gives the same bytes
    assert run(tmp_path, "-u", "sqlite:///b.db", "up").returncode == 0
    assert run(tmp_path, "-u", "sqlite:///b.db", "dump").stdout == text

    # the dump loads into an empty database that dumps the same and knows its history
    conn = sqlite3.connect(tmp_path / "c.db")
    conn.executescript(text)
    conn.close()
    assert run(tmp_path, "-u", "sqlite:///c.db", "dump").stdout == text
    status = json.loads(run(tmp_path, "-u", "sqlite:///c.db", "status", "--json").stdout)
    assert {m["state"] for m in status["migrations"]} == {"applied"}


def test_output_file_and_json(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    assert run(tmp_path, "-u", "sqlite:///a.db", "up").returncode == 0
    result = run(tmp_path, "-u", "sqlite:///a.db", "dump", "-o", "schema.sql", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    written = (tmp_path / "schema.sql").read_text()
    assert doc == {"file": "schema.sql", "sql": written}
    assert (tmp_path / "schema.sql").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".schema")] == []


def test_up_and_down_keep_the_dump_current(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    url = "sqlite:///a.db"
    up = run(tmp_path, "-u", url, "up", "--to", "20261101000000", "--dump", "schema.sql")
    assert up.returncode == 0, up.stderr
    dump = (tmp_path / "schema.sql").read_text()
    assert "CREATE TABLE users" in dump and "orders" not in dump
    assert run(tmp_path, "-u", url, "up", "--dump", "schema.sql").returncode == 0
    assert "CREATE TABLE orders" in (tmp_path / "schema.sql").read_text()
    down = run(tmp_path, "-u", url, "down", "--dump", "schema.sql")
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "schema.sql").read_text() == dump


def test_dump_of_missing_database_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "-u", "sqlite:///missing.db", "dump")
    assert result.returncode == 2
    assert "missing.db does not exist" in result.stderr
    assert not (tmp_path / "missing.db").exists()
