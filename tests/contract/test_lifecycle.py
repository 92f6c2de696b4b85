"""Lifecycle on every backend: up, status, down, redo, verify, baseline, dry run."""

from __future__ import annotations

from clihelp import MakeMigrations

from contract.backends import Backend, Db
from contract.kit import LIFECYCLE, migrator


def test_lifecycle_up_status_down_redo_verify(backend: Backend, db: Db,
                                              make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    up = migrator(db, d, "up", "--json")
    assert up.code == 0, up.stderr
    assert [s["version"] for s in up.json()["applied"]] == ["001", "002", "003"]
    assert db.applied_versions() == ["001", "002", "003"]
    assert db.rows("orders") == [(10, 1), (11, 1)]

    status = migrator(db, d, "status", "--json")
    assert status.code == 0
    states = [(m["version"], m["state"]) for m in status.json()["migrations"]]
    assert states == [("001", "applied"), ("002", "applied"), ("003", "applied")]

    down = migrator(db, d, "down", "--json")
    assert down.code == 0, down.stderr
    assert [s["version"] for s in down.json()["rolled_back"]] == ["003"]
    assert db.rows("orders") == []
    assert migrator(db, d, "status", "--exit-code").code == 1

    redo = migrator(db, d, "redo", "--json")
    assert redo.code == 0, redo.stderr
    assert [s["version"] for s in redo.json()["rolled_back"]] == ["002"]
    assert migrator(db, d, "up").code == 0
    assert db.rows("orders") == [(10, 1), (11, 1)]

    verify = migrator(db, d, "verify", "--json")
    assert verify.code == 0 and verify.json()["ok"] is True

    everything = migrator(db, d, "down", "--all")
    assert everything.code == 0, everything.stderr
    assert db.tables() <= backend.bookkeeping
    assert db.applied_versions() == []


def test_dry_run_prints_sql_and_changes_nothing(db: Db, make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    result = migrator(db, d, "up", "--dry-run")
    assert result.code == 0, result.stderr
    assert "CREATE TABLE users" in result.stdout
    assert "INSERT INTO" in result.stdout and "schema_migrations" in result.stdout
    assert "001_users.up.sql:1" in result.stdout
    assert db.tables() == set()
    as_json = migrator(db, d, "up", "--dry-run", "--json")
    assert [m["version"] for m in as_json.json()["applied"]] == ["001", "002", "003"]
    assert db.tables() == set()


def test_status_json_document(db: Db, make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    assert migrator(db, d, "up", "--to", "002").code == 0
    doc = migrator(db, d, "status", "--json").json()
    rows = {m["version"]: m for m in doc["migrations"]}
    assert rows["001"]["state"] == "applied" and rows["003"]["state"] == "pending"
    assert rows["001"]["applied_at"].endswith("Z") and rows["003"]["applied_at"] is None
    assert len(rows["002"]["checksum"]) == 64


def test_baseline_records_without_running(db: Db, make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    assert migrator(db, d, "baseline", "002").code == 0
    assert db.applied_versions() == ["001", "002"]
    assert "users" not in db.tables()
