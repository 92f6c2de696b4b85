"""Time migrator on MySQL/MariaDB against the ``mariadb`` client and a raw PyMySQL floor.

    python bench/server_mysql.py [--url mysql://root@127.0.0.1:3306/test]
    python bench/server_mysql.py --only status --reps 5

Scenarios, each run round-robin (interleaved) on a fresh database, whole
processes, medians and ratios from the same run:

- **data**: a CREATE TABLE and 100,000 single-row INSERTs (9.1 MB):
  ``mariadb db < file`` (which commits every statement) and the raw PyMySQL
  floor (the INSERTs in one transaction) against ``migrator up`` (which runs
  the INSERTs as one transaction between the DDL and its bookkeeping row).
- **small**: 1000 migrations of one table each (a table, an index, 10 rows):
  the client running a script that sources each file and commits it with
  its bookkeeping row, and the raw PyMySQL floor (bench/floors.py: the same in one
  connection, no tool around it), against ``migrator up``.
- **status**: ``migrator status`` with 5000 migrations applied against
  ``mariadb -e`` selecting the bookkeeping rows, and the raw PyMySQL floor
  (bench/floors.py: connect, select the rows, list the directory, read and hash every file,
  print a line each).

Every contender's peak RSS is that of the measured process itself (the
client's too). The package is byte-compiled first, and every process runs
in an empty working directory.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import floors  # noqa: E402
import run  # noqa: E402
from rounds import HEADER, interleave, rows  # noqa: E402
from run import Sample, timed  # noqa: E402

PY = sys.executable
ROWS = 100_000
SMALL = 1000
STATUS = 5000
NAME = "bench_server_mysql"
ROW = "INSERT INTO big (id, name, qty, note) VALUES ({i}, 'name {i}', {q}, 'note text {i}');\n"


def write_data(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "1_big.up.sql"
    with path.open("w", encoding="utf-8") as out:
        out.write("CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, "
                  "qty INTEGER, note VARCHAR(200)) ENGINE=InnoDB;\n")
        for i in range(1, ROWS + 1):
            out.write(ROW.format(i=i, q=i % 97))
    return path


def write_small(directory: Path, count: int) -> Path:
    """corpus.py's small migrations, with MySQL's auto-increment key and an indexable name."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        sql = (corpus.small_sql(i)
               .replace("INTEGER PRIMARY KEY", "INTEGER AUTO_INCREMENT PRIMARY KEY")
               .replace("name TEXT", "name VARCHAR(64)"))
        Path(directory, f"{corpus.BASE_VERSION + i}_create_t{i:05d}.up.sql").write_text(sql)
    return directory


def client_script(directory: Path) -> Path:
    """What a shell script around the client would do for many files: one session,
    each file sourced and committed with its bookkeeping row (no checksum)."""
    script = directory.parent / f"{directory.name}.mysql"
    with script.open("w", encoding="utf-8") as out:
        out.write(f"{floors.BOOKKEEPING['mysql']};\n")
        for path in sorted(directory.glob("*.up.sql")):
            version, _, rest = path.name.partition("_")
            out.write(f"START TRANSACTION;\nsource {path}\nINSERT INTO schema_migrations "
                      f"VALUES ('{version}', '{rest.removesuffix('.up.sql')}', '', NOW(), 0);\n"
                      "COMMIT;\n")
    return script


def _params(url: str) -> dict[str, Any]:
    p = urlsplit(url)
    return {"host": p.hostname or "127.0.0.1", "port": p.port or 3306,
            "user": p.username or "root", "password": p.password or ""}


def _admin(url: str) -> Any:
    import pymysql  # type: ignore[import-untyped]

    return pymysql.connect(**_params(url), autocommit=True)


def _database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, f"/{name}", "", ""))


def _fresh(url: str) -> str:
    with _admin(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{NAME}`")
        cur.execute(f"CREATE DATABASE `{NAME}`")
    return _database(url, NAME)


def _drop(url: str) -> None:
    with _admin(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{NAME}`")


def _count(url: str, table: str) -> int:
    with _admin(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM `{NAME}`.`{table}`")
        return int(cur.fetchone()[0])


def client(url: str, *extra: str) -> list[str]:
    found = shutil.which("mariadb") or shutil.which("mysql")
    if found is None:
        raise SystemExit("no mariadb or mysql client on PATH")
    p = _params(url)
    argv = [found, f"--host={p['host']}", f"--port={p['port']}", f"--user={p['user']}",
            "--protocol=TCP", *extra, urlsplit(url).path.lstrip("/")]
    if p["password"]:
        argv.insert(1, f"--password={p['password']}")
    return argv


def migrator(directory: Path, url: str, command: str = "up") -> list[str]:
    return [PY, "-m", "migrator", "-q", "-u", url, "-d", str(directory), command]


def floor(command: str, directory: Path, url: str) -> list[str]:
    return [PY, str(HERE / "floors.py"), "mysql", command, str(directory), url]


def fresh_runs(url: str, table: str, count: int, argv: Callable[[str], list[str]],
               stdin: Path | None = None) -> Callable[[], Sample]:
    """A contender that runs on a fresh database each time, checked after."""
    def one() -> Sample:
        db = _fresh(url)
        sample = timed(argv(db), stdin=stdin)
        found = _count(url, table)
        if found != count:
            raise SystemExit(f"{table} has {found} rows, not {count}")
        return sample
    return one


def data(work: Path, url: str, reps: int) -> str:
    path = write_data(work / "data")
    samples = interleave(reps, {
        "mariadb < file": fresh_runs(url, "big", ROWS, client, stdin=path),
        "raw PyMySQL": fresh_runs(url, "big", ROWS,
                                  lambda db: floor("apply", path.parent, db)),
        "migrator": fresh_runs(url, "big", ROWS, lambda db: migrator(path.parent, db)),
    }, "data")
    return rows(f"{ROWS:,} INSERTs, one file", samples)


def small(work: Path, url: str, reps: int) -> str:
    directory = write_small(work / "small", SMALL)
    script = client_script(directory)
    table = "schema_migrations"
    samples = interleave(reps, {
        "mariadb, a file per commit": fresh_runs(url, table, SMALL, client, stdin=script),
        "raw PyMySQL": fresh_runs(url, table, SMALL, lambda db: floor("apply", directory, db)),
        "migrator": fresh_runs(url, table, SMALL, lambda db: migrator(directory, db)),
    }, "small")
    return rows(f"{SMALL} small migrations", samples)


def status(work: Path, url: str, reps: int) -> str:
    """``status`` with every migration applied (recorded by ``baseline``, which
    writes the same rows as ``up`` without running 5000 files first)."""
    directory = write_small(work / "status", STATUS)
    db = _fresh(url)
    last = str(corpus.BASE_VERSION + STATUS)
    subprocess.run([*migrator(directory, db, "baseline"), last], check=True, cwd=run.CWD,
                   stdout=subprocess.DEVNULL)
    shown = subprocess.run(migrator(directory, db, "status"), check=True, capture_output=True,
                           text=True, cwd=run.CWD).stdout
    if shown.count(" applied ") != STATUS:
        raise SystemExit("status does not show every migration applied:\n" + shown[-500:])
    select = "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version"
    samples = interleave(reps, {
        "mariadb -e": lambda: timed(client(db, "-e", select)),
        "raw PyMySQL": lambda: timed(floor("status", directory, db)),
        "migrator": lambda: timed(migrator(directory, db, "status")),
    }, "status")
    return rows(f"status, {STATUS} applied", samples)


SCENARIOS = {"data": data, "small": small, "status": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MIGRATOR_TEST_MYSQL_URL",
                                                        "mysql://root@127.0.0.1:3306/test"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", action="append", choices=tuple(SCENARIOS))
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(HERE.parent / "migrator"), quiet=1)
    only = [name for name in SCENARIOS if name in (args.only or SCENARIOS)]
    table = [HEADER]
    try:
        with tempfile.TemporaryDirectory(prefix="migrator-bench-") as work:
            run.CWD = Path(work)  # no pyproject.toml or migrator.toml there to read
            for name in only:
                table.append(SCENARIOS[name](Path(work), args.url, args.reps))
                print(table[-1], flush=True)
    finally:
        _drop(args.url)
    print(f"\n# MySQL/MariaDB, medians of {args.reps}, interleaved\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
