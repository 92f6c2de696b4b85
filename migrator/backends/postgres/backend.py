"""The PostgreSQL backend: a session plus its catalog and its span runner.

Split from ``session`` so the catalog modules, which need a connection, do
not import the module that imports them.
"""

from __future__ import annotations

from migrator.backends.base import Backend, Catalog
from migrator.backends.postgres.session import PgSession


class PostgresBackend(PgSession):
    def catalog(self) -> Catalog:
        from migrator.backends.postgres.catalog import PostgresCatalog

        return PostgresCatalog(self)


def open_backend(url: str, *, table: str, readonly: bool, busy_timeout: float) -> Backend:
    """The registry's factory; typed as ``Backend`` so mypy checks the protocol here."""
    return PostgresBackend(url, table=table, readonly=readonly, busy_timeout=busy_timeout)
