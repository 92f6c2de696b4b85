"""Time migrator on PostgreSQL against psql and a raw psycopg floor.

    python bench/server.py --url postgres://postgres@127.0.0.1:5432/test
    python bench/server.py --url ... --only data --reps 5

Scenarios, each run round-robin (interleaved) on a fresh schema, whole
processes, medians and ratios from the same run:

- **data**: one file of 100,000 single-row INSERTs (about 7.6 MB) into an
  empty table: ``psql -X -1 -f file`` and the raw psycopg floor (one
  transaction, a round trip per statement) against ``migrator up``.
- **small**: 1000 migrations of one table each (a table, an index, 10 rows):
  psql running a script that includes each file in a transaction of its own
  with its bookkeeping row, and the raw psycopg floor (bench/floors.py:
  the same in one connection, no tool around it), against ``migrator up``.
- **status**: ``migrator status`` with 5000 migrations applied against
  ``psql -c`` selecting the bookkeeping rows, and the raw psycopg floor
  (bench/floors.py: connect, select the rows, list the directory, read and hash every file,
  print a line each: what status must do to see a changed file).

Every contender's peak RSS is that of the measured process itself (the
clients' too). The package is byte-compiled first, so no run pays for
compiling it, and every process runs in an empty working directory.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

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


def write_data(directory: Path) -> Path:
    """The data file: 100,000 INSERTs of about 76 bytes into ``items``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{corpus.BASE_VERSION + 1}_load_items.up.sql"
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for i in range(1, ROWS + 1):
            out.write(f"INSERT INTO items (id, name, qty) VALUES ({i}, 'item {i:06d} "
                      f"loaded', {i % 1000});\n")
    return directory


def create_schema(url: str, schema: str, sql: str = "") -> None:
    _sql(url, f'CREATE SCHEMA "{schema}"; SET search_path = "{schema}"; {sql}')


def _sql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
                    "SET client_min_messages = warning", "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def _count(url: str, schema: str, table: str) -> int:
    out = subprocess.run(["psql", "-X", "-A", "-t", url, "-c",
                          f'SELECT count(*) FROM "{schema}".{table}'],
                         check=True, capture_output=True, text=True).stdout
    return int(out)


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


def in_schema(schema: str) -> dict[str, str]:
    return {"PGOPTIONS": f"-c search_path={schema}"}


def migrator(directory: Path, url: str, schema: str, command: str = "up") -> list[str]:
    return [PY, "-m", "migrator", "-q", "-u", with_schema(url, schema), "-d", str(directory),
            command]


def psql_script(directory: Path) -> Path:
    """What a shell script around psql would do for many files: one session, each
    file in its own transaction with its bookkeeping row (no checksum)."""
    script = directory.parent / f"{directory.name}.psql"
    with script.open("w", encoding="utf-8") as out:
        out.write(f"{floors.BOOKKEEPING['pg']};\n")
        for path in sorted(directory.glob("*.up.sql")):
            version, _, rest = path.name.partition("_")
            out.write(f"BEGIN;\n\\i {path}\nINSERT INTO schema_migrations VALUES "
                      f"('{version}', '{rest.removesuffix('.up.sql')}', '', now()::text, 0);\n"
                      "COMMIT;\n")
    return script


def floor(command: str, directory: Path, url: str, schema: str) -> list[str]:
    return [PY, str(HERE / "floors.py"), "pg", command, str(directory), with_schema(url, schema)]


def fresh_runs(url: str, setup: str, check: Callable[[str], None],
               argv: Callable[[str], list[str]], env: bool = False) -> Callable[[], Sample]:
    """A contender that runs on a fresh schema each time, checked and dropped after."""
    def one() -> Sample:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        create_schema(url, schema, setup)
        try:
            sample = timed(argv(schema), env=in_schema(schema) if env else None)
            check(schema)
            return sample
        finally:
            _sql(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return one


def expect(url: str, table: str, count: int) -> Callable[[str], None]:
    def check(schema: str) -> None:
        found = _count(url, schema, table)
        if found != count:
            raise SystemExit(f"{schema}.{table} has {found} rows, not {count}")
    return check


def data(work: Path, url: str, reps: int) -> str:
    directory = write_data(work / "data")
    [path] = sorted(directory.glob("*.up.sql"))
    setup = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER)"
    check = expect(url, "items", ROWS)
    samples = interleave(reps, {
        "psql -1 -f": fresh_runs(url, setup, check, lambda schema: [
            "psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(path), url], env=True),
        "raw psycopg": fresh_runs(url, setup, check,
                                  lambda schema: floor("apply", directory, url, schema)),
        "migrator": fresh_runs(url, setup, check,
                               lambda schema: migrator(directory, url, schema)),
    }, "data")
    return rows(f"{ROWS:,} INSERTs, one file", samples)


def small(work: Path, url: str, reps: int) -> str:
    directory = write_small(work / "small", SMALL)
    script = psql_script(directory)
    check = expect(url, "schema_migrations", SMALL)
    samples = interleave(reps, {
        "psql, a file per transaction": fresh_runs(url, "", check, lambda schema: [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), url], env=True),
        "raw psycopg": fresh_runs(url, "", check,
                                  lambda schema: floor("apply", directory, url, schema)),
        "migrator": fresh_runs(url, "", check, lambda schema: migrator(directory, url, schema)),
    }, "small")
    return rows(f"{SMALL} small migrations", samples)


def status(work: Path, url: str, reps: int) -> str:
    """``status`` with every migration applied (recorded by ``baseline``, which
    writes the same rows as ``up`` without running 5000 files first)."""
    directory = write_small(work / "status", STATUS)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    create_schema(url, schema)
    try:
        last = str(corpus.BASE_VERSION + STATUS)
        subprocess.run([*migrator(directory, url, schema, "baseline"), last], check=True,
                       cwd=run.CWD, stdout=subprocess.DEVNULL)
        shown = subprocess.run(migrator(directory, url, schema, "status"), check=True,
                               capture_output=True, text=True, cwd=run.CWD).stdout
        if shown.count(" applied ") != STATUS:
            raise SystemExit("status does not show every migration applied:\n" + shown[-500:])
        select = (f'SELECT version, checksum, applied_at FROM "{schema}".schema_migrations '
                  "ORDER BY version")
        samples = interleave(reps, {
            "psql -c": lambda: timed(["psql", "-X", "-A", "-t", "-c", select, url]),
            "raw psycopg": lambda: timed(floor("status", directory, url, schema)),
            "migrator": lambda: timed(migrator(directory, url, schema, "status")),
        }, "status")
    finally:
        _sql(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return rows(f"status, {STATUS} applied", samples)


def write_small(directory: Path, count: int) -> Path:
    """corpus.py's small migrations, with an identity key where SQLite has its rowid."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        sql = corpus.small_sql(i).replace("INTEGER PRIMARY KEY",
                                          "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        Path(directory, f"{corpus.BASE_VERSION + i}_create_t{i:05d}.up.sql").write_text(sql)
    return directory


SCENARIOS = {"data": data, "small": small, "status": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MIGRATOR_TEST_POSTGRES_URL"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", action="append", choices=tuple(SCENARIOS))
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("give --url postgres://... or set MIGRATOR_TEST_POSTGRES_URL")
    if shutil.which("psql") is None:
        raise SystemExit("psql is not on PATH")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(HERE.parent / "migrator"), quiet=1)
    only = [name for name in SCENARIOS if name in (args.only or SCENARIOS)]
    with tempfile.TemporaryDirectory(prefix="migrator-bench-") as work:
        run.CWD = Path(work)  # no pyproject.toml or migrator.toml there to read
        table = [HEADER]
        for name in only:
            table.append(SCENARIOS[name](Path(work), args.url, args.reps))
            print(table[-1], flush=True)
    print(f"\n# PostgreSQL, medians of {args.reps}, interleaved\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
