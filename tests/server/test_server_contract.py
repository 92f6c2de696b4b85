"""The same contract on PostgreSQL and MariaDB: lifecycle, failures, locks, crashes, drift.

Everything runs the real CLI in a subprocess against a real server.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from serverkit import Server, run_cli, start_cli

from migrator import Migrator

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]

LIFECYCLE = {
    "001_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100));\n"
                        "INSERT INTO users VALUES (1, 'a@example.com');\n",
    "001_users.down.sql": "DROP TABLE users;\n",
    "002_orders.up.sql": "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER);\n"
                         "CREATE INDEX orders_user ON orders (user_id);\n",
    "002_orders.down.sql": "DROP TABLE orders;\n",
    "003_seed/up.sql": "INSERT INTO orders VALUES (10, 1);\nINSERT INTO orders VALUES (11, 1);\n",
    "003_seed/down.sql": "DELETE FROM orders WHERE id IN (10, 11);\n",
}


def sleep_sql(server: Server, seconds: int) -> str:
    return f"SELECT pg_sleep({seconds});" if server.kind == "postgres" else \
        f"SELECT SLEEP({seconds});"


def test_lifecycle_up_status_down_redo_verify(server: Server,
                                              make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    up = run_cli(server.url, d, "up", "--json")
    assert up.code == 0, up.stderr
    assert [s["version"] for s in up.json()["applied"]] == ["001", "002", "003"]
    assert server.applied_versions() == ["001", "002", "003"]
    assert server.rows("orders") == [(10, 1), (11, 1)]

    status = run_cli(server.url, d, "status", "--json")
    assert status.code == 0
    states = [(m["version"], m["state"]) for m in status.json()["migrations"]]
    assert states == [("001", "applied"), ("002", "applied"), ("003", "applied")]

    down = run_cli(server.url, d, "down", "--json")
    assert down.code == 0, down.stderr
    assert [s["version"] for s in down.json()["rolled_back"]] == ["003"]
    assert server.rows("orders") == []
    assert run_cli(server.url, d, "status", "--exit-code").code == 1

    redo = run_cli(server.url, d, "redo", "--json")
    assert redo.code == 0, redo.stderr
    assert [s["version"] for s in redo.json()["rolled_back"]] == ["002"]
    assert run_cli(server.url, d, "up").code == 0
    assert server.rows("orders") == [(10, 1), (11, 1)]

    verify = run_cli(server.url, d, "verify", "--json")
    assert verify.code == 0 and verify.json()["ok"] is True

    everything = run_cli(server.url, d, "down", "--all")
    assert everything.code == 0, everything.stderr
    assert server.tables() <= {"schema_migrations", "schema_migrations_state",
                               "schema_migrations_lock"}
    assert server.applied_versions() == []


def test_failure_reports_statement_and_keeps_earlier_migrations(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_ok.up.sql": "CREATE TABLE a (id INTEGER);\n",
        "2_bad.up.sql": "INSERT INTO a VALUES (1);\n\n-- the broken one\n"
                        "INSERT INTO no_such_table VALUES (1);\nINSERT INTO a VALUES (2);\n",
    })
    result = run_cli(server.url, d, "up", "--json")
    assert result.code == 1
    error = result.json()["error"]
    assert (error["version"], error["statement"], error["statements"], error["line"]) == \
        ("2", 2, 3, 4)
    assert "no_such_table" in error["message"]
    assert "2_bad.up.sql:4" in result.stderr
    assert [s["version"] for s in result.json()["applied"]] == ["1"]
    assert server.applied_versions() == ["1"]
    # a file of DML is atomic on both (on MySQL: one transaction, no DDL to commit it)
    assert error["rolled_back"] is True
    assert server.rows("a") == []
    assert "as it was before this file" in result.stderr


def test_concurrent_processes_apply_each_migration_once(
    server: Server, make_migrations: MakeMigrations
) -> None:
    files = {f"{i:03d}_m{i}.up.sql": f"CREATE TABLE t{i} (id INTEGER);\n"
                                     f"INSERT INTO t{i} VALUES ({i});\n" for i in range(1, 7)}
    d = make_migrations(files)
    procs = [start_cli(server.url, d, "up", "--lock-timeout", "120") for _ in range(5)]
    outcomes = [(p.wait(timeout=180), p.communicate()) for p in procs]
    for code, (_, err) in outcomes:
        assert code == 0, err
    assert server.applied_versions() == [f"{i:03d}" for i in range(1, 7)]
    for i in range(1, 7):
        assert server.rows(f"t{i}") == [(i,)]
    assert run_cli(server.url, d, "up", "--json").json()["applied"] == []


def test_second_migrator_exits_4_naming_the_holder(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"})
    holder = Migrator(server.url, d)
    with holder._backend(readonly=False) as backend, backend.run_lock(0):
        result = run_cli(server.url, d, "up", "--lock-timeout", "0.5")
        assert result.code == 4, result.stderr
        assert "locked by another migrator" in result.stderr
        assert f"pid {os.getpid()}" in result.stderr  # the holder's own process
        assert server.applied_versions() == []
    assert run_cli(server.url, d, "up").code == 0


def test_kill_9_mid_run_leaves_no_lock_and_a_clear_state(
    server: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
        "2_slow.up.sql": "CREATE TABLE b (id INTEGER);\n" + sleep_sql(server, 6) + "\n"
                         "CREATE TABLE c (id INTEGER);\n",
    })
    proc = start_cli(server.url, d, "up", "-v")
    deadline = time.monotonic() + 120
    sleeping = "pg_sleep" if server.kind == "postgres" else "SLEEP("
    while time.monotonic() < deadline:
        if server.kind == "postgres":
            busy = server.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s "
                                "AND pid <> pg_backend_pid()", (f"%{sleeping}%",))
        else:
            busy = server.query("SELECT count(*) FROM information_schema.processlist "
                                "WHERE info LIKE %s AND id <> CONNECTION_ID() AND db = %s",
                                (f"%{sleeping}%", server.namespace))
        # another session's sleep must not count: file 1 must have committed first
        if busy[0][0] and server.applied_versions() == ["1"]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the slow statement never started")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert server.applied_versions() == ["1"]
    assert ("b" in server.tables()) == (server.kind == "mysql")  # PG: never committed
    (d / "2_slow.up.sql").write_text("CREATE TABLE IF NOT EXISTS b (id INTEGER);\n"
                                     "CREATE TABLE c (id INTEGER);\n")
    again = run_cli(server.url, d, "up", "--lock-timeout", "60")
    if server.kind == "postgres":
        assert again.code == 0, again.stderr
    else:  # statement 1 committed; the journal says statement 2 was running
        assert again.code == 1
        assert "statement 2 of 3" in again.stderr and "repair" in again.stderr
        repaired = run_cli(server.url, d, "repair", "2", "--rolled-back")
        assert repaired.code == 0, repaired.stderr
        again = run_cli(server.url, d, "up", "--lock-timeout", "60")
        assert again.code == 0, again.stderr
    assert server.applied_versions() == ["1", "2"]
    assert {"b", "c"} <= server.tables()


def test_drift_modified_and_missing_files(server: Server,
                                          make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
                         "2_b.up.sql": "CREATE TABLE b (id INTEGER);\n"})
    assert run_cli(server.url, d, "up").code == 0
    (d / "1_a.up.sql").write_text("CREATE TABLE a (id INTEGER, x INTEGER);\n")
    (d / "2_b.up.sql").unlink()
    verify = run_cli(server.url, d, "verify", "--json")
    assert verify.code == 3
    kinds = {(p["version"], p["kind"]) for p in verify.json()["problems"]}
    assert kinds == {("1", "modified"), ("2", "missing")}
    assert run_cli(server.url, d, "up").code == 3
    assert run_cli(server.url, d, "status", "--exit-code").code == 3


def test_dry_run_prints_sql_and_changes_nothing(server: Server,
                                                make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    result = run_cli(server.url, d, "up", "--dry-run")
    assert result.code == 0, result.stderr
    assert "CREATE TABLE users" in result.stdout
    assert "INSERT INTO" in result.stdout and "schema_migrations" in result.stdout
    assert "001_users.up.sql:1" in result.stdout
    assert server.tables() == set()
    as_json = run_cli(server.url, d, "up", "--dry-run", "--json")
    assert [m["version"] for m in as_json.json()["applied"]] == ["001", "002", "003"]
    assert server.tables() == set()


def test_status_json_document(server: Server, make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    assert run_cli(server.url, d, "up", "--to", "002").code == 0
    doc = run_cli(server.url, d, "status", "--json").json()
    rows = {m["version"]: m for m in doc["migrations"]}
    assert rows["001"]["state"] == "applied" and rows["003"]["state"] == "pending"
    assert rows["001"]["applied_at"].endswith("Z") and rows["003"]["applied_at"] is None
    assert len(rows["002"]["checksum"]) == 64


def test_baseline_records_without_running(server: Server,
                                          make_migrations: MakeMigrations) -> None:
    d = make_migrations(LIFECYCLE)
    assert run_cli(server.url, d, "baseline", "002").code == 0
    assert server.applied_versions() == ["001", "002"]
    assert "users" not in server.tables()


def test_wait_returns_at_once_for_a_running_server(server: Server, tmp_path: Path) -> None:
    result = run_cli(server.url, tmp_path, "wait", "--timeout", "30", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["ready"] is True


def test_unreachable_server_exits_2_with_password_redacted(server: Server,
                                                          tmp_path: Path) -> None:
    scheme = "postgres" if server.kind == "postgres" else "mysql"
    url = f"{scheme}://someone:s3cr3tpw@127.0.0.1:1/nodb"
    result = run_cli(url, tmp_path, "wait", "--timeout", "1")
    assert result.code == 2
    assert "s3cr3tpw" not in result.stderr + result.stdout
    assert "***" in result.stderr and "still unreachable" in result.stderr
