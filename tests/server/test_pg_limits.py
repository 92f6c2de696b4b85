"""Names PostgreSQL would silently cut to 63 bytes, and bad URL values: exit 2
with a clear message before anything is written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from serverkit import Server, run_cli, with_query

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]
FILES = {"1_x.up.sql": "CREATE TABLE x (id INTEGER);\n"}


@pytest.mark.parametrize("table", ["t" * 64, "s.t" + "t" * 63, "s" * 64 + ".t"])
def test_a_migrations_table_over_63_bytes_is_exit_2_before_anything_is_written(
    pg: Server, make_migrations: MakeMigrations, table: str
) -> None:
    d = make_migrations(FILES)
    result = run_cli(pg.url, d, "--migrations-table", table, "up", "--json")
    assert result.code == 2, result.stderr
    error = result.json()["error"]
    assert error["kind"] == "config" and "63 bytes" in error["message"]
    assert "Traceback" not in result.stderr
    assert pg.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (pg.namespace,)) == []


def test_a_migrations_table_of_63_bytes_works(pg: Server,
                                              make_migrations: MakeMigrations) -> None:
    d = make_migrations(FILES)
    table = "t" * 63
    assert run_cli(pg.url, d, "--migrations-table", table, "up").code == 0
    assert pg.applied_versions(table) == ["1"]


def test_a_search_path_schema_over_63_bytes_is_exit_2(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations(FILES)
    long_schema = "m" * 64
    url = with_query(pg.admin_url, f"search_path={long_schema}")
    result = run_cli(url, d, "up")
    assert result.code == 2 and "63 bytes" in result.stderr, result.stderr
    assert pg.query("SELECT 1 FROM pg_namespace WHERE nspname LIKE 'mmmm%'") == []


@pytest.mark.parametrize("query, needle", [
    ("sslmode=bogus", "sslmode"),
    ("connect_timeout=abc", "connect_timeout"),
    ("lock_timeout=xyz", "lock_timeout"),
    ("statement_timeout=-5x", "statement_timeout"),
    ("target_session_attrs=zzz", "target_session_attrs"),
    ("no_such_parameter=1", "no_such_parameter"),
])
def test_bad_url_values_are_exit_2(pg: Server, make_migrations: MakeMigrations,
                                   query: str, needle: str) -> None:
    d = make_migrations(FILES)
    result = run_cli(with_query(pg.url, query), d, "up")
    assert result.code == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert pg.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (pg.namespace,)) == []
