"""Watching who blocks a migration's session, from a thread of its own.

Shared by the servers' ``LockWaits``: while a file runs, a second connection
polls the server for the sessions blocking ours and keeps the last answer,
because once a lock timeout fires and the file rolls back nothing links the
holder to our session any more. Each dialect says how to name its session
and how to ask.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from migrator.backends.base import Blocker

POLL = 0.05  # seconds between two looks at the server while a file runs


class BlockerWatch:
    """``blockers()`` and ``watch()`` of the LockWaits capability."""

    def __init__(self) -> None:
        self._seen: list[Blocker] = []

    def blockers(self) -> list[Blocker]:
        return list(self._seen)

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        self._seen = []
        stop = threading.Event()
        watcher = threading.Thread(target=self._poll, args=(self._session_id(), stop),
                                   name="lock-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join(timeout=2.0)

    def _session_id(self) -> int:
        """The server's id of the session that runs the migration."""
        raise NotImplementedError

    def _poll(self, session: int, stop: threading.Event) -> None:
        """Until ``stop``: set ``self._seen`` to the sessions blocking ``session``."""
        raise NotImplementedError
