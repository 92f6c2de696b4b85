"""The DBA commands' one way to a database: the registry, a backend, its catalog.

No command here imports a driver or asks which database it talks to; each
opens a backend through ``migrator.backends`` and works with the catalog,
scratch space and copy that the backend's dialect provides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from migrator.backends import open_backend
from migrator.backends.base import Backend, Catalog, ScratchSpace
from migrator.errors import ConfigError
from migrator.schema import Schema

# Without a URL, files are read as SQLite's and scratch work happens in its
# temporary files: the embedded default needs no server.
DEFAULT_DIALECT = "sqlite"
DEFAULT_URL = "sqlite:///:memory:"
BUSY_TIMEOUT = 30.0


class CatalogBackend(Backend, Protocol):
    """A backend with its dialect's catalog: every backend, once each package has one;
    then ``catalog`` joins the Backend protocol and this alias can go."""

    def catalog(self) -> Catalog: ...


def need_url(url: str | None) -> str:
    if not url:
        raise ConfigError(
            "no database URL: pass --url, set DATABASE_URL, or put url = \"...\" "
            "in migrator.toml"
        )
    return url


@contextlib.contextmanager
def opened(url: str | None, table: str, *, readonly: bool) -> Iterator[CatalogBackend]:
    """A backend on ``url`` (which must be given), closed on exit."""
    # The registry types what it opens as Backend, which has no catalog() until
    # every package has one; the factories themselves are untyped to it anyway.
    backend: Any = open_backend(need_url(url), table=table, readonly=readonly,
                                busy_timeout=BUSY_TIMEOUT)
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def scratch_beside(url: str | None, table: str) -> Iterator[ScratchSpace]:
    """An empty scratch space of the URL's dialect (a SQLite file without a URL)."""
    with opened(url or DEFAULT_URL, table, readonly=True) as backend, \
            backend.catalog().scratch() as space:
        yield space


def schema_of(space: ScratchSpace) -> Schema:
    """The schema in a scratch space or copy, read through a connection of its own."""
    with opened(space.url, space.table, readonly=True) as backend:
        return backend.catalog().schema()


def rebuild_of(space: ScratchSpace) -> tuple[str, str]:
    with opened(space.url, space.table, readonly=True) as backend:
        return backend.catalog().rebuild_script()
