"""Constructs met in real SQLite migration sets (diesel, golang-migrate, drizzle projects).

Every set here is written for these tests; each one models a shape that a real
project's history contains: table rebuilds with commented DDL, FTS5 with sync
triggers, seed rows whose strings look like SQL, diesel directory names.
Plain ``sqlite3`` (executescript per file, in order) is the oracle for the schema.
"""

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
        [sys.executable, "-m", "migrator", "--url", "sqlite:///app.db", *args],
        cwd=cwd, capture_output=True, text=True, timeout=180,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def schema(db: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'schema_migrations%' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return [(str(t), str(n), str(s)) for t, n, s in rows]


def oracle(files: dict[str, str], db: Path) -> list[tuple[str, str, str]]:
    """The up files in version order, each through executescript."""
    ups = sorted(
        (int(rel.split("_", 1)[0].replace("-", "")), text)
        for rel, text in files.items()
        if rel.endswith((".up.sql", "/up.sql"))
    )
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for _, text in ups:
            conn.executescript(text)
    finally:
        conn.close()
    return schema(db)


# A diesel-style history: directories with dashes, a rebuild whose CREATE
# carries "--" comments, and a down that rebuilds the table without them.
DIESEL = {
    "2019-02-01-101500_create_items/up.sql": (
        "CREATE TABLE owners (\n  id TEXT NOT NULL PRIMARY KEY\n);\n\n"
        "CREATE TABLE items (\n"
        "  id       TEXT NOT NULL PRIMARY KEY, -- a uuid\n"
        "  owner_id TEXT NOT NULL REFERENCES owners (id),\n"
        "  label    TEXT NOT NULL, /* shown in lists */\n"
        "  starred  BOOLEAN NOT NULL -- see 2020\n"
        ");\n"
    ),
    "2019-02-01-101500_create_items/down.sql": "DROP TABLE items;\nDROP TABLE owners;\n",
    "2020-06-30-235959_drop_starred/up.sql": (
        "-- 4. build the new table (steps from the SQLite manual)\n"
        "CREATE TABLE new_items (\n"
        "  id       TEXT NOT NULL PRIMARY KEY,\n"
        "  owner_id TEXT REFERENCES owners (id), -- now optional\n"
        "  /* the starred flag moves to its own table */\n"
        "  label    TEXT NOT NULL\n"
        ");\n"
        "INSERT INTO new_items (id, owner_id, label) SELECT id, owner_id, label FROM items;\n"
        "DROP TABLE items;\n"
        "ALTER TABLE new_items RENAME TO items;\n"
    ),
    # rebuilds the original columns, formatted differently and without comments
    "2020-06-30-235959_drop_starred/down.sql": (
        "CREATE TABLE old_items (id TEXT NOT NULL PRIMARY KEY, "
        "owner_id TEXT NOT NULL REFERENCES owners (id), label TEXT NOT NULL, "
        "starred BOOLEAN NOT NULL DEFAULT 0);\n"
        "INSERT INTO old_items (id, owner_id, label) SELECT id, owner_id, label FROM items;\n"
        "DROP TABLE items;\n"
        "ALTER TABLE old_items RENAME TO items;\n"
    ),
}


def test_comments_in_stored_ddl_do_not_count_as_schema(make_migrations) -> None:
    assert normalize_sql("CREATE TABLE t (\n  a INT, -- note\n  b TEXT /* x */\n)") == (
        normalize_sql("CREATE TABLE t (a INT, b TEXT)")
    )
    # "--" inside a string literal or a quoted name is text, not a comment
    assert "'--x'" in normalize_sql("CREATE TABLE t (a TEXT DEFAULT '--x')")
    assert '"a--b"' in normalize_sql('CREATE TABLE t ("a--b" INT)')


def test_rebuild_down_without_the_comments_passes_migrator_test(
    tmp_path: Path, make_migrations
) -> None:
    files = dict(DIESEL)
    # restores the original columns exactly, but formatted differently and without comments
    files["2020-06-30-235959_drop_starred/down.sql"] = (
        "CREATE TABLE old_items (id TEXT NOT NULL PRIMARY KEY, "
        "owner_id TEXT NOT NULL REFERENCES owners (id), label TEXT NOT NULL, "
        "starred BOOLEAN NOT NULL);\n"
        "INSERT INTO old_items (id, owner_id, label, starred) "
        "SELECT id, owner_id, label, 0 FROM items;\n"
        "DROP TABLE items;\n"
        "ALTER TABLE old_items RENAME TO items;\n"
    )
    make_migrations(files)
    result = run(tmp_path, "test", "--json")
    doc = json.loads(result.stdout)
    assert [m["outcome"] for m in doc["migrations"]] == ["passed", "passed"], result.stdout
    assert result.returncode == 0


def test_not_restored_diff_keeps_columns_after_a_comment_visible(
    tmp_path: Path, make_migrations
) -> None:
    make_migrations(DIESEL)  # its down adds DEFAULT 0, so it does not restore
    result = run(tmp_path, "test")
    assert result.returncode == 1
    out = result.stdout
    assert "not-restored    2020-06-30-235959_drop_starred" in out
    assert "+    starred BOOLEAN NOT NULL DEFAULT 0" in out
    assert "--" not in out.split("+++", 1)[1].replace("-- table", "")  # no comment text
    assert "     owner_id TEXT NOT NULL REFERENCES owners(id),\n" in out
    assert "     label TEXT NOT NULL,\n" in out
    assert "a uuid" not in out and "see 2020" not in out


def test_diesel_set_matches_plain_sqlite_and_round_trips(tmp_path: Path, make_migrations) -> None:
    make_migrations(DIESEL)
    expected = oracle(DIESEL, tmp_path / "oracle.db")
    assert run(tmp_path, "up").returncode == 0
    assert schema(tmp_path / "app.db") == expected
    down = run(tmp_path, "down", "--all")
    assert down.returncode == 0, down.stderr
    assert schema(tmp_path / "app.db") == []
    assert run(tmp_path, "up").returncode == 0
    assert schema(tmp_path / "app.db") == expected
    assert run(tmp_path, "verify").returncode == 0


def test_check_warns_about_a_short_date_version_and_names_the_fix(
    tmp_path: Path, make_migrations
) -> None:
    make_migrations({
        **DIESEL,
        # "_" typed for "-": the version is 2024-03-13 (8 digits)
        "2024-03-13_170000_owners_cascade/up.sql": "CREATE TABLE audit (id INTEGER);\n",
        "2024-03-13_170000_owners_cascade/down.sql": "DROP TABLE audit;\n",
    })
    check = run(tmp_path, "check", "--json")
    assert check.returncode == 0  # a warning
    problems = json.loads(check.stdout)["problems"]
    assert [p["file"] for p in problems] == [
        "migrations/2024-03-13_170000_owners_cascade/up.sql"]
    message = problems[0]["message"]
    assert "2024-03-13 has 8 digits, others have 14" in message
    assert "did you mean 2024-03-13-170000_owners_cascade?" in message
    assert run(tmp_path, "check", "--strict").returncode == 2
    # the warning is true: it runs first
    status = run(tmp_path, "status", "--json")
    versions = [m["version"] for m in json.loads(status.stdout)["migrations"]]
    assert versions[0] == "2024-03-13"


def test_short_golang_migrate_versions_do_not_warn(tmp_path: Path, make_migrations) -> None:
    make_migrations({
        "1_init.up.sql": "CREATE TABLE a (id INTEGER);\n",
        "1_init.down.sql": "DROP TABLE a;\n",
        "10_more.up.sql": "CREATE TABLE b (id INTEGER);\n",
        "10_more.down.sql": "DROP TABLE b;\n",
        "20261101000000_late.up.sql": "CREATE TABLE c (id INTEGER);\n",
        "20261101000000_late.down.sql": "DROP TABLE c;\n",
    })
    check = run(tmp_path, "check", "--strict")
    assert check.returncode == 0, check.stdout + check.stderr


# FTS5 with external content and sync triggers, then seed rows whose strings
# contain "END;", "--" and quotes, in golang-migrate's numbering.
FTS = {
    "000001_products.up.sql": (
        "CREATE TABLE products (\n"
        "  id    INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n"
        "  code  TEXT NOT NULL CHECK (length(code) BETWEEN 3 AND 20),\n"
        "  title TEXT NOT NULL,\n"
        "  cents INTEGER CHECK (cents IS NULL OR cents >= 0)\n"
        ");\n"
        "CREATE INDEX products_code ON products (code);\n"
    ),
    "000001_products.down.sql": "DROP TABLE products;\n",
    "000002_search.up.sql": (
        "CREATE VIRTUAL TABLE products_fts USING fts5(code, title, "
        "content=products, content_rowid=id);\n"
        "CREATE TRIGGER products_ai AFTER INSERT ON products BEGIN\n"
        "  INSERT INTO products_fts(rowid, code, title) VALUES (new.id, new.code, new.title);\n"
        "END;\n"
        "CREATE TRIGGER products_ad AFTER DELETE ON products BEGIN\n"
        "  INSERT INTO products_fts(products_fts, rowid, code, title)\n"
        "    VALUES ('delete', old.id, old.code, old.title);\n"
        "END;\n"
        "CREATE TRIGGER products_au AFTER UPDATE ON products BEGIN\n"
        "  INSERT INTO products_fts(products_fts, rowid, code, title)\n"
        "    VALUES ('delete', old.id, old.code, old.title);\n"
        "  INSERT INTO products_fts(rowid, code, title) VALUES (new.id, new.code, new.title);\n"
        "END;\n"
        "CREATE VIEW cheap_products AS SELECT id, title FROM products WHERE cents < 100;\n"
    ),
    "000002_search.down.sql": (
        "DROP VIEW cheap_products;\n"
        "DROP TRIGGER products_au;\nDROP TRIGGER products_ad;\nDROP TRIGGER products_ai;\n"
        "DROP TABLE products_fts;\n"
    ),
    "000003_seed.up.sql": (
        "INSERT INTO products (code, title, cents) VALUES\n"
        + ",\n".join(
            f"('P{i:05d}', 'item {i} -- it''s BEGIN; END; /* no */', {i})" for i in range(1500)
        )
        + ";\nUPDATE products SET title = title || ' sale' WHERE id % 5 = 0;\n"
        "DELETE FROM products WHERE id % 7 = 0;\n"
    ),
    "000003_seed.down.sql": "DELETE FROM products;\n",
}


def test_fts_triggers_and_seed_match_plain_sqlite(tmp_path: Path, make_migrations) -> None:
    make_migrations(FTS)
    expected = oracle(FTS, tmp_path / "oracle.db")
    up = run(tmp_path, "up")
    assert up.returncode == 0, up.stderr
    assert "000002_search (5 statements" in up.stderr
    assert schema(tmp_path / "app.db") == expected
    query = (
        "SELECT count(*), (SELECT count(*) FROM products_fts WHERE products_fts MATCH 'sale') "
        "FROM products_fts WHERE products_fts MATCH '\"END\"'"
    )
    counts = []
    for db in ("oracle.db", "app.db"):
        conn = sqlite3.connect(tmp_path / db)
        counts.append(conn.execute(query).fetchone())
        conn.close()
    assert counts[0] == counts[1] == (1500 - 1500 // 7, 300 - 1500 // 35)
    assert run(tmp_path, "check", "--strict").returncode == 0
    assert run(tmp_path, "test").returncode == 0
    dry = run(tmp_path, "down", "--all", "--dry-run")
    assert dry.returncode == 0
    assert dry.stdout.index("DELETE FROM products;") < dry.stdout.index("DROP TRIGGER products_au")
    assert run(tmp_path, "down", "--all").returncode == 0
    assert schema(tmp_path / "app.db") == []
