"""A transactional PostgreSQL file runs in pipeline mode: a failure anywhere in a
long file is still reported by number, line, column, SQLSTATE, DETAIL and HINT,
and nothing of the file remains."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from serverkit import Server, run_cli, start_cli

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]
LONG = 3000  # statements: several pipeline batches before and after the failure


def long_file(bad_at: int, bad: str) -> str:
    """LONG statements on one line each after the CREATE TABLE; ``bad`` replaces
    statement number ``bad_at`` (1-based, the CREATE TABLE being statement 1)."""
    lines = ["CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"]
    lines += [f"INSERT INTO items VALUES ({i}, 'item {i}');" for i in range(1, LONG)]
    lines[bad_at - 1] = bad
    return "\n".join(lines) + "\n"


def assert_nothing_remains(pg: Server) -> None:
    assert "items" not in pg.tables()
    assert pg.applied_versions() == ["1"]


@pytest.fixture
def base(pg: Server, make_migrations: MakeMigrations) -> Path:
    d = make_migrations({"1_base.up.sql": "CREATE TABLE base (id INTEGER);\n"})
    assert run_cli(pg.url, d, "up").code == 0
    return d


def test_failure_in_the_middle_names_statement_line_and_column(
    pg: Server, base: Path, make_migrations: MakeMigrations
) -> None:
    make_migrations({"2_load.up.sql": long_file(1500, "SELECT id, nope FROM items;")})
    result = run_cli(pg.url, base, "up", "--json")
    assert result.code == 1, result.stderr
    error = result.json()["error"]
    assert (error["statement"], error["statements"], error["line"]) == (1500, LONG, 1500)
    assert error["code"] == "42703" and error["rolled_back"] is True
    assert "2_load.up.sql:1500:12" in error["summary"]
    assert_nothing_remains(pg)


def test_failure_at_the_last_statement_reports_detail(
    pg: Server, base: Path, make_migrations: MakeMigrations
) -> None:
    make_migrations({"2_load.up.sql": long_file(LONG, "INSERT INTO items VALUES (7, 'again');")})
    result = run_cli(pg.url, base, "up")
    assert result.code == 1
    assert f"statement: {LONG} of {LONG}" in result.stderr
    assert "23505" in result.stderr and "detail: Key (id)=(7) already exists." in result.stderr
    assert_nothing_remains(pg)
    make_migrations({"2_load.up.sql": long_file(LONG, "SELECT 1;")})
    assert run_cli(pg.url, base, "up").code == 0
    assert len(pg.rows("items")) == LONG - 2


def test_hint_of_a_failure_after_many_statements(
    pg: Server, base: Path, make_migrations: MakeMigrations
) -> None:
    make_migrations({"2_load.up.sql": long_file(2999, "SELECT no_such_function(1);")})
    result = run_cli(pg.url, base, "up", "--json")
    assert result.code == 1
    error = result.json()["error"]
    assert (error["statement"], error["code"]) == (2999, "42883")
    assert "hint: No function matches the given name" in error["summary"]
    assert "2_load.up.sql:2999:8" in error["summary"]
    assert_nothing_remains(pg)


def test_large_results_amid_many_statements_do_not_stall_the_pipeline(
    pg: Server, base: Path, make_migrations: MakeMigrations
) -> None:
    text = long_file(10, "SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g;")
    make_migrations({"2_load.up.sql": text})
    result = run_cli(pg.url, base, "up")
    assert result.code == 0, result.stderr
    assert len(pg.rows("items")) == LONG - 2
    assert pg.applied_versions() == ["1", "2"]


def test_one_statement_per_message_also_in_pipeline_mode(pg: Server) -> None:
    from migrator.backends.postgres.backend import PostgresBackend

    backend = PostgresBackend(pg.url, table="schema_migrations", readonly=False,
                              busy_timeout=5.0)
    text = "CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER); CREATE TABLE c (id INT);"
    try:
        backend.ensure_state_table()  # creates the schema too
        backend.begin()
        assert backend.span_runner is backend
        outcome = backend.run_spans(text, [0, 29], [28, len(text)], True)
        assert outcome is not None and outcome[0] == 1
        assert "cannot insert multiple commands into a prepared statement" in str(outcome[1])
        backend.rollback()
        assert not backend.in_transaction()
    finally:
        backend.close()
    assert not {"a", "b", "c"} & pg.tables()


def test_a_session_terminated_mid_file_names_the_running_statement(
    pg: Server, base: Path, make_migrations: MakeMigrations
) -> None:
    slow = "SELECT pg_sleep(30);"
    make_migrations({"2_x.up.sql": f"CREATE TABLE items (id INTEGER);\n{slow}\n"
                                   "INSERT INTO items VALUES (1);\n"})
    proc = start_cli(pg.url, base, "up", "--json")
    try:
        deadline = time.monotonic() + 30
        while not pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name LIKE %s AND query = %s",
                           (f"migrator % pid {proc.pid}", slow)):
            assert time.monotonic() < deadline, "the statement never started"
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1 and "Traceback" not in stderr, stderr
    error = json.loads(stdout)["error"]
    assert (error["statement"], error["code"]) == (2, "57P01")
    assert_nothing_remains(pg)
    make_migrations({"2_x.up.sql": "CREATE TABLE items (id INTEGER);\n"})
    assert run_cli(pg.url, base, "up").code == 0


def test_non_ascii_text_keeps_statements_and_columns_exact(
    pg: Server, base: Path, make_migrations: MakeMigrations
) -> None:
    text = long_file(2000, "SELECT 'ünïcödé €', nope FROM items;")
    text = text.replace("'item ", "'ítém ")
    make_migrations({"2_load.up.sql": text})
    result = run_cli(pg.url, base, "up", "--json")
    assert result.code == 1
    error = result.json()["error"]
    assert (error["statement"], error["code"]) == (2000, "42703")
    assert "2_load.up.sql:2000:21" in error["summary"]
    assert_nothing_remains(pg)
    make_migrations({"2_load.up.sql": text.replace(", nope FROM items", "")})
    assert run_cli(pg.url, base, "up").code == 0
    assert pg.rows("items")[0] == (1, "ítém 1")
