"""The raw-driver floors of the server benchmarks: the least a tool could do.

    python bench/floors.py {pg,mysql} {apply,status} DIR URL

``apply``: one connection, each file cut with ``str.split`` (the generated
files allow it), its statements and its bookkeeping row committed together;
no checks, no locks, no error handling. ``status``: connect, select the
bookkeeping rows, list the directory, read and hash every file, print one
line each, as bench/raw.py does for SQLite: what ``status`` must do to see a
changed file. A script of its own that imports only what it uses, so the
floor pays no benchmark machinery's start-up.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any
from urllib.parse import urlsplit

BOOKKEEPING = {
    "pg": ("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, "
           "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, "
           "duration_ms INTEGER NOT NULL)"),
    "mysql": ("CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(64) PRIMARY KEY, "
              "name VARCHAR(255) NOT NULL, checksum VARCHAR(64) NOT NULL, applied_at "
              "VARCHAR(32) NOT NULL, duration_ms INTEGER NOT NULL) ENGINE=InnoDB"),
}
RECORD = {
    "pg": "INSERT INTO schema_migrations VALUES (%s, %s, %s, now()::text, 0)",
    "mysql": "INSERT INTO schema_migrations VALUES (%s, %s, %s, NOW(), 0)",
}


def files(directory: str) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".up.sql"))


def connect(dialect: str, url: str) -> Any:
    """A connection whose unqualified names are the benchmark's schema or database."""
    if dialect == "pg":
        import psycopg

        base, _, query = url.partition("?")
        schema = dict(p.split("=", 1) for p in query.split("&") if p)["search_path"]
        conn = psycopg.connect(base, autocommit=True)
        conn.execute(f'SET search_path = "{schema}"')
        return conn
    import pymysql  # type: ignore[import-untyped]

    p = urlsplit(url)
    return pymysql.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306,
                           user=p.username or "root", password=p.password or "",
                           database=p.path.lstrip("/"))


def apply(dialect: str, directory: str, url: str) -> None:
    conn = connect(dialect, url)
    cur = conn.cursor()
    cur.execute(BOOKKEEPING[dialect])
    for name in files(directory):
        with open(os.path.join(directory, name), "rb") as f:
            raw = f.read()
        digest = hashlib.sha256(raw).hexdigest()
        version, _, rest = name.partition("_")
        if dialect == "pg":
            cur.execute("BEGIN")
        for sql in raw.decode().split(";\n"):
            if sql.strip():
                cur.execute(sql)
        cur.execute(RECORD[dialect], (version, rest.removesuffix(".up.sql"), digest))
        if dialect == "pg":
            cur.execute("COMMIT")
        else:
            conn.commit()
    conn.close()


def status(dialect: str, directory: str, url: str) -> None:
    conn = connect(dialect, url)
    cur = conn.cursor()
    cur.execute("SELECT version, checksum, applied_at FROM schema_migrations")
    rows = {v: (c, str(a)) for v, c, a in cur.fetchall()}
    conn.close()
    out = []
    for name in files(directory):
        with open(os.path.join(directory, name), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        version, _, rest = name.partition("_")
        row = rows.get(version)
        state = "pending" if row is None else "applied" if row[0] == digest else "modified"
        out.append(f"{version}  {rest.removesuffix('.up.sql')}  {state}  {row[1] if row else '-'}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    dialect, command, directory, url = sys.argv[1:5]
    {"apply": apply, "status": status}[command](dialect, directory, url)
