"""Real PostgreSQL and MySQL/MariaDB servers for the server-only tests.

The servers and their fresh namespaces come from the contract suite's
adapters (``contract/backends.py``): the local servers unless
MIGRATOR_TEST_POSTGRES_URL / MIGRATOR_TEST_MYSQL_URL say otherwise, skipped
loudly when one does not answer (and failed under CI). Every test gets its
own PostgreSQL schema or MariaDB database and drops it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from contract.backends import ServerDb, named, usable


def _fresh(name: str, tmp_path: Path) -> Iterator[ServerDb]:
    for db in usable(named(name)).fresh(tmp_path):
        assert isinstance(db, ServerDb)
        yield db


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[ServerDb]:
    yield from _fresh("postgres", tmp_path)


@pytest.fixture
def my(tmp_path: Path) -> Iterator[ServerDb]:
    yield from _fresh("mysql", tmp_path)


@pytest.fixture(params=["postgres", "mysql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerDb]:
    yield from _fresh(request.param, tmp_path)
