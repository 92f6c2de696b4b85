"""Real PostgreSQL and MySQL/MariaDB servers for the server contract tests.

The servers come from MIGRATOR_TEST_POSTGRES_URL and MIGRATOR_TEST_MYSQL_URL;
without them these tests are skipped with that reason (CI sets both and
checks the servers answer before pytest starts). Every test gets its own
PostgreSQL schema or MariaDB database and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from serverkit import MY_ENV, PG_ENV, Server, with_query


def _postgres(base: str) -> Iterator[Server]:
    schema = f"mt_{uuid.uuid4().hex[:12]}"
    server = Server("postgres", with_query(base, f"search_path={schema}"), schema, base)
    try:
        yield server
    finally:
        server.query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        server.close()


def _mysql(base: str) -> Iterator[Server]:
    db = f"mt_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(base)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
    admin = Server("mysql", url, db, base)
    admin.query(f"CREATE DATABASE `{db}`")
    admin.close()
    server = Server("mysql", url, db, url)
    try:
        yield server
    finally:
        server.close()
        admin.query(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()


def _need(env: str) -> str:
    url = os.environ.get(env)
    if not url:
        pytest.skip(f"{env} is not set: no server to test against")
    return url


@pytest.fixture
def pg() -> Iterator[Server]:
    yield from _postgres(_need(PG_ENV))


@pytest.fixture
def my() -> Iterator[Server]:
    yield from _mysql(_need(MY_ENV))


@pytest.fixture(params=["postgres", "mysql"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "postgres":
        yield from _postgres(_need(PG_ENV))
    else:
        yield from _mysql(_need(MY_ENV))


