"""Lock waits on PostgreSQL: ``lock_timeout`` per file and who blocks it.

The blockers are read while the migration waits, from a second connection
polling ``pg_blocking_pids``: once the timeout fires and the transaction
rolls back, nothing links the holder to this session any more.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import psycopg

from migrator.backends.base import Blocker
from migrator.backends.lockwatch import POLL, BlockerWatch
from migrator.errors import DbError

if TYPE_CHECKING:
    from migrator.backends.postgres.session import PgSession

LOCK_NOT_AVAILABLE = "55P03"
_BLOCKERS = (
    "SELECT a.pid, coalesce(a.usename, ''), "
    "extract(epoch FROM now() - coalesce(a.xact_start, a.query_start, a.backend_start))"
    "::float8, coalesce(a.query, '') "
    "FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(%s)) ORDER BY a.pid"
)


class PgLockWaits(BlockerWatch):
    """The ``LockWaits`` capability over a session's connection."""

    def __init__(self, session: PgSession) -> None:
        super().__init__()
        self.session = session  # its connection is read each time: reconnect() replaces it
        self._saved: str | None = None  # the session's value before the first set

    def set_lock_timeout(self, seconds: float | None) -> None:
        conn = self.session.conn
        if seconds is None:
            if self._saved is not None:
                conn.execute("SELECT set_config('lock_timeout', %s, false)", (self._saved,))
            return
        if self._saved is None:  # the URL's, a role's or the server's: put back after
            row = conn.execute("SELECT current_setting('lock_timeout')").fetchone()
            self._saved = str(row[0]) if row else "0"
        conn.execute("SELECT set_config('lock_timeout', %s, false)",
                     (f"{max(int(seconds * 1000), 1)}ms",))

    def is_lock_timeout(self, error: DbError) -> bool:
        return error.code == LOCK_NOT_AVAILABLE

    def _session_id(self) -> int:
        return int(self.session.conn.info.backend_pid)

    def _poll(self, pid: int, stop: threading.Event) -> None:
        """Until ``stop``: note the sessions blocking ``pid``, keeping the last seen."""
        with contextlib.suppress(psycopg.Error), \
                psycopg.connect(self.session.settings.conninfo, autocommit=True, connect_timeout=5,
                                application_name="migrator lock watch") as conn:
            while not stop.wait(POLL):
                rows = conn.execute(_BLOCKERS, (pid,)).fetchall()
                if rows:
                    self._seen = [Blocker(int(r[0]), str(r[1]), float(r[2] or 0), str(r[3]))
                                  for r in rows]
