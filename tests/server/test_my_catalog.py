"""MysqlBackend.catalog() on a real MariaDB: the schema model, the dump, scratch
databases, the copy for rehearse and the rebuild script for squash."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from serverkit import CLI_TIMEOUT, Server, cli_args, run_cli

from migrator.backends.mysql.backend import MysqlBackend
from migrator.errors import ConfigError
from migrator.schema import Schema

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]

FILES = {
    "001_tables.up.sql": (
        "SET FOREIGN_KEY_CHECKS = 0;  -- orders names a table made after it\n"
        "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY,\n"
        "  customer_id INT NOT NULL, total DECIMAL(10, 2), placed DATETIME,\n"
        "  doubled DECIMAL(12, 2) AS (total * 2) STORED, note TEXT, raw BLOB,\n"
        "  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES zcustomers (id),\n"
        "  KEY orders_placed (placed)) ENGINE=InnoDB;\n"
        "CREATE TABLE zcustomers (id INT AUTO_INCREMENT PRIMARY KEY,\n"
        "  name VARCHAR(50) NOT NULL UNIQUE) ENGINE=InnoDB;\n"
        "SET FOREIGN_KEY_CHECKS = 1;\n"
        "CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100));\n"
        "INSERT INTO zcustomers (name) VALUES ('ann'), ('O''Brien'), ('back\\\\slash'),"
        " ('émile');\n"
        "INSERT INTO orders (customer_id, total, placed, note, raw) VALUES\n"
        "  (1, 10.50, '2026-01-02 03:04:05', NULL, X'00FF0A27'),\n"
        "  (2, 0.00, NULL, 'semi;colon\\nnewline', NULL);\n"
        "DELETE FROM orders WHERE id = 2;\n"  # the counter stays past the rows
        "INSERT INTO orders (customer_id, total) VALUES (4, 99.99);\n"
    ),
    "001_tables.down.sql": "DROP TABLE log;\nDROP TABLE orders;\nDROP TABLE zcustomers;\n",
    "002_programs.up.sql": (
        "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 50;\n"
        "CREATE VIEW a_biggest AS SELECT MAX(total) AS top FROM big_orders;\n"
        "DELIMITER //\n"
        "CREATE TRIGGER orders_log AFTER INSERT ON orders FOR EACH ROW BEGIN\n"
        "  INSERT INTO log (what) VALUES (CONCAT('order ', NEW.id));\n"
        "END //\n"
        "CREATE PROCEDURE add_order(IN c INT, IN t DECIMAL(10, 2))\n"
        "BEGIN\n  INSERT INTO orders (customer_id, total) VALUES (c, t);\nEND //\n"
        "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN x * 2;\nEND //\n"
        "DELIMITER ;\n"
        "CALL add_order(1, 75.00);\n"
        "CREATE FUNCTION site() RETURNS TEXT DETERMINISTIC RETURN 'https://example.org/';\n"
        "CREATE EVENT purge_log ON SCHEDULE EVERY 1 DAY DO DELETE FROM log WHERE n < 0;\n"
    ),
    "002_programs.down.sql": (
        "DROP EVENT purge_log;\nDROP FUNCTION site;\nDROP FUNCTION twice;\n"
        "DROP PROCEDURE add_order;\nDROP TRIGGER orders_log;\n"
        "DROP VIEW a_biggest;\nDROP VIEW big_orders;\n"
    ),
}
USER_TABLES = ["log", "orders", "zcustomers"]


@pytest.fixture
def built(my: Server, make_migrations: MakeMigrations) -> Iterator[MysqlBackend]:
    d = make_migrations(FILES)
    result = run_cli(my.url, d, "up")
    assert result.code == 0, result.stderr
    backend = MysqlBackend(my.url, table="schema_migrations", readonly=True, busy_timeout=5)
    try:
        yield backend
    finally:
        backend.close()


def _open(url: str) -> MysqlBackend:
    return MysqlBackend(url, table="schema_migrations", readonly=False, busy_timeout=5)


def _databases(my: Server) -> set[str]:
    return {str(r[0]) for r in my.query("SHOW DATABASES LIKE 'migrator\\_test\\_%'")}


def _counters(backend: MysqlBackend) -> dict[str, int]:
    rows = backend._query("SELECT table_name, auto_increment FROM information_schema.tables "
                          "WHERE table_schema = DATABASE() AND auto_increment IS NOT NULL")
    return {str(t): int(n) for t, n in rows}


def _contents(backend: MysqlBackend, tables: list[str]) -> dict[str, object]:
    catalog = backend.catalog()
    return {t: catalog.read_table(t) for t in tables}


# --------------------------------------------------------------------------- schema

def test_schema_describes_what_migrations_built(built: MysqlBackend, my: Server) -> None:
    schema = built.catalog().schema()
    assert [t.name for t in schema.tables] == ["log", "orders", "zcustomers"]
    assert sorted((o.kind, o.name) for o in schema.objects) == [
        ("event", "purge_log"), ("function", "site"), ("function", "twice"),
        ("procedure", "add_order"), ("trigger", "orders_log"),
        ("view", "a_biggest"), ("view", "big_orders")]
    assert next(o for o in schema.objects if o.kind == "trigger").table == "orders"
    lines = schema.lines()
    text = "\n".join(lines)
    assert "AUTO_INCREMENT=" not in text and "DEFINER=" not in text
    assert my.namespace not in text
    assert "schema_migrations" not in text
    assert lines[0] == "-- table log"
    assert "  CONSTRAINT `orders_customer` FOREIGN KEY (`customer_id`) REFERENCES " \
           "`zcustomers` (`id`)" in lines
    assert "-- procedure add_order" in lines and "-- view a_biggest" in lines


def test_equal_databases_have_equal_schemas(built: MysqlBackend, my: Server,
                                            make_migrations: MakeMigrations) -> None:
    time.sleep(1.1)  # the event's STARTS (its creation time) differs: not the schema
    with built.catalog().scratch() as space:
        assert run_cli(space.url, make_migrations(FILES), "up").code == 0
        other = _open(space.url)
        try:
            assert other.catalog().schema() == built.catalog().schema()
            other._query("ALTER TABLE log ADD COLUMN extra INT")
            assert other.catalog().schema() != built.catalog().schema()
        finally:
            other.close()


def test_an_empty_database_has_an_empty_schema(my: Server) -> None:
    backend = _open(my.url)
    try:
        backend.ensure_state_table()
        assert backend.catalog().schema() == Schema()
        assert backend.catalog().schema().empty
    finally:
        backend.close()


# --------------------------------------------------------------------------- dump

def _cli_dump(my: Server, directory: Path, *, tools: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DIR")}
    if not tools:
        empty = directory.parent / "no-tools"
        empty.mkdir(exist_ok=True)
        env["PATH"] = str(empty)
    proc = subprocess.run(cli_args(my.url, directory, "dump"), capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, env=env, cwd=directory.parent, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("tools", [True, False], ids=["mysqldump", "show-create"])
def test_dump_is_migrator_dump(built: MysqlBackend, my: Server, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch, tools: bool) -> None:
    directory = tmp_path / "migrations"
    if not tools:
        (tmp_path / "empty").mkdir()
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    text = built.catalog().dump()
    monkeypatch.undo()
    assert text == _cli_dump(my, directory, tools=tools)
    assert text.startswith("-- schema dump written by 'migrator dump'; do not edit\n")
    assert "AUTO_INCREMENT=" not in text
    assert text.count("INSERT INTO `schema_migrations`") == 2


# --------------------------------------------------------------------------- scratch

def test_scratch_is_an_empty_database_dropped_on_exit(built: MysqlBackend, my: Server) -> None:
    before = _databases(my)
    with built.catalog().scratch() as space:
        name = space.name.removeprefix("database ")
        assert space.name.startswith("database migrator_test_")
        assert space.table == "schema_migrations"
        assert urlsplit(space.url).path == f"/{name}"
        assert _databases(my) == before | {name}
        inside = _open(space.url)
        try:
            assert inside.database == name
            assert inside.catalog().schema().empty
        finally:
            inside.close()
    assert _databases(my) == before


def test_scratch_is_dropped_after_an_error(built: MysqlBackend, my: Server) -> None:
    before = _databases(my)
    with pytest.raises(RuntimeError), built.catalog().scratch():
        assert len(_databases(my)) == len(before) + 1
        raise RuntimeError("a migration failed")
    assert _databases(my) == before


def test_scratch_without_the_privilege_is_a_config_error(my: Server) -> None:
    user = f"mt_{uuid.uuid4().hex[:10]}"
    my.query(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        my.query(f"GRANT ALL ON `{my.namespace}`.* TO '{user}'@'%'")
        parts = urlsplit(my.url)
        url = urlunsplit((parts.scheme, f"{user}:pw@{parts.hostname}:{parts.port or 3306}",
                          parts.path, parts.query, ""))
        backend = _open(url)
        try:
            with pytest.raises(ConfigError) as caught, backend.catalog().scratch():
                pass
        finally:
            backend.close()
        message = str(caught.value)
        assert message.startswith("cannot create the scratch database migrator_test_")
        assert "needs a user that may CREATE and DROP databases" in message
        assert "pw@" not in message
    finally:
        my.query(f"DROP USER '{user}'@'%'")


# --------------------------------------------------------------------------- copy

def test_copy_is_faithful_and_leaves_the_source_alone(built: MysqlBackend, my: Server) -> None:
    tables = [*USER_TABLES, "schema_migrations"]
    source_schema, source_rows = built.catalog().schema(), _contents(built, tables)
    source_counters = _counters(built)
    assert source_rows["log"] and source_counters["orders"] == 5
    before = _databases(my)
    with built.catalog().copy() as space:
        copy = _open(space.url)
        try:
            copied = copy.catalog().schema()
            assert copied.tables == source_schema.tables
            assert [o for o in copied.objects if o.kind != "event"] == \
                [o for o in source_schema.objects if o.kind != "event"]
            event = next(o.definition for o in copied.objects if o.kind == "event")
            assert "ON COMPLETION NOT PRESERVE DISABLE DO DELETE FROM log" in event
            assert copy._query("SELECT status FROM information_schema.events WHERE "
                               "event_schema = DATABASE()") == [("DISABLED",)]
            # the trigger was made after the rows: the copy's log is the source's
            assert _contents(copy, tables) == source_rows
            assert _counters(copy) == source_counters
            copy._query("CALL add_order(2, 60.00)")  # routines and triggers work in the copy
            assert copy._query("SELECT MAX(id), twice(21) FROM orders") == [(5, 42)]
            assert copy._query("SELECT COUNT(*) FROM log") == [(len(source_rows["log"]) + 1,)]
        finally:
            copy.close()
    assert _databases(my) == before
    assert built.catalog().schema() == source_schema
    assert _contents(built, tables) == source_rows


def test_rehearsing_on_the_copy_applies_pending_migrations_there_only(
    built: MysqlBackend, my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({**FILES, "003_more.up.sql": "ALTER TABLE log ADD COLUMN at INT;\n"})
    with built.catalog().copy() as space:
        result = run_cli(space.url, d, "up")
        assert result.code == 0, result.stderr
        assert "003_more" in result.stderr and "001_tables" not in result.stderr
    assert "at" not in {str(r[0]) for r in my.query("SHOW COLUMNS FROM log")}


# --------------------------------------------------------------------------- rebuild

def test_rebuild_script_recreates_schema_rows_and_counters(
    built: MysqlBackend, tmp_path: Path
) -> None:
    up, down = built.catalog().rebuild_script()
    assert "DEFINER=" not in up
    assert "\nDELIMITER $$1$$\n" in up  # '//' is in a function's body
    assert "schema_migrations" not in up + down
    squashed = tmp_path / "squashed"
    squashed.mkdir()
    (squashed / "1_squashed.up.sql").write_text(up)
    (squashed / "1_squashed.down.sql").write_text(down)
    with built.catalog().scratch() as space:
        applied = run_cli(space.url, squashed, "up")
        assert applied.code == 0, applied.stderr
        rebuilt = _open(space.url)
        try:
            assert rebuilt.catalog().schema() == built.catalog().schema()
            assert _contents(rebuilt, USER_TABLES) == _contents(built, USER_TABLES)
            assert _counters(rebuilt) == {t: n for t, n in _counters(built).items()
                                          if t in USER_TABLES}
            assert run_cli(space.url, squashed, "down").code == 0
            assert rebuilt.catalog().schema().empty
        finally:
            rebuilt.close()


# --------------------------------------------------------------------------- read_table

def test_read_table_gives_rows_as_dicts_or_none(built: MysqlBackend, my: Server) -> None:
    catalog = built.catalog()
    rows = catalog.read_table("zcustomers")
    assert rows is not None
    assert [r["name"] for r in rows] == ["ann", "O'Brien", "back\\slash", "émile"]
    assert set(rows[0]) == {"id", "name"}
    applied = catalog.read_table("schema_migrations")
    assert applied is not None and [r["version"] for r in applied] == ["001", "002"]
    assert catalog.read_table(f"{my.namespace}.zcustomers") == rows
    assert catalog.read_table("no_such_table") is None
    assert catalog.read_table("nowhere_db.zcustomers") is None


def test_rehearse_reports_the_size_of_the_copy(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT) "
                                       "ENGINE=InnoDB;\nCREATE INDEX t_v ON t (v(20));\n",
                         "2_more.up.sql": "ALTER TABLE t ADD COLUMN w INTEGER;\n"})
    assert run_cli(my.url, d, "up", "--to", "1").code == 0
    my.query("INSERT INTO t (id, v) SELECT seq, REPEAT('x', 500) FROM seq_1_to_2000")
    my.query("ANALYZE TABLE t")
    result = run_cli(my.url, d, "rehearse", "--json")
    assert result.code == 0, result.stderr
    size = result.json()["size_bytes"]
    assert size >= 1_000_000  # 2000 rows of 500 bytes, and two indexes, were copied
    assert f"({size:,} bytes," in result.stderr
