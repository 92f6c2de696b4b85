"""What ``migrations.sum`` costs ``status``: the same directory with and without one.

    python bench/sum.py                 # 5000 migrations, 9 runs each, interleaved
    python bench/sum.py -n 1000 --reps 15

Verifying reuses the checksums discovery computes anyway, so the cost is
reading and parsing the sum (and comparing): the ratio should stay near 1.
Also times ``hash`` and ``rebase --dry-run`` once each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write(directory: Path, count: int) -> None:
    directory.mkdir()
    for i in range(1, count + 1):
        stem = directory / f"{20200101000000 + i}_t{i}"
        Path(f"{stem}.up.sql").write_text(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\n")
        Path(f"{stem}.down.sql").write_text(f"DROP TABLE t{i};\n")


def once(cwd: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DIR")}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "migrator", *args], cwd=cwd, env=env,
                          capture_output=True)
    elapsed = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"migrator {' '.join(args)}: {proc.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="migrations (default 5000)")
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="migrator-sum-bench-"))
    try:
        plain, summed = work / "plain", work / "summed"
        for d in (plain, summed):
            d.mkdir()
            write(d / "migrations", args.n)
        hashed = once(summed, "hash")
        status = ("-u", "sqlite:///app.db", "status")
        times: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(args.reps):  # interleaved: machine noise hits both alike
            times["without"].append(once(plain, *status))
            times["with"].append(once(summed, *status))
        rebase = once(summed, "rebase", "20200101000001", "--dry-run")
        base, head = (statistics.median(times[k]) for k in ("without", "with"))
        print(f"{args.n} migrations, median of {args.reps}")
        print(f"  status without migrations.sum  {base:8.1f} ms")
        print(f"  status with migrations.sum     {head:8.1f} ms  ({head / base:.2f}x)")
        print(f"  hash (once)                    {hashed:8.1f} ms")
        print(f"  rebase --dry-run (once)        {rebase:8.1f} ms")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
