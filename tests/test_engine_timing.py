"""The times a run reports are the times a user waited, COMMIT included.

A reader holding its read transaction open makes SQLite's COMMIT wait for
it (COMMIT needs the exclusive lock; the statements before it do not): a
slow COMMIT that needs no slow disk. The summary, once the per-file times
without their COMMIT, must now cover it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from clihelp import applied, migration, run

HOLD = 2.5  # seconds the reader keeps its read transaction open

READER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM t").fetchone()
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _slow_commit_run(tmp_path: Path, *args: str, after: tuple[str, ...] = ()
                     ) -> tuple[float, str, str]:
    migration(tmp_path, "0001", "t", "CREATE TABLE t(x);\n")
    assert run(tmp_path, "up").code == 0
    migration(tmp_path, "0002", "fill", "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path / "app.db"), str(HOLD)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "reading\n"
        started = time.monotonic()
        r = run(tmp_path, *args, "up", *after)
        wall = time.monotonic() - started
    finally:
        reader.wait(timeout=30)
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == ["0001", "0002"]
    return wall, r.out, r.err


def test_the_summary_is_wall_clock_time_with_the_commit(tmp_path: Path) -> None:
    wall, _, err = _slow_commit_run(tmp_path)
    found = re.search(r"^applied 1 migration in (\d+) ms$", err, re.M)
    assert found, err
    shown = int(found.group(1)) / 1000
    # The COMMIT waited most of HOLD for the reader; the process's wall time adds
    # only start-up. Without the COMMIT the summary showed a few milliseconds.
    assert shown >= HOLD / 2, (shown, wall, err)
    assert shown <= wall, (shown, wall)


def test_each_files_duration_includes_its_commit(tmp_path: Path) -> None:
    import json

    _, out, err = _slow_commit_run(tmp_path, "--json")
    steps = json.loads(out)["applied"]
    assert [s["version"] for s in steps] == ["0002"]
    assert steps[0]["duration_ms"] >= HOLD / 2 * 1000, (steps, err)
    line = re.search(r"^applied 0002_fill \(2 statements, (\d+) ms\)$", err, re.M)
    assert line and int(line.group(1)) == steps[0]["duration_ms"], err


def test_a_groups_commit_counts_in_its_last_file_and_the_summary(tmp_path: Path) -> None:
    import json

    wall, out, err = _slow_commit_run(tmp_path, "--json", after=("--single-transaction",))
    steps = json.loads(out)["applied"]
    assert [s["version"] for s in steps] == ["0002"]
    assert steps[0]["duration_ms"] >= HOLD / 2 * 1000, (steps, err)
    found = re.search(r"^applied 1 migration in (\d+) ms$", err, re.M)
    assert found and HOLD / 2 <= int(found.group(1)) / 1000 <= wall, (err, wall)
