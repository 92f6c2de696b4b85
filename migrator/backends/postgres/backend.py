"""The PostgreSQL backend: a session plus its catalog and its span runner.

Split from ``session`` so the catalog modules, which need a connection, do
not import the module that imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg

from migrator.backends.base import TICK_MASK, Backend, Catalog, LockWaits, SpanRunner
from migrator.backends.postgres import wire
from migrator.backends.postgres.lockwaits import PgLockWaits
from migrator.backends.postgres.session import PgSession


class PostgresBackend(PgSession):
    def __init__(self, url: str, *, table: str, readonly: bool, busy_timeout: float) -> None:
        super().__init__(url, table=table, readonly=readonly, busy_timeout=busy_timeout)
        self.span_runner: SpanRunner | None = self
        self.lock_waits: LockWaits | None = PgLockWaits(self)

    def run_spans(
        self, text: str, offsets: Sequence[int], ends: Sequence[int], transactional: bool,
        tick: Callable[[int], None] | None = None,
    ) -> tuple[int, Exception | None] | None:
        """A transactional file in pipeline mode; any other one statement at a time."""
        if transactional and self.in_transaction() and wire.pipelinable(text, offsets):
            return wire.run_pipelined(self.conn, text, offsets, ends, tick)
        for at, (offset, end) in enumerate(zip(offsets, ends, strict=True)):
            if tick is not None and not at & TICK_MASK:
                tick(at)
            try:
                self.execute(text[offset:end])
            except psycopg.Error as exc:
                return at, exc
            if transactional and not self.in_transaction():
                return at, None
        return None

    def catalog(self) -> Catalog:
        from migrator.backends.postgres.catalog import PostgresCatalog

        return PostgresCatalog(self)


def open_backend(url: str, *, table: str, readonly: bool, busy_timeout: float) -> Backend:
    """The registry's factory; typed as ``Backend`` so mypy checks the protocol here."""
    return PostgresBackend(url, table=table, readonly=readonly, busy_timeout=busy_timeout)
