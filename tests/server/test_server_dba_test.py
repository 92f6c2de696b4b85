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


def qualified(server: Server, table: str) -> str:
    """A table in the test's namespace: the admin connection has its own search_path."""
    q = '"' if server.kind == "postgres" else "`"
    return f"{q}{server.namespace}{q}.{q}{table}{q}"


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


def test_from_db_tests_pending_migrations_on_a_copy_of_the_server_database(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations(PG_REVERSIBLE if server.kind == "postgres" else MY_REVERSIBLE)
    assert run_cli(server.url, d, "up", "--to", "001").code == 0
    before = (server.schema_dump(), server.rows("items"), server.applied_versions())
    result = run_cli(server.url, d, "test", "--from-db", server.url, "--json")
    assert result.code == 0, result.stdout + result.stderr
    assert [(m["version"], m["outcome"]) for m in result.json()["migrations"]] == [
        ("001", "already-applied"), ("002", "passed"), ("003", "passed")]
    assert (server.schema_dump(), server.rows("items"), server.applied_versions()) == before


def _rehearsal_files(server: Server) -> dict[str, str]:
    if server.kind == "postgres":
        users = "CREATE TABLE users (id serial PRIMARY KEY, email text);\n"
        plan = "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';\n"
    else:
        users = "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100));\n"
        plan = "ALTER TABLE users ADD COLUMN plan VARCHAR(10) NOT NULL DEFAULT 'free';\n"
    return {
        "1_users.up.sql": users, "1_users.down.sql": "DROP TABLE users;\n",
        "2_plan.up.sql": plan, "2_plan.down.sql": "ALTER TABLE users DROP COLUMN plan;\n",
        "3_unique.up.sql": "SELECT 1;\nCREATE UNIQUE INDEX users_email ON users (email);\n",
        "3_unique.down.sql": "DROP INDEX users_email" + (
            " ON users;\n" if server.kind == "mysql" else ";\n"),
    }


def _gone(server: Server, copy: str) -> bool:
    """The copy's namespace, whatever kind the dialect made, is no longer there."""
    name = copy.split()[-1] if copy else ""
    if not name:
        return True
    if server.kind == "postgres" and server.query(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
        return False
    return not namespace_exists(server, name)


def test_rehearse_runs_on_a_copy_and_never_writes_the_server_database(
    server: Server, make_migrations: MakeMigrations
) -> None:
    from migrator.dba.rehearse import rehearse
    from migrator.progress import Progress

    d = make_migrations(_rehearsal_files(server))
    assert run_cli(server.url, d, "up", "--to", "1").code == 0
    server.query(f"INSERT INTO {qualified(server, 'users')} (email) VALUES ('a@example.com'), "
                 "('b@example.com'), ('a@example.com')")
    before = (server.schema_dump(), server.rows("users"), server.applied_versions())
    result = run_cli(server.url, d, "rehearse", "--json")
    assert result.code == 1, result.stdout + result.stderr
    doc = result.json()
    assert doc["rehearsal"] is True and doc["ok"] is False
    assert doc["pending"] == ["2_plan", "3_unique"]
    assert [a["version"] for a in doc["applied"]] == ["2"]
    assert doc["error"]["version"] == "3" and doc["error"]["line"] == 2
    assert "the copy was discarded" in result.stderr
    assert (server.schema_dump(), server.rows("users"), server.applied_versions()) == before

    ok = run_cli(server.url, d, "rehearse", "--to", "2", "--json")
    assert ok.code == 0, ok.stdout + ok.stderr
    assert [a["version"] for a in ok.json()["applied"]] == ["2"]
    assert (server.schema_dump(), server.rows("users"), server.applied_versions()) == before
    status = run_cli(server.url, d, "status", "--json").json()
    assert [m["state"] for m in status["migrations"]] == ["applied", "pending", "pending"]

    r = rehearse(server.url, d, "schema_migrations", Progress(), to="2")
    assert r.failure is None and r.pending == ["2_plan"]
    assert r.source.startswith(server.kind)  # the server's redacted URL, not a file name
    assert _gone(server, r.copy)


def _squash_files(server: Server) -> dict[str, str]:
    if server.kind == "postgres":
        items = "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);\n"
    else:
        items = ("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, "
                 "name VARCHAR(40) NOT NULL);\n")
    return {
        "001_items.up.sql": items + "INSERT INTO items (name) VALUES ('a'), ('b');\n",
        "001_items.down.sql": "DROP TABLE items;\n",
        "002_names/up.sql": "CREATE VIEW names AS SELECT name FROM items;\n"
                            "CREATE INDEX items_name ON items (name);\n"
                            "INSERT INTO items (name) VALUES ('it''s');\n",
        "002_names/down.sql": "DROP VIEW names;\nDELETE FROM items WHERE name = 'it''s';\n"
                              "DROP INDEX items_name ON items;\n"
                              if server.kind == "mysql" else
                              "DROP VIEW names;\nDELETE FROM items WHERE name = 'it''s';\n"
                              "DROP INDEX items_name;\n",
    }


def test_squash_and_history_rewrite_on_a_server(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations(_squash_files(server))
    assert run_cli(server.url, d, "up").code == 0
    schema, rows = server.schema_dump(), server.rows("items")
    result = run_cli(server.url, d, "squash", "--to", "002", "--json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert [m["version"] for m in doc["squashed"]] == ["001", "002"]
    assert sorted(p.name for p in d.iterdir()) == [
        "002_squashed.down.sql", "002_squashed.up.sql", "squashed"]
    up = (d / "002_squashed.up.sql").read_text(encoding="utf-8")
    assert "-- squash of migrations 001_items, 002_names;" in up
    assert "migrator_test_" not in up  # the scratch namespace's name never leaks
    assert (server.schema_dump(), server.rows("items")) == (schema, rows)  # nothing ran here

    assert run_cli(server.url, d, "up", "--dry-run").code == 0  # the next up follows
    history = run_cli(server.url, d, "squash", "--to", "002", "--history-only", "--json")
    assert history.code == 0, history.stdout + history.stderr
    assert history.json() == {"removed": ["001", "002"], "recorded": "002"}
    assert run_cli(server.url, d, "verify").code == 0

    # the squashed down empties the namespace; its up rebuilds schema, rows and counters
    down = run_cli(server.url, d, "down")
    assert down.code == 0, down.stdout + down.stderr
    assert "items" not in server.tables()
    again = run_cli(server.url, d, "up")
    assert again.code == 0, again.stdout + again.stderr
    assert (server.schema_dump(), server.rows("items")) == (schema, rows)
    server.query(f"INSERT INTO {qualified(server, 'items')} (name) VALUES ('next')")
    assert max(r[0] for r in server.rows("items")) == max(r[0] for r in rows) + 1


def test_adopt_another_tools_history_on_a_server(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations(PG_REVERSIBLE if server.kind == "postgres" else MY_REVERSIBLE)
    ours = "migrator_migrations"
    if server.kind == "postgres":  # the fixture's schema exists once something is migrated
        server.query(f'CREATE SCHEMA IF NOT EXISTS "{server.namespace}"')
    dbmate = qualified(server, "schema_migrations")
    server.query(f"CREATE TABLE {dbmate} (version VARCHAR(128) PRIMARY KEY)")
    server.query(f"INSERT INTO {dbmate} (version) VALUES ('001'), ('002')")
    dry = run_cli(server.url, d, "--migrations-table", ours, "adopt", "--from", "dbmate",
                  "--dry-run", "--json")
    assert dry.code == 0, dry.stdout + dry.stderr
    assert [m["version"] for m in dry.json()["recorded"]] == ["001", "002"]
    assert ours not in server.tables()
    real = run_cli(server.url, d, "--migrations-table", ours, "adopt", "--from", "dbmate",
                   "--json")
    assert real.code == 0, real.stdout + real.stderr
    assert server.applied_versions(ours) == ["001", "002"]
    assert server.applied_versions("schema_migrations") == ["001", "002"]  # only read
    status = run_cli(server.url, d, "--migrations-table", ours, "status", "--json").json()
    assert [m["state"] for m in status["migrations"]] == ["applied", "applied", "pending"]

    gm = qualified(server, "gm")
    server.query(f"CREATE TABLE {gm} (version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL)")
    server.query(f"INSERT INTO {gm} VALUES (2, TRUE)")
    other = "gm_migrations"
    dirty = run_cli(server.url, d, "--migrations-table", other, "adopt", "--from",
                    "golang-migrate", "--source-table", "gm")
    assert dirty.code == 3, dirty.stdout + dirty.stderr
    assert "marked version 2 dirty" in dirty.stderr
    assert other not in server.tables()  # a refused adoption leaves no trace


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
