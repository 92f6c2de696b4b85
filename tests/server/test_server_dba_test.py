"""``migrator test`` on a server: a scratch schema (PostgreSQL) or database (MariaDB)
holds the run, catalog snapshots find downs that forget something, and the
scratch namespace is dropped afterwards, also when a migration fails."""

from __future__ import annotations

import re
import signal
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

from clihelp import MakeMigrations
from serverkit import Result, Server, run_cli, start_cli

PG_REVERSIBLE = {
    "001_items.up.sql": (
        "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL DEFAULT 'x',\n"
        "  code text UNIQUE, qty int CHECK (qty >= 0));\n"
        "CREATE INDEX items_name ON items (lower(name));\n"
        "CREATE VIEW named AS SELECT id, name FROM items WHERE name <> '';\n"
        "CREATE TYPE mood AS ENUM ('calm', 'busy');\n"
    ),
    "001_items.down.sql": "DROP TYPE mood;\nDROP VIEW named;\nDROP TABLE items;\n",
    "002_trigger.up.sql": (
        "CREATE FUNCTION lower_name() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN NEW.name := lower(NEW.name); RETURN NEW; END $$;\n"
        "CREATE TRIGGER items_lower BEFORE INSERT ON items\n"
        "  FOR EACH ROW EXECUTE FUNCTION lower_name();\n"
    ),
    "002_trigger.down.sql": "DROP TRIGGER items_lower ON items;\nDROP FUNCTION lower_name();\n",
    "003_price.up.sql": "ALTER TABLE items ADD COLUMN price numeric(10, 2);\n",
    "003_price.down.sql": "ALTER TABLE items DROP COLUMN price;\n",
}

MY_REVERSIBLE = {
    "001_items.up.sql": (
        "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL,\n"
        "  code VARCHAR(10) UNIQUE);\n"
        "CREATE INDEX items_name ON items (name);\n"
        "CREATE VIEW named AS SELECT id, name FROM items;\n"
        "INSERT INTO items (name) VALUES ('a'), ('b');\n"
    ),
    "001_items.down.sql": "DROP VIEW named;\nDROP TABLE items;\n",
    "002_trigger.up.sql": (
        "CREATE TRIGGER items_upper BEFORE INSERT ON items\n"
        "  FOR EACH ROW SET NEW.name = UPPER(NEW.name);\n"
    ),
    "002_trigger.down.sql": "DROP TRIGGER items_upper;\n",
    "003_price.up.sql": "ALTER TABLE items ADD COLUMN price DECIMAL(10, 2);\n",
    "003_price.down.sql": "ALTER TABLE items DROP COLUMN price;\n",
}

SCRATCH = re.compile(r"scratch (?:schema|database) (migrator_test_[0-9a-f]{12})")


def scratch_of(result: Result) -> str:
    match = SCRATCH.search(result.stderr)
    assert match, result.stderr
    return match.group(1)


def namespace_exists(server: Server, name: str) -> bool:
    rows = server.query(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s", (name,))
    return bool(rows)


def test_reversible_set_passes_and_the_scratch_namespace_is_dropped(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations(PG_REVERSIBLE if server.kind == "postgres" else MY_REVERSIBLE)
    result = run_cli(server.url, d, "test", "--json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["ok"] is True
    assert [(m["version"], m["outcome"]) for m in doc["migrations"]] == [
        ("001", "passed"), ("002", "passed"), ("003", "passed")]
    name = scratch_of(result)
    assert doc["scratch"].endswith(name)
    assert not namespace_exists(server, name)
    assert server.tables() == set()  # the database the URL names is not touched


def test_forgotten_index_is_reported_with_a_readable_diff(
    server: Server, make_migrations: MakeMigrations
) -> None:
    files = dict(PG_REVERSIBLE if server.kind == "postgres" else MY_REVERSIBLE)
    files["004_code_idx.up.sql"] = "CREATE INDEX items_qty_code ON items (code, id);\n"
    files["004_code_idx.down.sql"] = "SELECT 1;\n"  # forgets the index
    d = make_migrations(files)
    result = run_cli(server.url, d, "test")
    assert result.code == 1, result.stdout + result.stderr
    assert "passed          003_price" in result.stdout
    assert "not-restored    004_code_idx" in result.stdout
    assert "--- schema before 004_code_idx up" in result.stdout
    assert "+++ schema after 004_code_idx down" in result.stdout
    added = [line.strip() for line in result.stdout.splitlines()
             if line.strip().startswith("+") and "items_qty_code" in line]
    assert added, result.stdout
    if server.kind == "postgres":
        assert "+CREATE INDEX items_qty_code ON <schema>.items USING btree (code, id)" in added
    else:
        assert any("KEY `items_qty_code` (`code`,`id`)" in line for line in added)
    assert "migrator_test_" not in result.stdout  # the random name is a placeholder
    assert not namespace_exists(server, scratch_of(result))


def test_forgotten_column_is_reported_and_stops_the_run(
    server: Server, make_migrations: MakeMigrations
) -> None:
    files = dict(PG_REVERSIBLE if server.kind == "postgres" else MY_REVERSIBLE)
    files["003_price.down.sql"] = "SELECT 1;\n"  # forgets the column
    files["004_later.up.sql"] = "CREATE TABLE later (id int);\n"
    files["004_later.down.sql"] = "DROP TABLE later;\n"
    d = make_migrations(files)
    result = run_cli(server.url, d, "test", "--json")
    assert result.code == 1, result.stdout + result.stderr
    by_version = {m["version"]: m for m in result.json()["migrations"]}
    assert by_version["003"]["outcome"] == "not-restored"
    assert "004" not in by_version  # the scratch namespace is stuck after a bad down
    diff = by_version["003"]["diff"]
    plus = [line for line in diff.splitlines() if line.startswith("+") and "price" in line]
    assert plus, diff
    assert not namespace_exists(server, scratch_of(result))


def test_scratch_namespace_is_dropped_when_an_up_fails(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "001_ok.up.sql": "CREATE TABLE ok (id int);\n",
        "001_ok.down.sql": "DROP TABLE ok;\n",
        "002_bad.up.sql": "CREATE TABLE bad (id int);\nSELECT * FROM no_such_table;\n",
        "002_bad.down.sql": "DROP TABLE bad;\n",
    })
    result = run_cli(server.url, d, "test", "--json")
    assert result.code == 1, result.stdout + result.stderr
    assert [m["outcome"] for m in result.json()["migrations"]] == ["passed", "failed"]
    assert not namespace_exists(server, scratch_of(result))
    assert server.tables() == set()


def test_snapshot_covers_functions_triggers_views_and_types_on_postgres(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    files = dict(PG_REVERSIBLE)
    files["002_trigger.down.sql"] = "DROP TRIGGER items_lower ON items;\n"  # keeps the function
    files["001_items.down.sql"] = "DROP VIEW named;\nDROP TABLE items;\n"  # keeps the type
    d = make_migrations(files)
    result = run_cli(pg.url, d, "test", "--json")
    assert result.code == 1
    by_version = {m["version"]: m for m in result.json()["migrations"]}
    assert by_version["001"]["outcome"] == "not-restored"
    assert "+-- type mood" in by_version["001"]["diff"].splitlines()
    files["001_items.down.sql"] = PG_REVERSIBLE["001_items.down.sql"]
    make_migrations(files)
    result = run_cli(pg.url, d, "test", "--json")
    by_version = {m["version"]: m for m in result.json()["migrations"]}
    assert by_version["001"]["outcome"] == "passed"
    assert by_version["002"]["outcome"] == "not-restored"
    assert "+-- function lower_name()" in by_version["002"]["diff"].splitlines()


def test_from_db_and_rehearse_are_refused_on_a_server(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations(PG_REVERSIBLE if server.kind == "postgres" else MY_REVERSIBLE)
    result = run_cli(server.url, d, "test", "--from-db", server.url)
    assert result.code == 2
    assert "--from-db" in result.stderr
    result = run_cli(server.url, d, "rehearse")
    assert result.code == 2
    assert "SQLite databases only" in result.stderr
    assert "migrator test" in result.stderr
    assert "staging" in result.stderr
    assert server.tables() == set()


def test_scratch_schema_is_dropped_when_the_run_is_terminated(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        # Short sleeps: a signal is handled between statements, not inside one.
        "001_slow.up.sql": "CREATE TABLE slow (id int);\n" + "SELECT pg_sleep(1);\n" * 120,
        "001_slow.down.sql": "DROP TABLE slow;\n",
    })
    scratch_sql = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'migrator\\_test\\_%'"
    before = {r[0] for r in pg.query(scratch_sql)}
    proc = start_cli(pg.url, d, "test")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            sleeping = pg.query(
                "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s "
                "AND query LIKE %s", (f"%pid {proc.pid}", "%pg_sleep%"))
            if sleeping:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the migration never started")
        created = {r[0] for r in pg.query(scratch_sql)} - before
        assert created
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143
    deadline = time.monotonic() + 60  # another run's scratch schema may be in the set too
    while {r[0] for r in pg.query(scratch_sql)} & created and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not {r[0] for r in pg.query(scratch_sql)} & created


def test_mysql_user_without_create_database_gets_a_clear_error(
    my: Server, make_migrations: MakeMigrations
) -> None:
    user = f"mt_{uuid.uuid4().hex[:10]}"
    my.query(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        my.query(f"GRANT ALL ON `{my.namespace}`.* TO '{user}'@'%'")
        parts = urlsplit(my.url)
        url = urlunsplit((parts.scheme, f"{user}:pw@{parts.hostname}:{parts.port or 3306}",
                          parts.path, parts.query, ""))
        d = make_migrations(MY_REVERSIBLE)
        result = run_cli(url, d, "test")
        assert result.code == 2, result.stdout + result.stderr
        assert "cannot create the scratch database migrator_test_" in result.stderr
        assert "CREATE and DROP databases" in result.stderr
        assert my.tables() == set()
    finally:
        my.query(f"DROP USER '{user}'@'%'")
