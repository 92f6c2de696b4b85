"""Scale: many files, one huge data file, one huge statement.

The tests assert correctness only (machines are shared and slow); they print
the seconds and peak memory they measured (``pytest -s``). Memory is the one
bound asserted, generously: a data file must not be held in memory as many
copies as it has representations (bytes, text, statements, SQL).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from migrator import Migrator
from migrator.backends.sqlite.split import split_sqlite
from migrator.errors import MigrationFailed
from migrator.files import discover
from migrator.splitting import Statement

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024

# Runs the CLI as the only child of a fresh interpreter, so RUSAGE_CHILDREN's
# maximum is that of the CLI process alone.
_PEAK = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                  "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def cli_peak(tmp: Path, *args: str) -> tuple[int, str, float]:
    """(exit code, stderr, peak RSS in MB) of one ``migrator`` run."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "migrator",
         "-u", f"sqlite:///{tmp / 'app.db'}", "-d", str(tmp / "migrations"), *args],
        capture_output=True, text=True, env=env, cwd=tmp, timeout=1800, check=True,
    )
    doc = json.loads(out.stdout)
    assert "Traceback" not in doc["stderr"], doc["stderr"]
    return doc["rc"], doc["stderr"], doc["peak_kb"] / 1024


def baseline_peak(tmp: Path) -> float:
    """Peak RSS of a run with nothing to do: the interpreter and imports."""
    (tmp / "empty").mkdir(exist_ok=True)
    _, _, peak = cli_peak(tmp, "-d", str(tmp / "empty"), "status")
    return peak


def rows(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


# --------------------------------------------------------------------------- many files

def write_many(root: Path, count: int) -> None:
    root.mkdir()
    (root / "00000001_log.up.sql").write_text("CREATE TABLE log(n INTEGER NOT NULL);\n")
    for n in range(2, count + 1):
        sql = f"-- step {n}\nINSERT INTO log VALUES ({n});\n".encode()
        if n % 10 == 0:
            d = root / f"{n:08d}_step"
            d.mkdir()
            (d / "up.sql").write_bytes(sql)
            (d / "down.sql").write_bytes(f"DELETE FROM log WHERE n = {n};".encode())
        else:
            (root / f"{n:08d}_step.up.sql").write_bytes(sql)


def timed_many(tmp: Path, count: int) -> dict[str, float]:
    root, db = tmp / f"migrations{count}", tmp / f"app{count}.db"
    write_many(root, count)
    m = Migrator(f"sqlite:///{db}", root)
    took: dict[str, float] = {}
    t = time.perf_counter()
    found = discover(root)
    took["discover"] = time.perf_counter() - t
    assert len(found) == count
    assert [x.key for x in found] == list(range(1, count + 1))
    t = time.perf_counter()
    entries = m.status()
    took["status"] = time.perf_counter() - t
    assert {e.state for e in entries} == {"pending"} and len(entries) == count
    t = time.perf_counter()
    result = m.up()
    took["up"] = time.perf_counter() - t
    assert len(result.done) == count
    t = time.perf_counter()
    entries = m.status()
    took["status_applied"] = time.perf_counter() - t
    assert {e.state for e in entries} == {"applied"} and len(entries) == count
    assert rows(db, "SELECT count(*) FROM log") == count - 1
    assert rows(db, "SELECT sum(n) FROM log") == sum(range(2, count + 1))
    assert rows(db, "SELECT count(*) FROM schema_migrations") == count
    assert m.up().done == []
    return took


@pytest.mark.slow
def test_twenty_thousand_migrations(tmp_path: Path) -> None:
    small = timed_many(tmp_path, 2_000)
    large = timed_many(tmp_path, 20_000)
    for step in large:
        print(f"\n{step}: 2k {small[step]:.2f}s, 20k {large[step]:.2f}s, "
              f"ratio {large[step] / max(small[step], 1e-6):.1f}", end="")


def test_two_thousand_migrations(tmp_path: Path) -> None:
    """The same pipeline at a size the default suite can afford."""
    timed_many(tmp_path, 2_000)


# --------------------------------------------------------------------------- one big file

def write_data_file(path: Path, size: int) -> tuple[int, int]:
    """An up file of ~``size`` bytes of one-row INSERTs; returns (rows, bytes)."""
    pad = "x" * 60
    count, written = 0, 0
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write("CREATE TABLE data(id INTEGER PRIMARY KEY, s TEXT NOT NULL);\n")
        chunk: list[str] = []
        while written < size:
            for _ in range(10_000):
                count += 1
                line = f"INSERT INTO data VALUES ({count}, '{pad};é');\n"
                chunk.append(line)
                written += len(line) + 1
            file.write("".join(chunk))
            chunk.clear()
    return count, path.stat().st_size


@pytest.mark.slow
def test_two_hundred_megabyte_data_migration(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    count, size = write_data_file(tmp_path / "migrations" / "1_data.up.sql", 200 * MB)
    base = baseline_peak(tmp_path)
    t = time.perf_counter()
    rc, stderr, peak = cli_peak(tmp_path, "up")
    took = time.perf_counter() - t
    assert rc == 0, stderr
    assert rows(tmp_path / "app.db", "SELECT count(*) FROM data") == count
    print(f"\n200 MB data file: {count} statements, {size / MB:.0f} MB, up {took:.1f}s, "
          f"peak RSS {peak:.0f} MB (empty run {base:.0f} MB)", end="")
    assert peak - base < 3 * size / MB, "more than three copies of the file in memory"
    with open(tmp_path / "migrations" / "1_data.up.sql", "a") as file:
        file.write("-- edited after it was applied\n")
    rc, stderr, status_peak = cli_peak(tmp_path, "status")
    assert rc == 0, stderr
    rc, stderr, _ = cli_peak(tmp_path, "up")
    assert rc == 3 and "1_data.up.sql" in stderr, stderr
    print(f"; status of the modified file: peak RSS {status_peak:.0f} MB", end="")
    assert status_peak - base < 3 * size / MB, "more than three copies of the file in memory"


# --------------------------------------------------------------------------- one big statement

def big_insert(rows_: int) -> str:
    values = ",\n".join(f"({n}, 'v{n};')" for n in range(1, rows_ + 1))
    return f"INSERT INTO big VALUES\n{values};"


def big_literal(size: int) -> str:
    return "INSERT INTO big VALUES (0, '" + ("a;b'';c\n" * (size // 8)) + "');"


def check_big_statement(tmp_path: Path, kind: str, size: int) -> None:
    """One huge statement splits as one, runs, and later lines keep their numbers."""
    count = size // 20  # a row "(n, 'vn;'),\n" is about 20 bytes
    big = big_insert(count) if kind == "rows" else big_literal(size)
    assert len(big) > 0.9 * size
    head = "CREATE TABLE big(n INTEGER, s TEXT);\n-- the data\n"
    after = head.count("\n") + big.count("\n") + 2
    root = tmp_path / "migrations"
    root.mkdir()
    (root / "1_big.up.sql").write_text(head + big + "\nSELECT 1;\nINSERT INTO nope VALUES (1);\n",
                                       encoding="utf-8", newline="")
    m = Migrator(f"sqlite:///{tmp_path / 'app.db'}", root)
    t = time.perf_counter()
    [item] = m.plan_up()
    assert item.spans is not None
    stmts = list(item.spans.statements(item.source.text))
    assert [s.line for s in stmts] == [1, 3, after, after + 1]
    assert stmts[1].sql == big
    del stmts
    with pytest.raises(MigrationFailed) as failed:
        m.up()
    assert failed.value.info.statement == 4 and failed.value.info.line == after + 1
    assert "no such table: nope" in str(failed.value)
    (root / "1_big.up.sql").write_text(head + big + "\nSELECT 1;\n", encoding="utf-8",
                                       newline="")
    assert len(m.up().done) == 1
    db = tmp_path / "app.db"
    if kind == "rows":
        assert rows(db, "SELECT count(*) FROM big") == count
        assert rows(db, "SELECT count(*) FROM big WHERE s = 'v' || n || ';'") == count
    else:
        assert rows(db, "SELECT length(s) FROM big") == (size // 8) * 7
    print(f"\n{size // MB} MB statement ({kind}): {time.perf_counter() - t:.1f}s", end="")


@pytest.mark.parametrize(("kind", "size"), [("rows", 5 * MB), ("literal", 50 * MB)])
def test_big_statement(tmp_path: Path, kind: str, size: int) -> None:
    check_big_statement(tmp_path, kind, size)


@pytest.mark.slow
def test_fifty_megabyte_insert_statement(tmp_path: Path) -> None:
    check_big_statement(tmp_path, "rows", 50 * MB)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rows", "literal"])
def test_fifty_megabyte_statement_memory(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "migrations"
    root.mkdir()
    big = big_insert(50 * MB // 20) if kind == "rows" else big_literal(50 * MB)
    (root / "1_big.up.sql").write_text("CREATE TABLE big(n INTEGER, s TEXT);\n" + big,
                                       encoding="utf-8", newline="")
    size = (root / "1_big.up.sql").stat().st_size / MB
    del big
    base = baseline_peak(tmp_path)
    rc, stderr, peak = cli_peak(tmp_path, "up")
    assert rc == 0, stderr
    print(f"\n{size:.0f} MB statement ({kind}) via CLI: peak RSS {peak:.0f} MB "
          f"(empty run {base:.0f} MB)", end="")


def test_line_ending_variants_hashed_across_chunk_boundaries() -> None:
    """Variants are hashed in 1 MiB chunks (not built whole); a CRLF split by a chunk
    boundary must still count as one line ending."""
    from migrator.checksum import checksum, cosmetic_match

    line = b"INSERT INTO t VALUES ('x');\r\n"
    crlf = line * ((3 * MB) // len(line) + 1)
    crlf = crlf[: MB - 1] + b"\r\n" + crlf[MB - 1 :]  # a CRLF across the first boundary
    lf = crlf.replace(b"\r\n", b"\n")
    assert cosmetic_match(crlf, checksum(lf)) == "line endings (CRLF/LF)"
    assert cosmetic_match(lf, checksum(crlf)) == "line endings (CRLF/LF)"
    assert cosmetic_match(lf, checksum(b"\xef\xbb\xbf" + crlf)) == (
        "line endings (CRLF/LF) and a UTF-8 BOM")
    assert cosmetic_match(b"\xef\xbb\xbf" + lf, checksum(lf)) == "a UTF-8 BOM"
    assert cosmetic_match(lf + b"x", checksum(lf)) is None


# --------------------------------------------------------------------------- splitter memory

def _split_peak(split: Callable[[str], Iterable[Statement]], text: str) -> tuple[int, int]:
    """(statements, peak traced bytes) of splitting ``text``, statements not kept."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in split(text))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("literal", [
    "'" + "a;b'';c\n" * (MB + 1) + "'",  # 8 MB of doubled quotes
    "'" + "x;" * (4 * MB) + "'",
    "[" + "x;" * (4 * MB) + "]",
])
def test_sqlite_split_of_a_huge_literal_needs_no_backtracking_memory(literal: str) -> None:
    """A plain repeat of a regex group kept backtracking state per iteration: splitting
    one 50 MB literal full of '' peaked at 870 MB on top of the text."""
    text = f"INSERT INTO t VALUES ({literal});\nSELECT 1;"
    count, peak = _split_peak(split_sqlite, text)
    assert count == 2
    assert peak < 2.5 * len(text), f"{peak / MB:.0f} MB traced for {len(text) / MB:.0f} MB"


def test_mysql_split_of_a_huge_literal_needs_no_backtracking_memory() -> None:
    """Same for the MySQL cutter, whose quote pattern repeated per character (1 GB for
    a 10 MB literal with backslash escapes)."""
    from migrator.backends.mysql.split import _cut

    text = "INSERT INTO t VALUES ('" + "ab\\'c;" * (2 * MB) + "');\nSELECT 1;"
    count, peak = _split_peak(lambda t: _cut(t, ";"), text)
    assert count == 2
    assert peak < 2.5 * len(text), f"{peak / MB:.0f} MB traced for {len(text) / MB:.0f} MB"


def test_mysql_split_of_many_statements_is_linear_and_numbers_lines() -> None:
    """The MySQL cutter searched for the next quote from every statement to the end of
    the text and counted lines from the top: 40k statements without quotes took 60 s
    (100k would take many minutes)."""
    from migrator.backends.mysql.split import _cut

    text = "INSERT INTO t VALUES (1, 2);\n-- n\n" * 100_000 + "SELECT 'x;y';"
    stmts = list(_cut(text, ";"))
    assert len(stmts) == 100_001
    assert [s.line for s in stmts[:3]] == [1, 3, 5] and stmts[-1].line == 200_001
    assert stmts[-1].sql == "SELECT 'x;y'"
    assert all(text[s.offset : s.offset + len(s.sql)] == s.sql for s in stmts[::997])


def test_trigger_with_twenty_thousand_statements_splits_in_one_pass() -> None:
    """Every ';' inside a trigger body asked complete_statement about the whole body so
    far: 20k statements took 7.6 s, 100k minutes. Only a segment holding 'end' is asked."""
    body = "".join(f"  INSERT INTO log VALUES ({i}, 'x;');\n" for i in range(20_000))
    trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n" + body + "END /* done */ ;"
    text = "-- lead\n" + trigger + "\nSELECT 'end';\nCREATE TRIGGER t2 AFTER DELETE ON t BEGIN " \
        "SELECT CASE WHEN 1 THEN 'end;' END; SELECT 2; eNd;"
    stmts = list(split_sqlite(text))
    assert [s.sql for s in stmts] == [trigger, "SELECT 'end';", text.rsplit("\n", 1)[1]]
    assert [s.line for s in stmts] == [2, 20_004, 20_005]
