"""SQLite's Catalog: the schema model, dump, rebuild script, foreign tables, scratch, copy."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from migrator.backends import open_backend
from migrator.backends.base import Catalog
from migrator.backends.sqlite.backend import SqliteBackend
from migrator.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
TABLE = "schema_migrations"

BUILD = """
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT,
    email   TEXT NOT NULL -- who
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES users (id));
ALTER TABLE accounts RENAME TO members;
CREATE VIEW emails AS SELECT email FROM users;
CREATE TRIGGER users_gone AFTER DELETE ON users BEGIN
  DELETE FROM members WHERE owner = OLD.id;
END;
CREATE VIRTUAL TABLE notes USING fts5(body);
CREATE TABLE schema_migrations (version TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL,
    checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL);
INSERT INTO schema_migrations VALUES ('2', 'b', 'c2', 'x', 1), ('10', 'a', 'c1', 'x', 1);
INSERT INTO users (email) VALUES ('a@example.com'), ('o''brien@example.com');
INSERT INTO members VALUES (1, 1);
PRAGMA user_version = 3;
"""


def build(path: Path, script: str = BUILD) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.close()
    return path


@pytest.fixture
def catalog_of() -> Iterator[Callable[..., Catalog]]:
    """``catalog_of(path)``: the catalog of a backend on that file, closed after the test."""
    backends: list[SqliteBackend] = []

    def make(path: Path | str, *, readonly: bool = True) -> Catalog:
        backend = open_backend(f"sqlite:///{path}", table=TABLE, readonly=readonly,
                               busy_timeout=5.0)
        assert isinstance(backend, SqliteBackend)
        backends.append(backend)
        return backend.catalog()

    yield make
    for backend in backends:
        backend.close()


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), os.stat(path).st_mtime_ns


def test_schema_is_the_normalized_stored_ddl_without_bookkeeping(
    tmp_path: Path, catalog_of
) -> None:
    schema = catalog_of(build(tmp_path / "a.db")).schema()
    assert [t.name for t in schema.tables] == ["members", "notes", "users"]
    assert [(i.name, i.table, i.unique) for i in schema.indexes] == [
        ("users_email", "users", True)]
    assert [(o.kind, o.name, o.table) for o in schema.objects] == [
        ("view", "emails", ""), ("trigger", "users_gone", "users")]
    lines = schema.lines()
    users = lines.index("-- table users")
    assert lines[users:users + 4] == [
        "-- table users", "CREATE TABLE users (",
        "    id INTEGER PRIMARY KEY AUTOINCREMENT,", "    email TEXT NOT NULL"]
    # the rename stored "members" quoted; the comment and the layout do not count
    assert "CREATE TABLE members (" in lines
    assert not any("schema_migrations" in ln or "notes_" in ln or "sqlite_" in ln
                   for ln in lines)


def test_schema_ignores_layout_comments_and_plain_name_quotes(tmp_path: Path, catalog_of) -> None:
    a = build(tmp_path / "a.db", "CREATE TABLE t (a INT, b TEXT);\n")
    b = build(tmp_path / "b.db", 'CREATE TABLE "t" (\n  a  INT, -- first\n  b TEXT\n);\n')
    c = build(tmp_path / "c.db", "CREATE TABLE t (a INT, b TEXT, c INT);\n")
    assert catalog_of(a).schema() == catalog_of(b).schema()
    assert catalog_of(a).schema() != catalog_of(c).schema()


def test_dump_matches_the_cli_and_orders_by_kind_and_name(tmp_path: Path, catalog_of) -> None:
    db = build(tmp_path / "a.db")
    text = catalog_of(db).dump()
    cli = subprocess.run([sys.executable, "-m", "migrator", "-u", "sqlite:///a.db", "dump"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout == text
    assert text.index('CREATE TABLE "members"') < text.index("CREATE VIRTUAL TABLE notes") \
        < text.index("CREATE TABLE users") < text.index("CREATE UNIQUE INDEX users_email") \
        < text.index("CREATE VIEW emails") < text.index("CREATE TRIGGER users_gone")
    assert text.index("VALUES ('2', 'b', 'c2'") < text.index("VALUES ('10', 'a', 'c1'")
    assert "'x'" not in text  # no timestamps


def test_rebuild_script_recreates_objects_rows_and_counters_and_drops_them(
    tmp_path: Path, catalog_of
) -> None:
    db = build(tmp_path / "a.db")
    up, down = catalog_of(db).rebuild_script()
    assert up.startswith("-- migrator: foreign-keys-off\n")
    assert "'o''brien@example.com'" in up
    assert "INSERT INTO sqlite_sequence (name, seq) VALUES ('users', 2);" in up
    assert "PRAGMA user_version = 3;" in up
    assert "schema_migrations" not in up
    copy = tmp_path / "b.db"
    build(copy, up)
    assert catalog_of(copy).rebuild_script() == (up, down)
    assert catalog_of(copy).schema() == catalog_of(db).schema()
    conn = sqlite3.connect(copy)
    conn.executescript(down)
    conn.close()
    assert catalog_of(copy).schema().empty
    assert catalog_of(copy).rebuild_script()[0] == "-- migrator: foreign-keys-off\n\n"


def test_read_table_gives_rows_by_column_or_none(tmp_path: Path, catalog_of) -> None:
    catalog = catalog_of(build(tmp_path / "a.db"))
    rows = catalog.read_table("SCHEMA_MIGRATIONS")  # names compare as SQLite compares them
    assert rows is not None
    assert sorted(str(r["version"]) for r in rows) == ["10", "2"]
    assert rows[0].keys() == {"version", "name", "checksum", "applied_at", "duration_ms"}
    assert catalog.read_table("goose_db_version") is None


def test_scratch_is_an_empty_file_removed_on_exit_even_after_an_error(
    tmp_path: Path, catalog_of
) -> None:
    catalog = catalog_of(":memory:")  # a scratch space needs no database
    with catalog.scratch() as space:
        assert space.table == TABLE and space.name == ""
        scratch = Path(space.url.removeprefix("sqlite:///"))
        assert scratch.is_file()
        assert catalog_of(scratch).schema().empty
    assert not scratch.parent.exists()
    with pytest.raises(RuntimeError), catalog.scratch() as space:
        scratch = Path(space.url.removeprefix("sqlite:///"))
        raise RuntimeError("a failing migration")
    assert not scratch.parent.exists()


def test_copy_is_faithful_and_never_writes_the_source(tmp_path: Path, catalog_of) -> None:
    db = build(tmp_path / "a.db")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("INSERT INTO users (email) VALUES ('in-wal@example.com')")
    conn.commit()  # the row sits in the WAL; the backup API copies it
    before = fingerprint(db)
    catalog = catalog_of(db)
    with catalog.copy() as space:
        copy = Path(space.url.removeprefix("sqlite:///"))
        assert copy != db and space.size_bytes == copy.stat().st_size == db.stat().st_size
        assert catalog_of(copy).rebuild_script() == catalog.rebuild_script()
        other = sqlite3.connect(copy)
        other.execute("DROP TABLE members")
        other.commit()
        other.close()
        assert "members" in [t.name for t in catalog.schema().tables]
    conn.close()
    assert not copy.parent.exists()
    assert fingerprint(db)[0] == before[0]


def test_rehearse_reports_the_bytes_copied_with_what_the_wal_holds(tmp_path: Path) -> None:
    db = build(tmp_path / "a.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "1_count.up.sql").write_text(
        "CREATE TABLE counted AS SELECT count(*) AS n FROM users;\n")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # the new pages stay in the WAL
    try:
        conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     "WHERE i < 5000) INSERT INTO users (email) SELECT 'u' || i || '@x' FROM n")
        size = (conn.execute("PRAGMA page_count").fetchone()[0]
                * conn.execute("PRAGMA page_size").fetchone()[0])
        assert db.stat().st_size < size  # the file alone would undercount
        cli = subprocess.run(
            [sys.executable, "-m", "migrator", "-u", "sqlite:///a.db", "rehearse", "--json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
        assert cli.returncode == 0, cli.stderr
        doc = json.loads(cli.stdout)
        assert doc["ok"] is True and doc["pending"] == ["1_count"]
        assert doc["size_bytes"] == size
        assert f"({size:,} bytes, copied in" in cli.stderr
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'counted'").fetchall() \
            == []  # the real file was only read
    finally:
        conn.close()


@pytest.mark.parametrize(("target", "needle"), [
    ("missing.db", "missing.db does not exist"),
    (":memory:", "needs a database file, not :memory:"),
])
def test_reading_a_missing_or_memory_database_is_refused(
    tmp_path: Path, catalog_of, target: str, needle: str
) -> None:
    path = str(tmp_path / target) if target != ":memory:" else target
    catalog = catalog_of(path)
    for read in (catalog.schema, catalog.dump, catalog.rebuild_script,
                 lambda: catalog.read_table("t")):
        with pytest.raises(ConfigError, match=needle):
            read()
    with pytest.raises(ConfigError, match=needle), catalog.copy():
        pass
    assert not (tmp_path / "missing.db").exists()


def test_scratch_file_is_removed_when_the_run_is_terminated(tmp_path: Path) -> None:
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
            "SELECT count(*) FROM c;\n")
    (migrations / "1_slow.up.sql").write_text("CREATE TABLE slow (id INT);\n" + slow * 400)
    (migrations / "1_slow.down.sql").write_text("DROP TABLE slow;\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", "test"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch_root)})
    try:
        deadline = time.monotonic() + 60
        while not any(scratch_root.glob("migrator-scratch-*/scratch.db")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scratch file never appeared"
            time.sleep(0.05)
        time.sleep(0.3)  # inside the slow statements
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143
    assert list(scratch_root.iterdir()) == []
