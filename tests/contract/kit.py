"""What the contract tests share: the CLI against one test database, a lock holder, files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clihelp import TIMEOUT, Result, clean_env, cli, migration, start

from contract.backends import Db

DRIVERS = Path(__file__).resolve().parent.parent / "drivers"


def migrator(db: Db, directory: Path, *args: str, env: dict[str, str] | None = None,
             timeout: float = TIMEOUT) -> Result:
    """The real CLI on ``db``, in the directory above ``directory``, as a user types it."""
    return cli(directory.parent, "-u", db.url, "-d", directory.name, *args, env=env,
               timeout=timeout)


def start_migrator(db: Db, directory: Path, *args: str) -> subprocess.Popen[str]:
    return start(directory.parent, "-u", db.url, "-d", directory.name, *args)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.stderr + result.stdout, str(result)


class LockHolder:
    """A process of its own holding migrator's run lock on ``db`` until released."""

    def __init__(self, db: Db, directory: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVERS / "hold_lock.py"), db.url, str(directory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=clean_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line != "held\n":
            self.proc.kill()
            raise AssertionError(f"lock holder failed: {line!r} {self.proc.communicate()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT)

    def __enter__(self) -> LockHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


# -- migration sets every dialect runs ----------------------------------------------------

VERSIONS = ["20260101000000", "20260102000000", "20260103000000"]
D = "20260104000000"
A_UP = "migrations/20260101000000_create_a.up.sql"
B_UP = "migrations/20260102000000_create_b/up.sql"


def three(root: Path) -> Path:
    """Three reversible migrations (tables a, b and c, both layouts); the directory."""
    migration(root, VERSIONS[0], "create_a",
              "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR(50));\n"
              "INSERT INTO a (id, v) VALUES (1, 'one');\n",
              "DROP TABLE a;\n")
    migration(root, VERSIONS[1], "create_b",
              "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n"
              "CREATE INDEX b_a ON b (a_id);\n",
              "DROP TABLE b;\n", layout="dir")
    migration(root, VERSIONS[2], "create_c",
              "CREATE TABLE c (x VARCHAR(50));\nINSERT INTO c VALUES ('it''s; tricky');\n",
              "DROP TABLE c;\n")
    return root / "migrations"


def fourth(root: Path) -> Path:
    """A fourth migration, d, pending after ``three``."""
    return migration(root, D, "create_d", "CREATE TABLE d (x INTEGER);\n", "DROP TABLE d;\n")


LIFECYCLE = {
    "001_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100));\n"
                        "INSERT INTO users VALUES (1, 'a@example.com');\n",
    "001_users.down.sql": "DROP TABLE users;\n",
    "002_orders.up.sql": "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER);\n"
                         "CREATE INDEX orders_user ON orders (user_id);\n",
    "002_orders.down.sql": "DROP TABLE orders;\n",
    "003_seed/up.sql": "INSERT INTO orders VALUES (10, 1);\nINSERT INTO orders VALUES (11, 1);\n",
    "003_seed/down.sql": "DELETE FROM orders WHERE id IN (10, 11);\n",
}
