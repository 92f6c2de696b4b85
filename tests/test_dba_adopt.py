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


def test_dbmate_database_end_to_end(tmp_path: Path, make_migrations) -> None:
    make_migrations(FILES)
    db = tmp_path / "app.db"
    foreign_db(db, "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);",
               "INSERT INTO schema_migrations VALUES ('20261101000000'), ('20261102000000');")

    clash = run(tmp_path, "-u", URL, "adopt", "--from", "dbmate")
    assert clash.returncode == 2
    assert "--migrations-table" in clash.stderr and "schema_migrations" in clash.stderr

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
