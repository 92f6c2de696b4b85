"""Fixtures of the contract suite: one parameter per backend, a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.backends import BACKENDS, Backend, Db, usable


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return usable(request.param)


@pytest.fixture
def db(backend: Backend, tmp_path: Path) -> Iterator[Db]:
    yield from backend.fresh(tmp_path)
