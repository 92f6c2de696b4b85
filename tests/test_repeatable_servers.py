"""Repeatable migrations on PostgreSQL and MariaDB, through the real CLI.

Needs MIGRATOR_TEST_POSTGRES_URL / MIGRATOR_TEST_MYSQL_URL (skipped without);
every test works in its own schema (PostgreSQL) or database (MariaDB).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import pytest
from clihelp import Result, cli, migration, write

PG_ENV, MY_ENV = "MIGRATOR_TEST_POSTGRES_URL", "MIGRATOR_TEST_MYSQL_URL"


class Db(NamedTuple):
    kind: str
    url: str  # what migrator gets
    conn: Any

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "postgres":
            cur = self.conn.execute(sql)
            return list(cur.fetchall()) if cur.description else []
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []

    def rows(self) -> dict[str, str]:
        return {str(v): str(c) for v, c in
                self.query("SELECT version, checksum FROM schema_migrations")}


def _postgres(base: str) -> Iterator[Db]:
    import psycopg

    schema = f"rp_{uuid.uuid4().hex[:12]}"
    conn = psycopg.connect(base, autocommit=True)
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path TO "{schema}"')
    url = base + ("&" if "?" in base else "?") + f"search_path={schema}"
    try:
        yield Db("postgres", url, conn)
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def _mysql(base: str) -> Iterator[Db]:
    import pymysql

    name = f"rp_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(base)
    conn = pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=parts.username or "root", password=parts.password or "",
                           autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"USE `{name}`")
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    try:
        yield Db("mysql", url, conn)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture(params=["postgres", "mysql"])
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    env = PG_ENV if request.param == "postgres" else MY_ENV
    base = os.environ.get(env)
    if not base:
        pytest.skip(f"{env} is not set: no server to test against")
    yield from (_postgres(base) if request.param == "postgres" else _mysql(base))


def _cli(db: Db, cwd: Path, *args: str) -> Result:
    return cli(cwd, "-u", db.url, "-d", "migrations", *args)


def _view(name: str, value: str) -> str:
    return f"CREATE OR REPLACE VIEW {name} AS SELECT '{value}' AS v;\n"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    migration(tmp_path, "1", "base", "CREATE TABLE t (id INTEGER);\n", "DROP TABLE t;\n")
    write(tmp_path / "migrations" / "R_b_view.up.sql", _view("vb", "b1"))
    write(tmp_path / "migrations" / "R_a_view" / "up.sql", _view("va", "a1"))
    return tmp_path


def test_runs_once_in_name_order_and_again_when_edited(db: Db, proj: Path) -> None:
    first = _cli(db, proj, "up", "--json")
    assert first.code == 0, first
    assert [s["version"] for s in first.json()["applied"]] == ["1", "R_a_view", "R_b_view"]
    rows = db.rows()
    assert set(rows) == {"1", "R_a_view", "R_b_view"}
    again = _cli(db, proj, "up", "--json")
    assert again.json() == {"applied": []}, again
    write(proj / "migrations" / "R_b_view.up.sql", _view("vb", "b2"))
    status = _cli(db, proj, "status", "--json").json()["migrations"]
    assert [(m["version"], m["state"]) for m in status] == [
        ("1", "applied"), ("R_a_view", "applied"), ("R_b_view", "pending")]
    edited = _cli(db, proj, "up", "--json")
    assert [s["version"] for s in edited.json()["applied"]] == ["R_b_view"], edited
    assert db.query("SELECT v FROM vb") == [("b2",)]
    assert db.rows()["R_b_view"] != rows["R_b_view"]
    assert db.rows()["R_a_view"] == rows["R_a_view"]
    assert _cli(db, proj, "verify").code == 0


def test_down_leaves_repeatables_alone(db: Db, proj: Path) -> None:
    assert _cli(db, proj, "up").code == 0
    down = _cli(db, proj, "down", "--json")
    assert down.code == 0, down
    assert [s["version"] for s in down.json()["rolled_back"]] == ["1"]
    assert set(db.rows()) == {"R_a_view", "R_b_view"}
    assert db.query("SELECT v FROM va") == [("a1",)]


def test_a_failing_repeatable_stops_alone_with_the_usual_report(db: Db, proj: Path) -> None:
    write(proj / "migrations" / "R_c_bad.up.sql", "SELECT * FROM nowhere;\n")
    result = _cli(db, proj, "up", "--json")
    assert result.code == 1, result
    doc = result.json()
    assert [s["version"] for s in doc["applied"]] == ["1", "R_a_view", "R_b_view"]
    assert doc["error"]["version"] == "R_c_bad" and doc["error"]["line"] == 1
    assert "nowhere" in doc["error"]["message"]
    assert "migrations/R_c_bad.up.sql:1" in result.err
    assert "Traceback" not in result.err
    assert set(db.rows()) == {"1", "R_a_view", "R_b_view"}
    if db.kind == "mysql":  # the journal stops runs until the outcome is recorded
        assert "migrator repair R_c_bad" in result.err
        status = _cli(db, proj, "status", "--json").json()["migrations"]
        bad = next(m for m in status if m["version"] == "R_c_bad")
        assert bad["note"].startswith("repeatable, unfinished up: failed at statement 1")
        repaired = _cli(db, proj, "repair", "R_c_bad", "--rolled-back")
        assert repaired.code == 0, repaired
    (proj / "migrations" / "R_c_bad.up.sql").unlink()
    assert _cli(db, proj, "up").code == 0
