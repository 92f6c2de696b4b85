"""What ``check-order`` costs: both replays of a history with one late migration.

    python bench/order.py                       # 200 small migrations, SQLite
    python bench/order.py --count 1000 --reps 3
    python bench/order.py --url postgres://postgres@127.0.0.1:5432/test --count 100

The proof replays every applied migration twice (once per order), so its
time grows with the history, not with the late file; ``up`` of the same
history is printed beside it as the yardstick. On a server the history is
applied in a schema (PostgreSQL) or database (MySQL) of its own, dropped
afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_VERSION = 20260000000000


def history_sql(i: int) -> str:
    """One small migration that every dialect runs: a table, an index, ten rows."""
    t = f"t{i:05d}"
    rows = ", ".join(f"({k}, 'item {k}')" for k in range(10))
    return (f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\n"
            f"CREATE INDEX {t}_name ON {t} (name);\n"
            f"INSERT INTO {t} (id, name) VALUES {rows};\n")


def migrator(cwd: Path, url: str, *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "migrator", "-u", url, *args], cwd=cwd,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"migrator {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return elapsed


def namespace(url: str) -> tuple[str, str, str]:
    """A URL of a fresh namespace for the history, and the SQL that makes and drops it."""
    name = f"bench_order_{uuid.uuid4().hex[:8]}"
    if url.startswith("postgres"):
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}search_path={name}", f"CREATE SCHEMA {name}", \
            f"DROP SCHEMA {name} CASCADE"
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", f"CREATE DATABASE {name}", f"DROP DATABASE {name}"


def admin(url: str, sql: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)
        return
    from urllib.parse import urlsplit

    import pymysql  # type: ignore[import-untyped,unused-ignore]

    p = urlsplit(url)
    conn = pymysql.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306,
                           user=p.username or "root", password=p.password or "",
                           autocommit=True)
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="applied migrations")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--url", help="a server URL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-order-") as tmp:
        root = Path(tmp)
        migrations = root / "migrations"
        migrations.mkdir()
        for i in range(args.count):
            (migrations / f"{BASE_VERSION + 2 * i}_m{i}.up.sql").write_text(history_sql(i))
        url, create, drop = (f"sqlite:///{root / 'app.db'}", "", "") if not args.url \
            else namespace(args.url)
        if create:
            admin(args.url, create)
        try:
            up = migrator(root, url, "up")
            late = migrations / f"{BASE_VERSION + 1}_late.up.sql"
            late.write_text("CREATE TABLE late (id INTEGER);\n")
            times = [migrator(root, url, "check-order") for _ in range(args.reps)]
        finally:
            if drop:
                admin(args.url, drop)
    print(f"{args.count} applied migrations + 1 late one on {url.split(':', 1)[0]}: "
          f"up {up:.2f} s; check-order median {statistics.median(times):.2f} s "
          f"({statistics.median(times) / up:.1f}x up) over {args.reps} runs")


if __name__ == "__main__":
    main()
