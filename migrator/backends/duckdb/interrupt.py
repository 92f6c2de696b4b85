"""Ctrl-C and SIGTERM during a long DuckDB statement.

Python runs a signal handler only between bytecodes, and a statement runs
inside DuckDB for as long as it takes (an analytical query can take hours),
so the signal would wait for it. Python's C-level handler still writes the
signal number to the wakeup fd at once: a thread waiting on that fd asks
DuckDB to interrupt the running statement, which then fails with "Query
interrupted". DuckDB may run the Python handler itself while it stops and
drop what it raised, so the backend turns that failure into the
``Interrupted`` the handler would have raised: the migration is rolled back
and migrator exits 130 or 143, as between statements.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading

import duckdb

_STOPS = frozenset({signal.SIGINT, signal.SIGTERM})


class Interrupter:
    """Interrupts ``conn``'s running statement on SIGINT/SIGTERM until ``close``.

    Only the main thread can set the wakeup fd; elsewhere this does nothing,
    as signals are not delivered there anyway.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.signum: int | None = None  # the signal that interrupted a statement
        self._heard = threading.Event()
        self._active = threading.current_thread() is threading.main_thread()
        if not self._active:
            return
        self._receive, self._send = socket.socketpair()
        self._send.setblocking(False)
        self._previous = signal.set_wakeup_fd(self._send.fileno(), warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._watch, args=(conn,), daemon=True,
                                        name="migrator-duckdb-interrupt")
        self._thread.start()

    def _watch(self, conn: duckdb.DuckDBPyConnection) -> None:
        while True:
            try:
                data = self._receive.recv(64)
            except OSError:
                return
            if not data:
                return  # closed
            stops = _STOPS.intersection(data)
            if stops:
                self.signum = min(stops)  # SIGINT before SIGTERM, as Python runs them
                self._heard.set()
                with contextlib.suppress(duckdb.Error):
                    conn.interrupt()
            if self._previous != -1:  # whoever had the wakeup fd before still hears it
                with contextlib.suppress(OSError):
                    os.write(self._previous, data)

    def signal_heard(self, timeout: float) -> int | None:
        """The stopping signal, waiting up to ``timeout`` for the thread to hear it
        (DuckDB may stop the statement itself, before this thread runs)."""
        if self._active:
            self._heard.wait(timeout)
        return self.signum

    def close(self) -> None:
        if not self._active:
            return
        self._active = False
        with contextlib.suppress(ValueError, OSError):  # another thread, or a stale fd
            signal.set_wakeup_fd(self._previous)
        with contextlib.suppress(OSError):
            self._receive.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._receive.close()
        self._send.close()
