"""Benchmark corpora: many small migrations, one large data migration.

Every statement the generator writes ends in ``;\\n`` and holds no other
``;``, so the raw lower bound (bench/raw.py) can cut the files with a plain
``str.split`` and pay nothing for splitting: the lower bound stays a lower
bound. The same files are written in dbmate's and yoyo's layouts when asked,
so every tool runs exactly the same SQL.
"""

from __future__ import annotations

import argparse
from pathlib import Path

BASE_VERSION = 20260000000000
LARGE_STATEMENT_BYTES = 100  # 200k statements = 20 MB, as in the issue
LAYOUTS = ("migrator", "dbmate", "yoyo")


def small_sql(i: int, inserts: int = 10) -> str:
    """One small migration: a table, an index and ``inserts`` rows."""
    t = f"t{i:05d}"
    lines = [
        f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);\n",
        f"CREATE INDEX {t}_name ON {t}(name);\n",
    ]
    lines += [f"INSERT INTO {t} (name, qty) VALUES ('item {k}', {k});\n" for k in range(inserts)]
    return "".join(lines)


def large_lines(megabytes: float) -> tuple[str, int]:
    """The header of the data migration and how many 100-byte INSERTs follow it."""
    header = "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT);\n"
    count = int(megabytes * 1_000_000) // LARGE_STATEMENT_BYTES
    return header, count


def large_insert(i: int) -> str:
    head = f"INSERT INTO big (id, name, payload) VALUES ({i}, 'row {i}', '"
    tail = "');\n"
    pad = LARGE_STATEMENT_BYTES - len(head) - len(tail)
    return head + "x" * pad + tail


def _version(i: int) -> str:
    return str(BASE_VERSION + i)


def _write(directory: Path, layout: str, i: int, name: str, chunks: object) -> None:
    """Write one migration in ``layout``; ``chunks`` is an iterable of SQL text."""
    version = _version(i)
    if layout == "migrator":
        path = directory / f"{version}_{name}.up.sql"
        prefix, suffix = "", ""
    elif layout == "dbmate":
        path = directory / f"{version}_{name}.sql"
        prefix, suffix = "-- migrate:up\n", "\n-- migrate:down\n"
    else:  # yoyo: one file per step, applied in file-name order
        path = directory / f"{version}_{name}.sql"
        prefix, suffix = "", ""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(prefix)
        for chunk in chunks:  # type: ignore[attr-defined]
            out.write(chunk)
        out.write(suffix)


def write_small(directory: Path, count: int, layout: str = "migrator") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        _write(directory, layout, i, f"create_t{i:05d}", [small_sql(i)])
    return directory


def write_large(directory: Path, megabytes: float, layout: str = "migrator") -> Path:
    """One migration of INSERT statements, streamed to disk (never held whole)."""
    directory.mkdir(parents=True, exist_ok=True)
    header, count = large_lines(megabytes)

    def chunks() -> object:
        yield header
        batch: list[str] = []
        for i in range(1, count + 1):
            batch.append(large_insert(i))
            if len(batch) == 5000:
                yield "".join(batch)
                batch.clear()
        yield "".join(batch)

    _write(directory, layout, 1, "load_big", chunks())
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("small", "large"))
    parser.add_argument("size", type=float, help="migrations (small) or megabytes (large)")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--layout", choices=LAYOUTS, default="migrator")
    args = parser.parse_args()
    if args.kind == "small":
        write_small(args.directory, int(args.size), args.layout)
    else:
        write_large(args.directory, args.size, args.layout)
    print(args.directory)


if __name__ == "__main__":
    main()
