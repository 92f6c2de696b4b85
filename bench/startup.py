"""Start-up of two revisions of migrator, interleaved, as a before/after ratio.

    python bench/startup.py                  # HEAD's work tree against main's last release point
    python bench/startup.py --base 70ef71d --reps 21

Each revision's tree is checked out (the base into a temporary git worktree),
compiled to bytecode first (installed tools run from bytecode), and run as
``python -m migrator`` with that tree first on ``sys.path``: ``--help``,
``status`` on an empty directory and on the demo migrations with a SQLite
database. Runs alternate base/head so machine noise hits both alike; the
table shows medians and the head/base ratio.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def checkout(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(where), rev],
                   check=True)
    return where


def compile_tree(tree: Path) -> None:
    compileall.compile_dir(str(tree / "migrator"), quiet=1)


def once(tree: Path, args: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "MIGRATIONS_DIR", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(tree)
    started = time.perf_counter()
    proc = subprocess.run([PY, "-m", "migrator", *args], cwd=cwd, env=env,
                          capture_output=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{tree}: migrator {' '.join(args)} exited {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace')[-500:]}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the revision to compare against")
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="migrator-startup-"))
    base = checkout(args.base, work / "base")
    try:
        for tree in (base, ROOT):
            compile_tree(tree)
        empty = work / "empty"
        empty.mkdir()
        demo_db = work / "demo.db"
        subprocess.run([PY, "-m", "migrator", "--url", f"sqlite:///{demo_db}", "-d",
                        str(ROOT / "migrations"), "up", "-q"], cwd=work, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        cases = {
            "--help": ["--help"],
            "status (empty dir)": ["status", "--url", f"sqlite:///{work / 'e.db'}",
                                   "-d", str(empty)],
            "status (demo, applied)": ["status", "--url", f"sqlite:///{demo_db}",
                                       "-d", str(ROOT / "migrations")],
        }
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.reps):
            for label, argv in cases.items():
                for side, tree in (("base", base), ("head", ROOT)):
                    times.setdefault((label, side), []).append(once(tree, argv, work))
        print(f"start-up, median of {args.reps} interleaved runs (ms); base = {args.base}")
        print(f"{'command':<24} {'base':>8} {'head':>8} {'head/base':>10}")
        for label in cases:
            b = statistics.median(times[(label, "base")])
            h = statistics.median(times[(label, "head")])
            print(f"{label:<24} {b:8.1f} {h:8.1f} {h / b:9.2f}x")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                       check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
