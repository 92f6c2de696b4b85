"""Run ``Migrator.up()`` and SIGKILL this process at one exact point.

Usage: kill_at.py URL MIGRATIONS_DIR VERSION POINT [up|down], where POINT is a
statement number (killed as that statement starts, so 1..k-1 have run) or
'commit' (killed after the bookkeeping insert, right before COMMIT). A kill
-9 gives no chance to clean up, which is the crash being simulated.
"""

from __future__ import annotations

import os
import signal
import sys

from migrator import Migration, Migrator, Progress, Statement


class KillAt(Progress):
    def __init__(self, version: str, point: str) -> None:
        self.version = version
        self.point = point

    def statement_started(self, migration: Migration, statement: Statement, total: int) -> None:
        if migration.version == self.version and str(statement.index) == self.point:
            os.kill(os.getpid(), signal.SIGKILL)

    def before_commit(self, migration: Migration, direction: str) -> None:
        if migration.version == self.version and self.point == "commit":
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    url, directory, version, point = sys.argv[1:5]
    migrator = Migrator(url, directory, progress=KillAt(version, point))
    if sys.argv[5:] == ["down"]:
        migrator.down()
    else:
        migrator.up()
    print("finished without reaching the kill point", flush=True)
    sys.exit(3)


if __name__ == "__main__":
    main()
