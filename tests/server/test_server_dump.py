"""``migrator dump`` on PostgreSQL and MariaDB: stable bytes, every object, the applied rows.

The dump runs through pg_dump / mariadb-dump when they are installed and
through catalog queries when they are not (PATH pointed at an empty folder),
so both paths are checked against a real server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from clihelp import MakeMigrations
from serverkit import CLI_TIMEOUT, Server, cli_args, run_cli

COMMON = {
    "001_items.up.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, label VARCHAR(40));\n"
                        "CREATE INDEX items_label ON items (label);\n",
    "001_items.down.sql": "DROP TABLE items;\n",
    "002_view.up.sql": "CREATE VIEW item_labels AS SELECT label FROM items;\n",
    "002_view.down.sql": "DROP VIEW item_labels;\n",
}
PG_SERIAL = {"003_counter.up.sql": "CREATE TABLE counter (id SERIAL PRIMARY KEY, n INTEGER);\n"
                                   "INSERT INTO counter (n) VALUES (1), (2), (3);\n"}
MY_SERIAL = {"003_counter.up.sql": "CREATE TABLE counter (id INTEGER AUTO_INCREMENT PRIMARY KEY,"
                                   " n INTEGER);\n"
                                   "INSERT INTO counter (n) VALUES (1), (2), (3);\n"}


def _files(server: Server) -> dict[str, str]:
    return {**COMMON, **(PG_SERIAL if server.kind == "postgres" else MY_SERIAL)}


def _dump(server: Server, directory: Path, *, tools: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DIR")}
    if not tools:
        empty = directory.parent / "no-tools"
        empty.mkdir(exist_ok=True)
        env["PATH"] = str(empty)
    proc = subprocess.run(cli_args(server.url, directory, "dump"), capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, env=env, cwd=directory.parent)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _tool_for(server: Server) -> str | None:
    if server.kind == "postgres":
        return shutil.which("pg_dump")
    return shutil.which("mariadb-dump") or shutil.which("mysqldump")


@pytest.mark.parametrize("tools", [True, False], ids=["dump-tool", "catalog"])
def test_dump_is_stable_and_lists_objects_and_applied_rows(
        server: Server, make_migrations: MakeMigrations, tools: bool) -> None:
    if tools and _tool_for(server) is None:
        pytest.skip("no pg_dump / mysqldump on PATH")
    d = make_migrations(_files(server))
    assert run_cli(server.url, d, "up").code == 0
    first = _dump(server, d, tools=tools)
    second = _dump(server, d, tools=tools)
    assert first == second
    for name in ("items", "item_labels", "counter", "items_label"):
        assert name in first
    body, _, applied = first.partition("-- applied migrations")
    assert "schema_migrations" not in body  # the bookkeeping table comes once, at the end
    assert "\\restrict" not in first and "Dumped by" not in first
    assert "AUTO_INCREMENT=" not in first
    inserts = [ln for ln in applied.splitlines() if ln.startswith("INSERT INTO")]
    assert [ln.split("VALUES ('")[1].split("'")[0] for ln in inserts] == ["001", "002", "003"]
    assert all("schema_migrations" in ln for ln in inserts)


def test_dump_follows_the_schema_after_a_rollback(server: Server,
                                                  make_migrations: MakeMigrations) -> None:
    d = make_migrations(_files(server) | {"003_counter.down.sql": "DROP TABLE counter;\n"})
    assert run_cli(server.url, d, "up").code == 0
    before = _dump(server, d, tools=True)
    assert run_cli(server.url, d, "down").code == 0
    after = _dump(server, d, tools=True)
    assert "counter" in before and "counter" not in after
    assert after.count("INSERT INTO") == 2


def test_pg_catalog_dump_loads_back_to_the_same_schema(pg: Server,
                                                       make_migrations: MakeMigrations) -> None:
    d = make_migrations({
        **COMMON,
        "003_owner.up.sql": "CREATE TABLE owners (id INTEGER PRIMARY KEY);\n"
                            "ALTER TABLE items ADD COLUMN owner_id INTEGER "
                            "REFERENCES owners (id);\n",
    })
    assert run_cli(pg.url, d, "up").code == 0
    text = _dump(pg, d, tools=False)
    schema = pg.schema_dump()
    pg.query(f'DROP SCHEMA "{pg.namespace}" CASCADE')
    pg.conn.execute(text)  # a foreign key to a table sorted later must still load
    pg.query("SET search_path TO DEFAULT")
    assert pg.schema_dump() == schema
    assert pg.applied_versions() == ["001", "002", "003"]
    assert run_cli(pg.url, d, "verify").code == 0


def test_pg_up_down_all_up_gives_the_same_schema(pg: Server,
                                                 make_migrations: MakeMigrations) -> None:
    """Diesel-style directories that retype columns and move data, rolled back and re-applied."""
    d = make_migrations({
        "2019-09-12-100000_create/up.sql":
            "CREATE TABLE users (uuid CHAR(36) NOT NULL PRIMARY KEY, email VARCHAR(255));\n"
            "CREATE TABLE ciphers (uuid CHAR(36) NOT NULL PRIMARY KEY,\n"
            "  user_uuid CHAR(36) REFERENCES users (uuid), favorite BOOLEAN NOT NULL);\n",
        "2019-09-12-100000_create/down.sql": "DROP TABLE ciphers;\nDROP TABLE users;\n",
        "2019-09-16-150000_retype/up.sql":
            "-- CHAR to VARCHAR\nALTER TABLE users ALTER COLUMN uuid TYPE VARCHAR(40);\n"
            "ALTER TABLE ciphers ALTER COLUMN user_uuid TYPE VARCHAR(40);\n",
        "2019-09-16-150000_retype/down.sql":
            "ALTER TABLE users ALTER COLUMN uuid TYPE CHAR(36);\n"
            "ALTER TABLE ciphers ALTER COLUMN user_uuid TYPE CHAR(36);",
        "2020-08-02-025025_favorites/up.sql":
            "CREATE TABLE favorites (user_uuid VARCHAR(40) NOT NULL REFERENCES users(uuid),\n"
            "  cipher_uuid CHAR(36) NOT NULL REFERENCES ciphers(uuid),\n"
            "  PRIMARY KEY (user_uuid, cipher_uuid));\n"
            "INSERT INTO favorites(user_uuid, cipher_uuid)\n"
            "SELECT user_uuid, uuid FROM ciphers WHERE favorite = TRUE AND user_uuid IS NOT NULL;\n"
            "ALTER TABLE ciphers\nDROP COLUMN favorite;\n",
        "2020-08-02-025025_favorites/down.sql":
            "ALTER TABLE ciphers ADD COLUMN favorite BOOLEAN NOT NULL DEFAULT FALSE;\n"
            "ALTER TABLE ciphers ALTER COLUMN favorite DROP DEFAULT;\nDROP TABLE favorites;\n",
    })
    assert run_cli(pg.url, d, "up").code == 0
    once = _dump(pg, d, tools=True)
    down = run_cli(pg.url, d, "down", "--all")
    assert down.code == 0, down.stderr
    assert pg.tables() == {"schema_migrations"}
    assert run_cli(pg.url, d, "up").code == 0
    assert run_cli(pg.url, d, "verify").code == 0
    assert _dump(pg, d, tools=True) == once


@pytest.mark.parametrize("tools", [True, False], ids=["dump-tool", "catalog"])
def test_pg_table_in_its_own_schema_dumps_the_url_schema(
        pg: Server, make_migrations: MakeMigrations, tools: bool) -> None:
    d = make_migrations(COMMON)
    other = f"{pg.namespace}_meta"
    try:
        assert run_cli(pg.url, d, "--migrations-table", f"{other}.history", "up").code == 0
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if not tools:
            env["PATH"] = str(d.parent)
        proc = subprocess.run(cli_args(pg.url, d, "--migrations-table", f"{other}.history",
                                       "dump"), capture_output=True, text=True,
                              timeout=CLI_TIMEOUT, env=env, cwd=d.parent)
        assert proc.returncode == 0, proc.stderr
        body, _, applied = proc.stdout.partition("-- applied migrations")
        assert "items" in body and "item_labels" in body
        assert f'CREATE SCHEMA IF NOT EXISTS "{other}";' in applied
        assert applied.count(f'INSERT INTO "{other}"."history"') == 2
    finally:
        pg.query(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')


def test_up_dump_file_on_a_server(server: Server, make_migrations: MakeMigrations) -> None:
    d = make_migrations(COMMON)
    target = d.parent / "schema.sql"
    result = run_cli(server.url, d, "up", "--dump", str(target))
    assert result.code == 0, result.stderr
    assert target.read_text(encoding="utf-8") == _dump(server, d, tools=True)
