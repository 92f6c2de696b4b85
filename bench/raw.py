"""The raw lower bound: the same work as migrator with nothing but the stdlib.

``apply``: for each file in name order, read it, hash it, cut it at ``;\\n``
(the generated corpora allow that; see corpus.py), then BEGIN IMMEDIATE, one
``execute`` per statement, the bookkeeping insert, COMMIT. ``status``: read
and hash every file, read the bookkeeping table, print one line each.
No checks, no error handling, no locks: what any runner must at least do.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from datetime import UTC, datetime

TABLE = "schema_migrations"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (version TEXT NOT NULL PRIMARY KEY, "
    "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, "
    "duration_ms INTEGER NOT NULL)"
)
INSERT = f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)"


def _files(directory: str) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".up.sql"))


def apply(directory: str, database: str) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute(CREATE)
    execute = conn.execute
    for name in _files(directory):
        with open(os.path.join(directory, name), "rb") as f:
            raw = f.read()
        digest = hashlib.sha256(raw).hexdigest()
        statements = raw.decode("utf-8").split(";\n")
        del raw
        version, _, rest = name.partition("_")
        execute("BEGIN IMMEDIATE")
        for sql in statements:
            if sql.strip():
                execute(sql)
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        execute(INSERT, (version, rest.removesuffix(".up.sql"), digest, now, 0))
        execute("COMMIT")
    conn.close()


def status(directory: str, database: str) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    rows = {v: (c, a) for v, c, a in conn.execute(
        f"SELECT version, checksum, applied_at FROM {TABLE}")}
    out = []
    for name in _files(directory):
        with open(os.path.join(directory, name), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        version, _, rest = name.partition("_")
        row = rows.get(version)
        state = "pending" if row is None else "applied" if row[0] == digest else "modified"
        out.append(f"{version}  {rest.removesuffix('.up.sql')}  {state}  {row[1] if row else '-'}")
    sys.stdout.write("\n".join(out) + "\n")
    conn.close()


if __name__ == "__main__":
    command, directory, database = sys.argv[1:4]
    {"apply": apply, "status": status}[command](directory, database)
