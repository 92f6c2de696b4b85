"""``migrator adopt``: take over another tool's history without running anything."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.dba.adopt import adopt
from migrator.errors import DriftError

ROOT = Path(__file__).resolve().parent.parent
URL = "sqlite:///app.db"
OURS = "migrator_migrations"

FILES = {
    "20261101000000_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    "20261101000000_users.down.sql": "DROP TABLE users;\n",
    "20261102000000_orders.up.sql": "CREATE TABLE orders (id INTEGER PRIMARY KEY);\n",
    "20261102000000_orders.down.sql": "DROP TABLE orders;\n",
    "20261103000000_tags.up.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    "20261103000000_tags.down.sql": "DROP TABLE tags;\n",
}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def foreign_db(path: Path, *script: str) -> None:
    """A database as the other tool left it: the first two tables exist."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY);\n" + "\n".join(script)
    )
    conn.close()


def applied_versions(db: Path, table: str = OURS) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute(f"SELECT version FROM {table} ORDER BY version")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_dbmate_database_end_to_end_beside_its_table(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);",
               "INSERT INTO schema_migrations VALUES ('20261101000000'), ('20261102000000');")

    dry = run(tmp_path, "-u", URL, "--migrations-table", OURS, "adopt", "--from", "dbmate",
              "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert [m["version"] for m in json.loads(dry.stdout)["recorded"]] == [
        "20261101000000", "20261102000000"]
    assert applied_versions(db) == []  # dry run wrote nothing, not even the table

    done = run(tmp_path, "-u", URL, "--migrations-table", OURS, "adopt", "--from", "dbmate")
    assert done.returncode == 0, done.stderr
    assert "recorded 20261101000000_users as applied (not run)" in done.stdout
    assert applied_versions(db) == ["20261101000000", "20261102000000"]
    conn = sqlite3.connect(db)
    checksums = dict(conn.execute(f"SELECT version, checksum FROM {OURS}").fetchall())
    foreign = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    conn.close()

    up = (tmp_path / "migrations" / "20261101000000_users.up.sql").read_bytes()
    assert checksums["20261101000000"] == hashlib.sha256(up).hexdigest()
    assert foreign == ["20261101000000", "20261102000000"]  # never touched

    up_run = run(tmp_path, "-u", URL, "--migrations-table", OURS, "up", "--json")
    assert up_run.returncode == 0, up_run.stderr
    assert [a["version"] for a in json.loads(up_run.stdout)["applied"]] == ["20261103000000"]

    again = run(tmp_path, "-u", URL, "--migrations-table", OURS, "adopt", "--from", "dbmate",
                "--json")
    assert json.loads(again.stdout)["recorded"] == []
    assert len(json.loads(again.stdout)["already_recorded"]) == 2


def test_dirty_golang_migrate_stops_with_nothing_written(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, "CREATE TABLE schema_migrations (version uint64, dirty bool);",
               "INSERT INTO schema_migrations VALUES (20261102000000, 1);")
    result = run(tmp_path, "-u", URL, "--migrations-table", OURS, "adopt", "--from",
                 "golang-migrate")
    assert result.returncode == 3
    assert "golang-migrate marked version 20261102000000 dirty" in result.stderr
    assert "migrate force" in result.stderr
    assert applied_versions(db) == []
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert OURS not in tables  # the refused adoption left no trace


def _cases() -> dict[str, tuple[list[str], list[str]]]:
    return {
        "golang-migrate": ([
            "CREATE TABLE schema_migrations (version uint64, dirty bool);",
            "INSERT INTO schema_migrations VALUES (20261102000000, 0);",
        ], ["20261101000000", "20261102000000"]),
        "goose": ([
            "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP);",
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), "
            "(20261101000000, 1), (20261102000000, 1), (20261103000000, 1), "
            "(20261103000000, 0);",
        ], ["20261101000000", "20261102000000"]),
        "sqlx": ([
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, "
            "installed_on TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB, "
            "execution_time BIGINT);",
            "INSERT INTO _sqlx_migrations VALUES (20261101000000, 'users', '', 1, x'00', 1), "
            "(20261102000000, 'orders', '', 1, x'00', 1);",
        ], ["20261101000000", "20261102000000"]),
        "diesel": ([
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, "
            "run_on TIMESTAMP);",
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20261101000000');",
        ], ["20261101000000"]),
        "flyway": ([
            "CREATE TABLE flyway_schema_history (installed_rank INT PRIMARY KEY, version TEXT, "
            "description TEXT, type TEXT, script TEXT, checksum INT, installed_by TEXT, "
            "installed_on TEXT, execution_time INT, success BOOLEAN);",
            "INSERT INTO flyway_schema_history VALUES "
            "(1, '20261101000000', 'users', 'BASELINE', '<< Flyway Baseline >>', NULL, 'x', "
            "'', 0, 1), (2, '20261102000000', 'orders', 'SQL', 'V20261102000000__orders.sql', "
            "1, 'x', '', 3, 1), (3, NULL, 'views', 'SQL', 'R__views.sql', 2, 'x', '', 1, 1);",
        ], ["20261101000000", "20261102000000"]),
    }


@pytest.mark.parametrize("tool", sorted(_cases()))
def test_each_tool_history_is_read(tmp_path: Path, make_migrations, tool: str) -> None:
    root = make_migrations(FILES)
    script, expected = _cases()[tool]
    db = tmp_path / "app.db"
    foreign_db(db, *script)
    url = f"sqlite:///{db}"
    table = "schema_migrations" if tool not in ("golang-migrate",) else OURS
    result = adopt(url, root, table, tool)
    assert [m.version for m in result.recorded] == expected
    assert applied_versions(db, table) == expected
    if tool == "flyway":
        assert any("repeatable" in n for n in result.notes)


@pytest.mark.parametrize(("tool", "script", "needle"), [
    ("sqlx", ["CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, "
              "installed_on TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB, "
              "execution_time BIGINT);",
              "INSERT INTO _sqlx_migrations VALUES (20261101000000, 'u', '', 0, x'00', 1);"],
     "sqlx recorded version 20261101000000 as failed"),
    ("flyway", ["CREATE TABLE flyway_schema_history (installed_rank INT PRIMARY KEY, "
                "version TEXT, description TEXT, type TEXT, script TEXT, checksum INT, "
                "installed_by TEXT, installed_on TEXT, execution_time INT, success BOOLEAN);",
                "INSERT INTO flyway_schema_history VALUES (1, '20261101000000', 'u', 'SQL', "
                "'V20261101000000__u.sql', 1, 'x', '', 1, 0);"],
     "Flyway recorded V20261101000000__u.sql (version 20261101000000) as failed"),
    ("dbmate", ["CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);",
                "INSERT INTO schema_migrations VALUES ('20261101000000'), ('20261231000000');"],
     "dbmate applied version(s) 20261231000000, but no migration file"),
])
def test_failed_or_unknown_rows_stop_adoption(
    tmp_path: Path, make_migrations, tool: str, script: list[str], needle: str
) -> None:
    root = make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, *script)
    with pytest.raises(DriftError) as caught:
        adopt(f"sqlite:///{db}", root, OURS, tool)
    assert needle in str(caught.value)
    assert applied_versions(db) == []


def test_missing_foreign_table_names_the_fix(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    foreign_db(tmp_path / "app.db")
    result = run(tmp_path, "-u", URL, "adopt", "--from", "goose")
    assert result.returncode == 2
    assert "no table goose_db_version" in result.stderr and "--source-table" in result.stderr


def test_golang_migrate_nil_version_records_nothing(tmp_path: Path, make_migrations) -> None:
    root = make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, "CREATE TABLE schema_migrations (version uint64, dirty bool);",
               "INSERT INTO schema_migrations VALUES (-1, 0);")
    result = adopt(f"sqlite:///{db}", root, OURS, "golang-migrate")
    assert result.recorded == [] and applied_versions(db) == []


DBMATE_TABLE = "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);"
BACKUP = "schema_migrations_dbmate_backup"


def tables(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_dbmate_set_converted_then_adopted_in_place(tmp_path: Path) -> None:
    """A dbmate project as dbmate leaves it (a look-alike of a real set: kalbasit/ncps):
    its files converted, its table taken over in place."""
    src = tmp_path / "db" / "migrations"
    src.mkdir(parents=True)
    (src / "20261101000000_create-users.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "  email TEXT NOT NULL UNIQUE);\nCREATE INDEX idx_users_email ON users (email);\n\n"
        "-- migrate:down\nDROP INDEX idx_users_email;\nDROP TABLE users;\n")
    (src / "20261102000000_create-orders.sql").write_text(
        "-- migrate:up\nCREATE TABLE orders (id INTEGER PRIMARY KEY,\n"
        "  user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);\n\n"
        "-- migrate:down\nDROP TABLE orders;\n")
    (src / "20261103000000_add-tags.sql").write_text(
        "-- migrate:up\nCREATE TABLE tags (name TEXT PRIMARY KEY);\n\n"
        "-- migrate:down\nDROP TABLE tags;\n")
    converted = run(tmp_path, "convert", "--from", "dbmate", "db/migrations", "migrations")
    assert converted.returncode == 0, converted.stderr
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)  # what 'dbmate up' left after the first two
    for path in sorted((tmp_path / "migrations").glob("*.up.sql"))[:2]:
        conn.executescript(path.read_text())
    conn.executescript('CREATE TABLE IF NOT EXISTS "schema_migrations" '
                       "(version varchar(128) primary key);\n"
                       "INSERT INTO schema_migrations VALUES ('20261101000000'), "
                       "('20261102000000');")
    conn.close()

    adopted = run(tmp_path, "-u", URL, "adopt", "--from", "dbmate", "--json")
    assert adopted.returncode == 0, adopted.stderr
    assert json.loads(adopted.stdout)["backup_table"] == BACKUP
    assert applied_versions(db, "schema_migrations") == ["20261101000000", "20261102000000"]
    assert applied_versions(db, BACKUP) == ["20261101000000", "20261102000000"]
    up = run(tmp_path, "-u", URL, "up", "--json")
    assert up.returncode == 0, up.stderr
    assert [a["version"] for a in json.loads(up.stdout)["applied"]] == ["20261103000000"]
    assert run(tmp_path, "-u", URL, "verify").returncode == 0


def test_stopped_conversion_is_finished_from_the_backup(tmp_path: Path, make_migrations) -> None:
    """Where DDL commits on its own (MySQL), a run can stop after the backup was written."""
    make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, f"CREATE TABLE {BACKUP} (version VARCHAR(128));",
               f"INSERT INTO {BACKUP} VALUES ('20261101000000'), ('20261102000000');")
    done = run(tmp_path, "-u", URL, "adopt", "--from", "dbmate")
    assert done.returncode == 0, done.stderr
    assert applied_versions(db, "schema_migrations") == ["20261101000000", "20261102000000"]
    assert BACKUP in tables(db)


def test_in_place_refusals_change_nothing(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, DBMATE_TABLE, "INSERT INTO schema_migrations VALUES ('20261101000000');",
               f"CREATE TABLE {BACKUP} (version VARCHAR(128));")
    before = db.read_bytes()
    both = run(tmp_path, "-u", URL, "adopt", "--from", "dbmate")
    assert both.returncode == 2 and f"drop {BACKUP}" in both.stderr, both.stderr
    qualified = run(tmp_path, "-u", URL, "--migrations-table", "main.schema_migrations",
                    "adopt", "--from", "dbmate")
    assert qualified.returncode == 2 and "--migrations-table" in qualified.stderr
    assert "Traceback" not in both.stderr + qualified.stderr
    assert db.read_bytes() == before

    ours = tmp_path / "ours"
    (ours / "migrations").mkdir(parents=True)
    assert run(ours, "-u", URL, "up").returncode == 0
    nothing = run(ours, "-u", URL, "adopt", "--from", "dbmate")
    assert nothing.returncode == 2
    assert "is migrator's own table and there is no" in nothing.stderr


def test_golang_migrate_sqlite_table_with_its_index_is_converted(
    tmp_path: Path, make_migrations
) -> None:
    """golang-migrate's own SQLite DDL: a unique index the conversion must not trip on."""
    make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);",
               "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);",
               "INSERT INTO schema_migrations VALUES (20261102000000, 0);")
    done = run(tmp_path, "-u", URL, "adopt", "--from", "golang-migrate", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backup_table"] == "schema_migrations_golang_migrate_backup"
    assert applied_versions(db, "schema_migrations") == ["20261101000000", "20261102000000"]
    conn = sqlite3.connect(db)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert "version_unique" not in indexes
