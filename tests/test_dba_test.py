"""``migrator test``: each down must restore the schema its up found, on a scratch file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from migrator.backends.sqlite.sqlfile import normalize_sql

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


REVERSIBLE = {
    "20261101000000_users.up.sql": (
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL);\n"
        "CREATE UNIQUE INDEX users_email ON users (email);\n"
    ),
    "20261101000000_users.down.sql": "DROP TABLE users;\n",
    "20261102000000_name/up.sql": "ALTER TABLE users ADD COLUMN name TEXT;\n",
    "20261102000000_name/down.sql": "ALTER TABLE users DROP COLUMN name;\n",
    "20261103000000_rename.up.sql": (
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY);\n"
        "ALTER TABLE accounts RENAME TO members;\n"
    ),
    "20261103000000_rename.down.sql": "DROP TABLE members;\n",
}


def outcomes(doc: dict[str, object]) -> dict[str, str]:
    return {m["version"]: m["outcome"] for m in doc["migrations"]}  # type: ignore[attr-defined,index]


def test_reversible_set_passes_and_leaves_nothing(tmp_path: Path, make_migrations) -> None:
    make_migrations(REVERSIBLE)
    result = run(tmp_path, "test", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert set(outcomes(doc).values()) == {"passed"}
    assert len(doc["migrations"]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["migrations"]  # scratch was removed


def test_down_that_forgets_an_object_is_reported_with_a_diff(
    tmp_path: Path, make_migrations
) -> None:
    make_migrations({
        **REVERSIBLE,
        "20261104000000_orders.up.sql": (
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER);\n"
            "CREATE INDEX orders_user ON orders (user_id);\n"
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);\n"
        ),
        # forgets settings; IF NOT EXISTS lets the second up run, so the test goes on
        "20261104000000_orders.down.sql": "DROP TABLE orders;\n",
        "20261105000000_flags.up.sql": "CREATE TABLE flags (name TEXT PRIMARY KEY);\n",
        "20261105000000_flags.down.sql": "DROP TABLE flags;\n",
    })
    result = run(tmp_path, "test")
    assert result.returncode == 1
    out = result.stdout
    assert "not-restored    20261104000000_orders" in out
    assert "passed          20261105000000_flags" in out  # the run went on
    assert "--- schema before 20261104000000_orders up" in out
    assert "+++ schema after 20261104000000_orders down" in out
    assert ("    +-- table settings\n    +CREATE TABLE settings (\n"
            "    +    key TEXT PRIMARY KEY,\n") in out
    assert "1 not-restored" in result.stderr


def test_down_that_leaves_a_table_stops_the_run(tmp_path: Path, make_migrations) -> None:
    make_migrations({
        "1_a.up.sql": "CREATE TABLE a (x);\nCREATE TABLE a_log (y);\n",
        "1_a.down.sql": "DROP TABLE a;\n",
        "2_b.up.sql": "CREATE TABLE b (x);\n",
        "2_b.down.sql": "DROP TABLE b;\n",
    })
    result = run(tmp_path, "test", "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert outcomes(doc) == {"1": "not-restored"}
    entry = doc["migrations"][0]
    assert "table a_log already exists" in entry["message"]
    assert "+-- table a_log" in entry["diff"]


def test_irreversible_and_failing_migrations(tmp_path: Path, make_migrations) -> None:
    make_migrations({
        "1_a.up.sql": "CREATE TABLE a (x);\n",
        "2_seed.up.sql": "INSERT INTO a VALUES (1);\n",
        "3_broken.up.sql": "CREATE TABLE c (x);\nINSERT INTO nowhere VALUES (1);\n",
        "3_broken.down.sql": "DROP TABLE c;\n",
    })
    result = run(tmp_path, "test", "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert outcomes(doc) == {"1": "irreversible", "2": "irreversible", "3": "failed"}
    assert "no such table: nowhere" in doc["migrations"][2]["message"]
    assert "3_broken.up.sql:2" in doc["migrations"][2]["message"]


def test_from_db_tests_pending_migrations_on_a_copy(tmp_path: Path, make_migrations) -> None:
    make_migrations({
        "1_users.up.sql": "CREATE TABLE users (email TEXT);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
    })
    db = tmp_path / "prod.db"
    assert run(tmp_path, "-u", "sqlite:///prod.db", "up").returncode == 0
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO users VALUES (?)", [("a@x",), ("a@x",)])
    conn.close()
    make_migrations({
        "2_unique.up.sql": "CREATE UNIQUE INDEX users_email ON users (email);\n",
        "2_unique.down.sql": "DROP INDEX users_email;\n",
    })
    before = db.read_bytes()
    result = run(tmp_path, "test", "--from-db", "sqlite:///prod.db", "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert outcomes(doc) == {"1": "already-applied", "2": "failed"}
    assert "UNIQUE constraint failed: users.email" in doc["migrations"][1]["message"]
    assert db.read_bytes() == before


def test_normalize_sql_ignores_layout_and_plain_name_quotes() -> None:
    a = 'CREATE TABLE "orders" (\n  id INTEGER ,\n  note TEXT DEFAULT \'"x"\'\n)'
    b = "CREATE TABLE orders(id INTEGER, note TEXT DEFAULT '\"x\"')"
    assert normalize_sql(a) == normalize_sql(b)
    assert normalize_sql('CREATE TABLE "my table" (x)') == 'CREATE TABLE "my table"(x)'


def test_from_db_skips_pending_migrations_older_than_the_newest_applied(
    tmp_path: Path, make_migrations
) -> None:
    make_migrations({"1_a.up.sql": "CREATE TABLE a (x);\n", "1_a.down.sql": "DROP TABLE a;\n",
                     "3_c.up.sql": "CREATE TABLE c (x);\n", "3_c.down.sql": "DROP TABLE c;\n"})
    assert run(tmp_path, "-u", "sqlite:///prod.db", "up").returncode == 0
    make_migrations({"2_b.up.sql": "CREATE TABLE b (x);\n", "2_b.down.sql": "DROP TABLE b;\n",
                     "4_d.up.sql": "CREATE TABLE d (x);\n", "4_d.down.sql": "DROP TABLE d;\n"})
    result = run(tmp_path, "test", "--from-db", "sqlite:///prod.db", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outcomes(json.loads(result.stdout)) == {
        "1": "already-applied", "3": "already-applied", "2": "not-tested", "4": "passed"}
