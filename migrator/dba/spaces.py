"""The DBA commands' one way to a database: the registry, a backend, its catalog.

No command here imports a driver or asks which database it talks to; each
opens a backend through ``migrator.backends`` and works with the catalog,
scratch space and copy that the backend's dialect provides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from migrator.backends import open_backend
from migrator.backends.base import Backend, ScratchSpace
from migrator.backends.guard import driver_errors
from migrator.errors import ConfigError
from migrator.schema import Schema

# Without a URL, files are read as SQLite's and scratch work happens in its
# temporary files: the embedded default needs no server.
DEFAULT_DIALECT = "sqlite"
DEFAULT_URL = "sqlite:///:memory:"
BUSY_TIMEOUT = 30.0


def need_url(url: str | None) -> str:
    if not url:
        raise ConfigError(
            "no database URL: pass --url, set DATABASE_URL, or put url = \"...\" "
            "in migrator.toml"
        )
    return url


@contextlib.contextmanager
def opened(url: str | None, table: str, *, readonly: bool) -> Iterator[Backend]:
    """A backend on ``url`` (which must be given), closed on exit."""
    backend = open_backend(need_url(url), table=table, readonly=readonly,
                                busy_timeout=BUSY_TIMEOUT)
    try:
        with driver_errors(backend):
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
