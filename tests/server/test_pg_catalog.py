"""PostgresBackend.catalog() against a real server: schema model, dump, rebuild
script, scratch schema, database copy, reading another tool's table."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from serverkit import PG_ENV, Server, run_cli

from migrator.backends.base import transaction
from migrator.backends.postgres.backend import PostgresBackend
from migrator.backends.postgres.scratch import with_database
from migrator.backends.postgres.split import split
from migrator.state import AppliedMigration

RICH = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a integer, b text);
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE SEQUENCE counter START 10 INCREMENT 5;
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE,
                    mood mood DEFAULT 'ok', score posint, born date);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer REFERENCES users (id) ON DELETE CASCADE,
    parent bigint REFERENCES orders (id),
    qty integer CHECK (qty > 0), price numeric(10, 2),
    total numeric GENERATED ALWAYS AS (qty * price) STORED, note text);
CREATE INDEX orders_user ON orders (user_id) WHERE qty > 1;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.note := coalesce(NEW.note, 'touched; twice'); RETURN NEW; END $$;
CREATE FUNCTION double_it(x integer) RETURNS integer LANGUAGE sql
BEGIN ATOMIC SELECT x * 2; END;
CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW big_orders AS SELECT o.id, u.email, double_it(o.qty) AS twice
    FROM orders o JOIN users u ON u.id = o.user_id WHERE o.qty > 1;
CREATE MATERIALIZED VIEW order_counts AS SELECT user_id, count(*) AS n FROM orders
    GROUP BY user_id;
COMMENT ON TABLE users IS 'people';
GRANT SELECT ON users TO PUBLIC;
INSERT INTO users (email, mood, score, born) VALUES ('a@x', 'happy', 3, '2000-01-02'),
    ('b''quote@x', 'sad', 1, NULL), ('ünïcode {ns}.users', 'ok', 2, NULL);
INSERT INTO orders (user_id, parent, qty, price) VALUES (1, NULL, 2, 9.99);
INSERT INTO orders (user_id, parent, qty, price, note) VALUES (2, 1, 1, 0.5, 'x');
REFRESH MATERIALIZED VIEW order_counts;
CREATE TABLE events (id integer, at date, tags text[], doc jsonb, raw bytea)
    PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO events VALUES (1, '2024-05-01', '{a,"b;c"}', '{"k": [1, "é"]}', '\\x00ff');
SELECT setval('counter', 42);
"""


def open_pg(url: str) -> PostgresBackend:
    return PostgresBackend(url, table="schema_migrations", readonly=False, busy_timeout=10.0)


def run_sql(backend: PostgresBackend, text: str) -> None:
    with transaction(backend):
        for stmt in split(text):
            backend.execute(stmt.sql)


@pytest.fixture
def rich(pg: Server) -> Iterator[PostgresBackend]:
    backend = open_pg(pg.url)
    try:
        backend.ensure_state_table()
        run_sql(backend, RICH.replace("{ns}", pg.namespace))
        yield backend
    finally:
        backend.close()


def sequences(backend: PostgresBackend) -> dict[str, tuple[Any, ...]]:
    names = [r[0] for r in backend.conn.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")]
    return {name: tuple(backend.conn.execute(
        f'SELECT last_value, is_called FROM "{name}"').fetchone() or ()) for name in names}


def acl(backend: PostgresBackend, table: str) -> str:
    row = backend.conn.execute("SELECT relacl::text FROM pg_class WHERE relname = %s "
                               "AND relnamespace = current_schema()::regnamespace",
                               (table,)).fetchone()
    return str(row[0] if row else "missing")


def rows(backend: PostgresBackend, table: str) -> list[tuple[Any, ...]]:
    found = backend.catalog().read_table(table)
    assert found is not None
    return sorted((tuple(sorted(row.items())) for row in found), key=repr)


def test_schema_model_says_what_the_scratch_snapshot_said(rich: PostgresBackend,
                                                           pg: Server) -> None:
    lines = rich.catalog().schema().lines()
    assert "-- table schema_migrations" not in lines
    assert "  id bigint NOT NULL GENERATED ALWAYS AS IDENTITY" in lines
    assert "  total numeric GENERATED ALWAYS AS (((qty)::numeric * price)) STORED" in lines
    assert "CREATE INDEX orders_user ON <schema>.orders USING btree (user_id) " \
           "WHERE (qty > 1)" in lines
    assert pg.namespace not in "\n".join(lines)


def test_dump_is_the_text_migrator_dump_writes(rich: PostgresBackend, pg: Server) -> None:
    with transaction(rich):
        rich.record(AppliedMigration("001", "rich", "abc", "2026-01-01T00:00:00.000Z", 5))
    text = rich.catalog().dump()
    cli = subprocess.run([sys.executable, "-m", "migrator", "--url", pg.url, "dump"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert text == cli.stdout
    assert "CREATE TABLE" in text and "\\restrict" not in text
    assert "VALUES ('001', 'rich', 'abc'," in text


def test_rebuild_script_recreates_every_object_and_row(rich: PostgresBackend,
                                                      pg: Server) -> None:
    catalog = rich.catalog()
    up, down = catalog.rebuild_script()
    assert "schema_migrations" not in up
    assert up.count(pg.namespace) == 1  # only in a row's text: every qualifier is gone
    with catalog.scratch() as space:
        target = open_pg(space.url)
        try:
            run_sql(target, up)
            assert target.catalog().schema() == catalog.schema()
            for table in ("users", "orders", "order_counts", "events"):
                assert rows(target, table) == rows(rich, table)
            assert sequences(target) == sequences(rich)
            assert sequences(rich)["counter"] == (42, True)
            assert acl(target, "users") == acl(rich, "users") != "None"
            assert target.conn.execute("SELECT obj_description('users'::regclass)"
                                       ).fetchone() == ("people",)
            # the rebuilt objects work: identity, trigger and function carry on
            run_sql(target, "INSERT INTO orders (user_id, qty, price) VALUES (3, 2, 1);")
            assert target.conn.execute("SELECT max(id), max(note) FROM orders "
                                       "WHERE user_id = 3").fetchone() == (3, "touched; twice")
            run_sql(target, down)
            assert target.catalog().schema().empty
        finally:
            target.close()


def test_read_table(rich: PostgresBackend, pg: Server) -> None:
    catalog = rich.catalog()
    users = catalog.read_table("users")
    assert users is not None and len(users) == 3
    assert {"id": 1, "email": "a@x"}.items() <= users[0].items()
    assert catalog.read_table(f"{pg.namespace}.orders") is not None
    assert catalog.read_table("no_such_table") is None
    assert catalog.read_table("nowhere.users") is None


def schema_exists(pg: Server, name: str) -> bool:
    return bool(pg.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)))


def test_scratch_schema_is_empty_and_dropped_even_after_an_error(rich: PostgresBackend,
                                                                 pg: Server) -> None:
    catalog = rich.catalog()
    with catalog.scratch() as space:
        name = space.name.removeprefix("schema ")
        assert name.startswith("migrator_test_") and schema_exists(pg, name)
        assert f"search_path={name}" in space.url and space.table == "schema_migrations"
        target = open_pg(space.url)
        try:
            assert target.catalog().schema().empty
        finally:
            target.close()
    assert not schema_exists(pg, name)
    with pytest.raises(RuntimeError), catalog.scratch() as space:
        name = space.name.removeprefix("schema ")
        raise RuntimeError("a failing migration")
    assert not schema_exists(pg, name)


@pytest.fixture
def database() -> Iterator[str]:
    """A database of its own: the template copy needs nobody else connected."""
    import os

    base = os.environ.get(PG_ENV) or pytest.skip(f"{PG_ENV} is not set")
    name = f"mt_db_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield with_database(base, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(url: str, name: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


@pytest.mark.parametrize("busy", [False, True], ids=["template", "pg_dump"])
def test_copy_is_faithful_and_never_writes_the_source(database: str, busy: bool) -> None:
    source = open_pg(database)
    other = psycopg.connect(database, autocommit=True) if busy else None
    try:
        source.ensure_state_table()
        run_sql(source, "CREATE SCHEMA side; CREATE TABLE side.t (v text);"
                        "INSERT INTO side.t VALUES ('elsewhere');"
                        "CREATE TABLE items (id serial PRIMARY KEY, name text);"
                        "INSERT INTO items (name) VALUES ('a'), ('b');")
        session = source.conn.info.backend_pid
        with source.catalog().copy() as space:
            name = space.name.removeprefix("database ")
            assert name.startswith("migrator_rehearse_")
            copy = open_pg(space.url)
            try:
                assert rows(copy, "items") == rows(source, "items")
                assert rows(copy, "side.t") == [(("v", "elsewhere"),)]
                assert sequences(copy) == sequences(source)
                run_sql(copy, "INSERT INTO items (name) VALUES ('c'); DROP TABLE side.t;")
            finally:
                copy.close()
        assert not database_exists(database, name)
        # the template copy needs the source idle: our own session was closed for it
        assert (source.conn.info.backend_pid == session) is busy
        assert len(rows(source, "items")) == 2 and rows(source, "side.t")
    finally:
        source.close()
        if other is not None:
            other.close()


def test_rehearse_reports_the_size_of_the_copy(database: str, tmp_path: Any) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "1_big.up.sql").write_text("CREATE TABLE big AS SELECT g AS id, repeat('x', 500) "
                                    "AS pad FROM generate_series(1, 20000) g;\n")
    assert run_cli(database, d, "up").code == 0
    (d / "2_more.up.sql").write_text("CREATE TABLE more (id INTEGER);\n")
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    result = run_cli(database, d, "rehearse", "--json")
    assert result.code == 0, result.stderr
    size = result.json()["size_bytes"]
    # the copy holds the ~11 MB table: the same size as its source, give or take pages
    assert 0.8 * row[0] < size < 1.25 * row[0], (size, row[0])


def test_rebuild_in_a_schema_whose_name_needs_quotes(pg: Server) -> None:
    from urllib.parse import quote

    name = f"Mt Case {uuid.uuid4().hex[:8]}"
    base = pg.admin_url
    url = base + ("&" if "?" in base else "?") + "search_path=" + quote(f'"{name}"')
    source = open_pg(url)
    try:
        source.ensure_state_table()
        run_sql(source, "CREATE TABLE t (id serial PRIMARY KEY, v text);"
                        "CREATE VIEW w AS SELECT * FROM t; INSERT INTO t (v) VALUES ('x');")
        catalog = source.catalog()
        assert catalog.namespace == name
        up, _down = catalog.rebuild_script()
        assert name not in up
        with catalog.scratch() as space:
            target = open_pg(space.url)
            try:
                run_sql(target, up)
                assert target.catalog().schema() == catalog.schema()
                assert rows(target, "t") == rows(source, "t")
            finally:
                target.close()
    finally:
        source.conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        source.close()
