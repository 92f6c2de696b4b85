"""Hold migrator's run lock on a database, from a process of its own, until stdin closes.

Usage: hold_lock.py URL MIGRATIONS_DIR. Prints 'held' once the lock is taken,
through the same backend code a run uses, so any backend's lock (a file lock,
an advisory lock, GET_LOCK) is held the way a live ``migrator up`` holds it.
"""

from __future__ import annotations

import sys

from migrator import Migrator


def main() -> None:
    url, directory = sys.argv[1:3]
    migrator = Migrator(url, directory)
    with migrator._backend(readonly=False) as backend, backend.run_lock(0):
        print("held", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
