"""MySQL/MariaDB: ``migrator up`` against the ``mariadb`` client on one data file.

    python bench/server_mysql.py [--url mysql://root@127.0.0.1:3306/test]
                                 [--rows 100000] [--runs 3]

The file is a CREATE TABLE and ``--rows`` single-row INSERTs (100,000 make
about 7.6 MB). Each run gets a fresh database; the two tools alternate, run
after run, so a slow moment of the machine hits both; the medians and their
ratio are printed. The client commits every statement (autocommit); migrator
runs the INSERTs as one transaction between the DDL and its bookkeeping row.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pymysql  # type: ignore[import-untyped]

ROW = "INSERT INTO big (id, name, qty, note) VALUES ({i}, 'name {i}', {q}, 'note text {i}');\n"


def write_file(directory: Path, rows: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "1_big.up.sql"
    with path.open("w", encoding="utf-8") as out:
        out.write("CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, "
                  "qty INTEGER, note VARCHAR(200)) ENGINE=InnoDB;\n")
        for i in range(1, rows + 1):
            out.write(ROW.format(i=i, q=i % 97))
    return path


def _admin(url: str) -> pymysql.connections.Connection:
    p = urlsplit(url)
    return pymysql.connect(host=p.hostname or "127.0.0.1", port=p.port or 3306,
                           user=p.username or "root", password=p.password or "",
                           autocommit=True)


def _fresh(url: str, name: str) -> str:
    with _admin(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}`")
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, f"/{name}", "", ""))


def _drop(url: str, name: str) -> None:
    with _admin(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def run_migrator(url: str, directory: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "migrator", "-u", url, "-d", str(directory), "up"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_client(url: str, path: Path) -> float:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        raise SystemExit("no mariadb or mysql client on PATH")
    p = urlsplit(url)
    argv = [client, f"--host={p.hostname or '127.0.0.1'}", f"--port={p.port or 3306}",
            f"--user={p.username or 'root'}", "--protocol=TCP", p.path.lstrip("/")]
    if p.password:
        argv.insert(1, f"--password={p.password}")
    started = time.perf_counter()
    with path.open("rb") as stdin:
        subprocess.run(argv, stdin=stdin, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="mysql://root@127.0.0.1:3306/test")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "migrations"
        path = write_file(directory, args.rows)
        print(f"{args.rows} INSERTs, {path.stat().st_size / 1e6:.1f} MB", flush=True)
        times: dict[str, list[float]] = {"mariadb": [], "migrator": []}
        name = "bench_server_mysql"
        for run in range(args.runs):
            for tool in ("mariadb", "migrator"):
                url = _fresh(args.url, name)
                took = run_client(url, path) if tool == "mariadb" else run_migrator(url, directory)
                times[tool].append(took)
                print(f"run {run + 1}: {tool:8} {took:7.2f} s", flush=True)
        _drop(args.url, name)
    client, ours = statistics.median(times["mariadb"]), statistics.median(times["migrator"])
    print(f"medians: mariadb {client:.2f} s, migrator {ours:.2f} s, ratio {ours / client:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
