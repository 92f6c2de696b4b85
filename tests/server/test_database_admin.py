"""create, drop and load on real PostgreSQL and MariaDB servers.

Each test names its own databases (and roles) with a random suffix and drops
them afterwards, whatever the test did.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from serverkit import MY_ENV, PG_ENV, Result, connect, run_cli, with_query


def _need(env: str) -> str:
    import os

    url = os.environ.get(env)
    if not url:
        pytest.skip(f"{env} is not set: no server to test against")
    return url


def _named(base: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(base)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


class Names:
    """Fresh database names on one server, every one dropped at the end."""

    def __init__(self, kind: str, base: str) -> None:
        self.kind, self.base = kind, base
        self.admin = connect(kind, base)
        self.made: list[str] = []

    def url(self, tag: str) -> str:
        name = f"mt_{tag}_{uuid.uuid4().hex[:10]}"
        self.made.append(name)
        return _named(self.base, name)

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if self.kind == "postgres":
            cur = self.admin.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []
        with self.admin.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []

    def exists(self, url: str) -> bool:
        name = urlsplit(url).path.lstrip("/")
        if self.kind == "postgres":
            return bool(self.query("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))
        return bool(self.query("SELECT 1 FROM information_schema.schemata "
                               "WHERE schema_name = %s", (name,)))

    def cleanup(self) -> None:
        for name in self.made:
            if self.kind == "postgres":
                self.query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                self.query(f"DROP DATABASE IF EXISTS `{name}`")
        self.admin.close()


@pytest.fixture(params=["postgres", "mysql"])
def names(request: pytest.FixtureRequest) -> Iterator[Names]:
    kind = str(request.param)
    n = Names(kind, _need(PG_ENV if kind == "postgres" else MY_ENV))
    try:
        yield n
    finally:
        n.cleanup()


@pytest.fixture
def pg_names() -> Iterator[Names]:
    n = Names("postgres", _need(PG_ENV))
    try:
        yield n
    finally:
        n.cleanup()


def _migrations(tmp_path: Path, kind: str) -> Path:
    d = tmp_path / "migrations"
    d.mkdir(exist_ok=True)
    (d / "001_items.up.sql").write_text(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL DEFAULT 'x');\n"
        "CREATE INDEX items_name ON items (name);\n"
        "INSERT INTO items VALUES (1, 'one'), (2, 'it''s; tricky');\n")
    (d / "001_items.down.sql").write_text("DROP TABLE items;\n")
    view = "CREATE VIEW named AS SELECT id, name FROM items WHERE name <> 'x';\n"
    if kind == "postgres":
        view += ("CREATE FUNCTION twice(n integer) RETURNS integer LANGUAGE sql "
                 "AS $$ SELECT n * 2; $$;\n")
    (d / "002_view.up.sql").write_text(view)
    return d


def _cli(url: str, d: Path, *args: str) -> Result:
    return run_cli(url, d, *args)


def test_create_then_again_then_drop_then_again(tmp_path: Path, names: Names) -> None:
    url, d = names.url("cd"), _migrations(tmp_path, names.kind)
    r = _cli(url, d, "create")
    assert r.code == 0 and r.stdout.startswith("created "), r
    assert names.exists(url)
    r = _cli(url, d, "create")
    assert r.code == 0 and r.stdout.endswith("already exists\n"), r
    assert _cli(url, d, "up").code == 0
    r = _cli(url, d, "drop", "--force")
    assert r.code == 0 and r.stdout.startswith("dropped "), r
    assert not names.exists(url)
    r = _cli(url, d, "drop", "--force")
    assert r.code == 0 and r.stdout.endswith("does not exist; nothing to drop\n"), r


def test_drop_without_a_terminal_needs_force(tmp_path: Path, names: Names) -> None:
    url, d = names.url("nf"), _migrations(tmp_path, names.kind)
    assert _cli(url, d, "create").code == 0
    r = _cli(url, d, "drop")  # the runner's stdin is /dev/null: no terminal to ask on
    assert r.code == 2 and "stdin is not a terminal" in r.stderr, r
    assert names.exists(url)


def test_load_rebuilds_the_dumped_database_byte_for_byte(tmp_path: Path, names: Names) -> None:
    source, target = names.url("src"), names.url("dst")
    d = _migrations(tmp_path, names.kind)
    for url in (source, target):
        assert _cli(url, d, "create").code == 0
    assert _cli(source, d, "up").code == 0
    dump = _cli(source, d, "dump")
    assert dump.code == 0 and "items" in dump.stdout, dump
    (tmp_path / "schema.sql").write_text(dump.stdout)
    r = _cli(target, d, "load", str(tmp_path / "schema.sql"))
    assert r.code == 0, r
    again = _cli(target, d, "dump")
    assert again.code == 0 and again.stdout == dump.stdout, again
    up = _cli(target, d, "up")
    assert up.code == 0 and "nothing to apply" in up.stderr, up
    refused = _cli(target, d, "load", str(tmp_path / "schema.sql"))
    assert refused.code == 2 and "is not empty" in refused.stderr, refused


def test_a_failed_load_names_the_statement(tmp_path: Path, names: Names) -> None:
    url, d = names.url("bad"), _migrations(tmp_path, names.kind)
    assert _cli(url, d, "create").code == 0
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE first_one (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n")
    r = _cli(url, d, "load", str(bad))
    assert r.code == 1, r
    assert f"{bad}:2: statement 2 failed:" in r.stderr and "nowhere" in r.stderr, r
    check = connect(names.kind, url)
    try:
        if names.kind == "postgres":
            left = check.execute("SELECT to_regclass('public.first_one')").fetchone()[0]
            assert left is None and "nothing was loaded" in r.stderr  # transactional DDL
        else:
            with check.cursor() as cur:
                cur.execute("SHOW TABLES")
                assert "first_one" in {row[0] for row in cur.fetchall()}  # DDL commits
            assert "stay applied" in r.stderr and "drop the database" in r.stderr, r
    finally:
        check.close()


@pytest.fixture
def weak_user(names: Names) -> Iterator[str]:
    """A login without the right to create databases."""
    user = f"mt_weak_{uuid.uuid4().hex[:8]}"
    if names.kind == "postgres":
        names.query(f'CREATE ROLE "{user}" LOGIN NOCREATEDB')
    else:
        names.query(f"CREATE USER '{user}'@'%'")
    try:
        yield user
    finally:
        if names.kind == "postgres":
            names.query(f'DROP ROLE IF EXISTS "{user}"')
        else:
            names.query(f"DROP USER IF EXISTS '{user}'@'%'")


def test_a_server_that_refuses_is_exit_2_with_its_message(tmp_path: Path, names: Names,
                                                           weak_user: str) -> None:
    name = urlsplit(names.url("priv")).path.lstrip("/")
    url = _named(names.base, name, user=weak_user)
    r = _cli(url, _migrations(tmp_path, names.kind), "create")
    assert r.code == 2, r
    assert "permission denied" in r.stderr.lower() or "access denied" in r.stderr.lower(), r
    assert "Traceback" not in r.stderr
    assert not names.exists(url)


def test_drop_refuses_a_database_in_use(tmp_path: Path, names: Names) -> None:
    url, d = names.url("busy"), _migrations(tmp_path, names.kind)
    assert _cli(url, d, "create").code == 0
    session = connect(names.kind, url)
    try:
        r = _cli(url, d, "drop", "--force")
        assert r.code == 2, r
        said = ("being accessed by other users", "pg_terminate_backend") \
            if names.kind == "postgres" else ("1 other session(s) use it", "SHOW PROCESSLIST")
        assert all(s in r.stderr for s in said), r
        assert names.exists(url)
    finally:
        session.close()
    deadline = time.monotonic() + 30  # the server ends the closed session on its own time
    while (r := _cli(url, d, "drop", "--force")).code != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert r.code == 0 and not names.exists(url), r


def test_postgres_schema_url_creates_and_drops_only_its_schema(tmp_path: Path,
                                                                pg_names: Names) -> None:
    database = pg_names.url("sch")
    url = with_query(database, "schema=app")
    d = _migrations(tmp_path, "postgres")
    r = _cli(url, d, "create")
    assert r.code == 0 and 'created PostgreSQL schema "app" in database' in r.stdout, r
    assert _cli(url, d, "up").code == 0
    dump = _cli(url, d, "dump").stdout
    other = connect("postgres", database)
    try:
        other.execute("CREATE SCHEMA keep; CREATE TABLE keep.t (x int)")
    finally:
        other.close()
    r = _cli(url, d, "drop", "--force")
    assert r.code == 0 and r.stdout.startswith('dropped PostgreSQL schema "app"'), r
    assert pg_names.exists(database)
    check = connect("postgres", database)
    try:
        schemas = {row[0] for row in check.execute("SELECT nspname FROM pg_namespace")}
    finally:
        check.close()
    assert "keep" in schemas and "app" not in schemas
    assert _cli(url, d, "create").code == 0
    (tmp_path / "schema.sql").write_text(dump)
    assert _cli(url, d, "load", str(tmp_path / "schema.sql")).code == 0
    assert _cli(url, d, "dump").stdout == dump
