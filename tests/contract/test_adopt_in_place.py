"""``adopt`` converts a dbmate or golang-migrate table that has migrator's name in place,
on every backend (issue #13.5): later commands need no ``--migrations-table``."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import migration

from contract.backends import Db
from contract.kit import VERSIONS, migrator, no_traceback, three

TABLE = "schema_migrations"
DBMATE = "(version VARCHAR(128) PRIMARY KEY)"
GOLANG_MIGRATE = "(version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL)"


def foreign(db: Db, root: Path, columns: str, *values: str) -> None:
    """The other tool's table under migrator's default name, and the tables it built,
    written by migrator itself under a bookkeeping table of another name."""
    rows = "".join(f"INSERT INTO {TABLE} VALUES ({value});\n" for value in values)
    migration(root, "1", "other_tool",
              f"CREATE TABLE {TABLE} {columns};\n{rows}"
              "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR(50));\n"
              "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER);\n", directory="setup")
    r = migrator(db, root / "setup", "--migrations-table", "setup_history", "up")
    assert r.code == 0, r


@pytest.mark.parametrize(("tool", "columns", "values"), [
    ("dbmate", DBMATE, [f"'{VERSIONS[0]}'", f"'{VERSIONS[1]}'"]),
    ("golang-migrate", GOLANG_MIGRATE, [f"{VERSIONS[1]}, FALSE"]),  # one row: the newest
])
def test_table_of_migrators_name_is_converted_in_place(
    db: Db, tmp_path: Path, tool: str, columns: str, values: list[str]
) -> None:
    d = three(tmp_path)
    foreign(db, tmp_path, columns, *values)
    backup = f"{TABLE}_{tool.replace('-', '_')}_backup"
    before = db.snapshot()
    theirs = db.rows(TABLE)

    dry = migrator(db, d, "adopt", "--from", tool, "--dry-run", "--json")
    assert dry.code == 0, dry
    assert [m["version"] for m in dry.json()["recorded"]] == VERSIONS[:2]
    assert dry.json()["backup_table"] == backup
    assert db.snapshot() == before

    done = migrator(db, d, "adopt", "--from", tool)
    assert done.code == 0, done
    no_traceback(done)
    assert f"kept in {backup}" in done.stderr and "no --migrations-table" in done.stderr
    assert db.columns(TABLE) == ["version", "name", "checksum", "applied_at", "duration_ms"]
    assert db.applied_versions() == VERSIONS[:2]
    assert db.rows(backup) == theirs  # the original rows, kept

    # later commands need no flag
    status = migrator(db, d, "status", "--json")
    assert status.code == 0, status
    assert [m["state"] for m in status.json()["migrations"]] == ["applied", "applied", "pending"]
    up = migrator(db, d, "up", "--json")
    assert up.code == 0, up
    assert [a["version"] for a in up.json()["applied"]] == VERSIONS[2:]
    assert migrator(db, d, "verify").code == 0
    again = migrator(db, d, "adopt", "--from", tool, "--json")  # reads the backup now
    assert again.code == 0, again
    assert again.json()["recorded"] == [] and len(again.json()["already_recorded"]) == 2


def test_dirty_golang_migrate_table_is_refused_first(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    foreign(db, tmp_path, GOLANG_MIGRATE, f"{VERSIONS[1]}, TRUE")
    before = db.snapshot()
    for args in (["--dry-run"], []):
        r = migrator(db, d, "adopt", "--from", "golang-migrate", *args)
        assert r.code == 3, r
        no_traceback(r)
        assert f"marked version {VERSIONS[1]} dirty" in r.stderr
        assert db.snapshot() == before


def test_unknown_version_changes_nothing(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    foreign(db, tmp_path, DBMATE, f"'{VERSIONS[0]}'", "'20991231000000'")
    before = db.snapshot()
    r = migrator(db, d, "adopt", "--from", "dbmate")
    assert r.code == 3, r
    assert "20991231000000" in r.stderr
    assert db.snapshot() == before
