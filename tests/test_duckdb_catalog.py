"""DuckDB's Catalog: the schema model, dump, rebuild script, rows, scratch and copy.

Each database is a real DuckDB file built by running migrations through the
CLI; the rebuild script is checked by running it on a scratch file and
comparing models and rows.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from clihelp import cli, migration

from migrator.backends import open_backend
from migrator.backends.base import transaction
from migrator.backends.duckdb.backend import DuckdbBackend
from migrator.backends.duckdb.catalog import DuckdbCatalog

RICH = """\
CREATE SCHEMA extra;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SEQUENCE ids START 10;
CREATE TABLE users (id INTEGER PRIMARY KEY DEFAULT nextval('ids'), email VARCHAR NOT NULL UNIQUE,
                    feeling mood, born DATE, CHECK (email LIKE '%@%'));
CREATE TABLE orders (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES users(id), ts TIMESTAMP,
                     data BLOB, amount DECIMAL(10,2),
                     total DOUBLE GENERATED ALWAYS AS (amount * 2));
CREATE TABLE extra.things (tags VARCHAR[], info STRUCT(a INTEGER, b VARCHAR),
                           m MAP(VARCHAR, INTEGER));
CREATE INDEX orders_ts ON orders (ts);
CREATE UNIQUE INDEX things_lower ON extra.things ((info.b));
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 10;
CREATE VIEW extra.emails AS SELECT email FROM users;
CREATE VIEW z_base AS SELECT id FROM users;
CREATE VIEW a_top AS SELECT * FROM z_base;
CREATE MACRO twice(x) AS x * 2;
CREATE MACRO few() AS TABLE SELECT * FROM users LIMIT 1;
INSERT INTO users (email, feeling, born)
    VALUES ('a@x', 'ok', '2000-01-02'), ('it''s@x', NULL, NULL);
INSERT INTO orders VALUES (1, 10, '2026-01-01 10:00:00.123', '\\xAA\\x00;'::BLOB, 12.5);
INSERT INTO extra.things VALUES (['a', 'b;c', NULL], {'a': 1, 'b': 'x y'}, MAP {'k': 1});
"""


@pytest.fixture
def built(tmp_path: Path) -> Path:
    migration(tmp_path, "0001", "rich", RICH)
    r = cli(tmp_path, "-u", "duckdb:///app.db", "up")
    assert r.code == 0, r
    return tmp_path / "app.db"


@contextmanager
def catalog(db: Path, *, readonly: bool = True) -> Iterator[DuckdbCatalog]:
    backend = open_backend(f"duckdb:///{db}", table="schema_migrations", readonly=readonly,
                           busy_timeout=5.0)
    assert isinstance(backend, DuckdbBackend)
    try:
        walker = backend.catalog()
        assert isinstance(walker, DuckdbCatalog)
        yield walker
    finally:
        backend.close()


def run_script(url: str, script: str) -> None:
    backend = open_backend(url, table="schema_migrations", readonly=False, busy_timeout=5.0)
    try:
        with transaction(backend):
            for stmt in backend.split(script):
                backend.execute(stmt.sql)
    finally:
        backend.close()


def test_schema_model(built: Path) -> None:
    with catalog(built) as cat:
        model = cat.schema()
    assert sorted(t.name for t in model.tables) == ["extra.things", "orders", "users"]
    users = next(t for t in model.tables if t.name == "users")
    assert [(c.name, c.type, c.nullable) for c in users.columns] == [
        ("id", "INTEGER", False), ("email", "VARCHAR", False),
        ("feeling", "ENUM('sad', 'ok', 'happy')", True), ("born", "DATE", True)]
    assert users.columns[0].default == "nextval('ids')"
    assert {c.kind for c in users.constraints} == {"primary", "unique", "check"}
    orders = next(t for t in model.tables if t.name == "orders")
    assert orders.columns[-1].generated is not None
    assert any(c.kind == "foreign" and "REFERENCES users" in c.definition
               for c in orders.constraints)
    assert {(i.name, i.unique) for i in model.indexes} == {
        ("orders_ts", False), ("extra.things_lower", True)}
    assert {(o.kind, o.name) for o in model.objects} == {
        ("schema", "extra"), ("type", "mood"), ("sequence", "ids"), ("view", "big_orders"),
        ("view", "extra.emails"), ("view", "z_base"), ("view", "a_top"),
        ("function", "twice"), ("function", "few")}
    assert "schema_migrations" not in "\n".join(model.lines())


def test_rebuild_script_recreates_schema_and_rows_then_drops_all(built: Path,
                                                                 tmp_path: Path) -> None:
    with catalog(built) as cat:
        up, down = cat.rebuild_script()
        model = cat.schema()
        rows = {t: cat.read_table(t) for t in ("users", "orders", "extra.things")}
        with cat.scratch() as space:
            scratch_file = Path(space.url.removeprefix("duckdb:///"))
            run_script(space.url, up)
            with catalog(scratch_file) as again:
                diff = difflib.unified_diff(model.lines(), again.schema().lines(), lineterm="")
                assert again.schema() == model, "\n".join(diff)
                assert {t: again.read_table(t) for t in rows} == rows
            conn = duckdb.connect(str(scratch_file))
            # the sequence goes on where the original stands (two values drawn)
            assert conn.execute("SELECT nextval('ids')").fetchall() == [(12,)]
            conn.close()
            run_script(space.url, down)
            with catalog(scratch_file) as emptied:
                assert emptied.schema().empty
        assert not scratch_file.parent.exists()


def test_dump_is_deterministic_and_lists_applied_rows(built: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    migration(other, "0001", "rich", RICH)
    assert cli(other, "-u", "duckdb:///app.db", "up").code == 0
    with catalog(built) as first, catalog(other / "app.db") as second:
        text = first.dump()
        assert text == second.dump()
    assert text.index("-- schemas") < text.index("-- sequences") < text.index("-- tables")
    # sorted by name, except that what is referenced or read comes first
    assert text.index("CREATE TABLE users") < text.index("CREATE TABLE orders")
    assert text.index("CREATE VIEW z_base") < text.index("CREATE VIEW a_top")
    assert text.index("CREATE VIEW a_top") < text.index("CREATE VIEW big_orders")
    assert "INSERT INTO \"schema_migrations\"" in text and "'0001', 'rich'" in text
    # the dump runs on an empty DuckDB file and gives the same model
    fresh = tmp_path / "fresh.db"
    conn = duckdb.connect(str(fresh))
    from migrator.backends.duckdb.split import split

    for stmt in split(text):
        conn.execute(stmt.sql)
    conn.close()
    with catalog(fresh) as again, catalog(built) as original:
        assert again.schema() == original.schema()


def test_read_table(built: Path) -> None:
    with catalog(built) as cat:
        assert cat.read_table("nope") is None
        assert cat.read_table("USERS") == [
            {"id": 10, "email": "a@x", "feeling": "ok", "born": datetime.date(2000, 1, 2)},
            {"id": 11, "email": "it's@x", "feeling": None, "born": None}]
        versions = cat.read_table("schema_migrations")
        assert versions is not None and versions[0]["version"] == "0001"


def test_copy_is_faithful_independent_and_removed(built: Path) -> None:
    with catalog(built, readonly=False) as cat:
        cat.backend.execute("INSERT INTO users (email) VALUES ('late@x')")  # in the WAL
        with cat.copy() as space:
            copied = Path(space.url.removeprefix("duckdb:///"))
            conn = duckdb.connect(str(copied))
            assert conn.execute("SELECT count(*) FROM users").fetchall() == [(3,)]
            conn.execute("DROP TABLE orders")
            conn.close()
        assert not copied.parent.exists()
        assert cat.read_table("orders") is not None
    with catalog(built) as cat:
        assert len(cat.read_table("users") or []) == 3


def test_scratch_is_removed_after_an_error(built: Path) -> None:
    with catalog(built) as cat, pytest.raises(RuntimeError), cat.scratch() as space:
        path = Path(space.url.removeprefix("duckdb:///"))
        run_script(space.url, "CREATE TABLE t (x INTEGER);")
        assert path.exists()
        raise RuntimeError("boom")
    assert not path.parent.exists()


def test_missing_database_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    with catalog(db) as cat:
        assert cat.schema().empty
        assert cat.read_table("users") is None
    assert not db.exists()
