"""Time migrator against the raw lower bound (and dbmate/yoyo when installed).

Machines are noisy, so speed is a ratio measured in one run: every tool
runs the same scenario round-robin, whole process (interpreter start-up
included), on a fresh database each time, and the table shows medians and
the ratio to the raw lower bound (bench/raw.py).

    python bench/run.py --quick     # 1000 small migrations, 2 MB data file
    python bench/run.py             # 1000 + 5000 small, 20 MB, 2..32 MB growth
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

PY = sys.executable
PEER_LIMIT = 120.0  # seconds; yoyo splits with sqlparse, which is slow on big files
RAW = str(HERE / "raw.py")


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    cpu: float  # user + system seconds: immune to fsync waits on a busy disk


@dataclass
class Result:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    too_slow: set[str] = field(default_factory=set)

    def median(self, tool: str) -> float:
        return statistics.median(s.seconds for s in self.samples[tool])

    def cpu(self, tool: str) -> float:
        return statistics.median(s.cpu for s in self.samples[tool])

    def rss(self, tool: str) -> float:
        return max(s.rss_mb for s in self.samples[tool])


CWD: Path | None = None  # the work directory: no pyproject.toml there to read


class TooSlow(Exception):
    """A peer tool ran past its time limit; it is dropped from the scenario."""


# A child's ru_maxrss starts from its parent's: Linux records the high-water
# RSS of the memory it had before exec (the parent's, shared through vfork),
# so every process this script started would show at least this script's
# peak (a 6 MB client showed 26 MB). GNU time is a 2 MB process that forks
# the command itself, so its %M is the command's own peak.
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def timed(argv: list[str], limit: float | None = None, stdin: Path | None = None,
          env: dict[str, str] | None = None) -> Sample:
    """Wall time, CPU time and peak RSS of one whole process; fails loudly on a
    non-zero exit.

    ``stdin``: a file fed to the process (``mariadb db < file``); ``env``: extra
    environment variables (``PGOPTIONS``), so no wrapper process is measured.
    """
    with tempfile.NamedTemporaryFile("r", prefix="rss-") as rss:
        run_argv = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else argv
        feed = stdin.open("rb") if stdin is not None else subprocess.DEVNULL
        started = time.perf_counter()
        # A session of its own, so a time limit kills wrappers' children too (npm's
        # dbmate is a node script that starts the Go binary).
        proc = subprocess.Popen(run_argv, cwd=CWD, stdin=feed, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True,
                                env={**os.environ, **env} if env else None)
        assert proc.stderr is not None
        timer = threading.Timer(limit, os.killpg, (proc.pid, signal.SIGKILL)) if limit else None
        if timer:
            timer.start()
        err = proc.stderr.read()
        # The usage of the process and of the children it waited for: time's command.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if stdin is not None:
            feed.close()  # type: ignore[union-attr]
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if limit and elapsed >= limit:
            raise TooSlow(f"{argv[0]} still running after {limit:g}s")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n"
                             f"{err.decode()[-2000:]}")
        peak_kib = int(rss.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return Sample(elapsed, peak_kib / 1024, usage.ru_utime + usage.ru_stime)


# -- tools ---------------------------------------------------------------------


def find_dbmate() -> str | None:
    for candidate in (os.environ.get("DBMATE"), shutil.which("dbmate"),
                      str(HERE / "node_modules" / ".bin" / "dbmate")):
        if candidate and Path(candidate).exists():
            # npm's .bin/dbmate is a node wrapper: time the Go binary it starts.
            arch = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x64"
            real = (Path(candidate).resolve().parents[2] / "@dbmate" / f"linux-{arch}" / "bin"
                    / "dbmate")
            return str(real) if real.exists() else candidate
    return None


def find_yoyo() -> str | None:
    for candidate in (os.environ.get("YOYO"), shutil.which("yoyo"),
                      str(HERE / ".yoyo-venv" / "bin" / "yoyo")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class Tool:
    name: str
    layout: str
    apply: Callable[[Path, Path], list[str]]


def tools(include_peers: bool) -> list[Tool]:
    found = [
        Tool("raw", "migrator", lambda d, db: [PY, RAW, "apply", str(d), str(db)]),
        Tool("migrator", "migrator", lambda d, db: [
            PY, "-m", "migrator", "-q", "up", "--url", f"sqlite:///{db}", "-d", str(d)]),
    ]
    if not include_peers:
        return found
    dbmate = find_dbmate()
    if dbmate:
        found.append(Tool("dbmate", "dbmate", lambda d, db: [
            dbmate, "--url", f"sqlite:{db}", "--migrations-dir", str(d),
            "--no-dump-schema", "up"]))
    yoyo = find_yoyo()
    if yoyo:
        found.append(Tool("yoyo", "yoyo", lambda d, db: [
            yoyo, "apply", "--batch", "--no-config-file", "--database", f"sqlite:///{db}",
            str(d)]))
    return found


# -- scenarios -----------------------------------------------------------------


def corpus_dir(work: Path, kind: str, size: float, layout: str) -> Path:
    directory = work / f"{kind}-{size:g}-{layout}"
    if not directory.exists():
        tmp = directory.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if kind == "small":
            corpus.write_small(tmp, int(size), layout)
        else:
            corpus.write_large(tmp, size, layout)
        tmp.rename(directory)
    return directory


def run_apply(work: Path, kind: str, size: float, reps: int, tool_list: list[Tool]) -> Result:
    result = Result()
    dirs = {t.name: corpus_dir(work, kind, size, t.layout) for t in tool_list}
    dropped: set[str] = set()
    for rep in range(reps):
        order = tool_list if rep % 2 == 0 else list(reversed(tool_list))
        for tool in order:
            if tool.name in dropped:
                continue
            db = work / f"{tool.name}.db"
            for leftover in work.glob(f"{tool.name}.db*"):
                leftover.unlink()
            limit = PEER_LIMIT if tool.name not in ("raw", "migrator") else None
            try:
                sample = timed(tool.apply(dirs[tool.name], db), limit)
            except TooSlow:
                dropped.add(tool.name)
                result.too_slow.add(tool.name)
                continue
            result.samples.setdefault(tool.name, []).append(sample)
            check_applied(tool.name, db, kind, size)
            print(f"  {kind} {size:g} {tool.name}: {sample.seconds:.3f}s "
                  f"{sample.rss_mb:.0f} MB", file=sys.stderr)
    return result


def check_applied(tool: str, db: Path, kind: str, size: float) -> None:
    """Every tool must really have done the work, or its time means nothing."""
    conn = sqlite3.connect(db)
    try:
        if kind == "small":
            tables = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name LIKE 't%'"
            ).fetchone()[0]
            expected = int(size)
        else:
            tables = conn.execute("SELECT count(*) FROM big").fetchone()[0]
            expected = corpus.large_lines(size)[1]
    finally:
        conn.close()
    if tables != expected:
        raise SystemExit(f"{tool} left {tables} instead of {expected} in {db}")


def run_status(work: Path, count: int, reps: int) -> Result:
    directory = corpus_dir(work, "small", count, "migrator")
    db = work / "status.db"
    if not db.exists():
        timed([PY, RAW, "apply", str(directory), str(db)])
    argvs = {
        "raw": [PY, RAW, "status", str(directory), str(db)],
        "migrator": [PY, "-m", "migrator", "status", "--url", f"sqlite:///{db}",
                     "-d", str(directory)],
    }
    # migrator must see every migration applied (the raw run wrote the same rows).
    out = subprocess.run(argvs["migrator"], capture_output=True, text=True, check=True,
                         cwd=CWD).stdout
    if out.count(" applied ") < count or "pending" in out or "modified" in out:
        raise SystemExit("status does not show every migration applied:\n" + out[-500:])
    result = Result()
    for _ in range(reps):
        for name, argv in argvs.items():
            result.samples.setdefault(name, []).append(timed(argv))
    return result


def run_startup(work: Path, reps: int) -> dict[str, float]:
    """Median ms of `--help`, of a bare interpreter, and `status` on an empty database."""
    empty = work / "empty-migrations"
    empty.mkdir(exist_ok=True)
    db = work / "empty.db"
    argvs = {
        "python -c pass": [PY, "-c", "pass"],
        "migrator --help": [PY, "-m", "migrator", "--help"],
        "migrator status (empty)": [PY, "-m", "migrator", "status", "--url",
                                    f"sqlite:///{db}", "-d", str(empty)],
    }
    times: dict[str, list[float]] = {k: [] for k in argvs}
    for _ in range(reps):
        for name, argv in argvs.items():
            times[name].append(timed(argv).seconds * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def heavy_imports(work: Path) -> dict[str, list[str]]:
    """Modules that must not load on the start-up path, per command."""
    db = work / "empty.db"
    empty = work / "empty-migrations"
    watched = ("sqlparse", "json", "tomllib", "hashlib", "datetime")
    found: dict[str, list[str]] = {}
    for label, args in (("--help", ["--help"]),
                        ("status", ["status", "--url", f"sqlite:///{db}", "-d", str(empty)])):
        proc = subprocess.run([PY, "-X", "importtime", "-m", "migrator", *args],
                              capture_output=True, text=True, cwd=CWD)
        names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                 if line.startswith("import time:")}
        found[label] = sorted(n for n in names if n.split(".")[0] in watched)
    return found


# -- report --------------------------------------------------------------------


def report_apply(rows: list[tuple[str, Result, float]], peers: list[str]) -> str:
    head = ("| scenario | raw lower bound | migrator | ratio (goal) | CPU ratio | migrator RSS "
            "| raw RSS |")
    sep = "|---|---:|---:|---|---:|---:|---:|"
    for p in peers:
        head += f" {p} |"
        sep += "---:|"
    out = [head, sep]
    for label, res, goal in rows:
        ratio = res.median("migrator") / res.median("raw")
        line = (f"| {label} | {res.median('raw'):.3f} s | {res.median('migrator'):.3f} s | "
                f"**{ratio:.2f}x** (<= {goal}x{', ok' if ratio <= goal else ', OVER'}) | "
                f"{res.cpu('migrator') / res.cpu('raw'):.2f}x | "
                f"{res.rss('migrator'):.0f} MB | {res.rss('raw'):.0f} MB |")
        for p in peers:
            if p in res.too_slow:
                line += f" > {PEER_LIMIT:g} s |"
            elif p in res.samples:
                line += f" {res.median(p):.3f} s ({res.median(p) / res.median('raw'):.2f}x) |"
            else:
                line += " - |"
        out.append(line)
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="migrator benchmark (ratios to raw sqlite3)")
    parser.add_argument("--quick", action="store_true",
                        help="1000 small migrations, a 2 MB data file, status on 1000")
    parser.add_argument("--reps", type=int, default=3, help="runs per tool (median)")
    parser.add_argument("--no-peers", action="store_true", help="skip dbmate and yoyo")
    parser.add_argument("--workdir", type=Path, help="keep corpora here (default: temp)")
    parser.add_argument("--only", choices=("small", "large", "status", "growth", "startup"),
                        action="append", help="run only these parts (repeatable)")
    args = parser.parse_args()
    # Installed tools run from cached bytecode; a shell that sets this variable
    # would make every migrator run recompile its modules (~20 ms) while raw.py,
    # one small file, hardly notices. Compile once, then time.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PY, "-c", "import compileall, os, migrator; "
                    "compileall.compile_dir(os.path.dirname(migrator.__file__), quiet=1)"],
                   check=True, cwd=tempfile.gettempdir())
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="migrator-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    global CWD
    CWD = work.resolve()
    parts = set(args.only or ("small", "large", "status", "growth", "startup"))
    tool_list = tools(not args.no_peers)
    peers = [t.name for t in tool_list if t.name not in ("raw", "migrator")]
    small_sizes = [1000] if args.quick else [1000, 5000]
    large_size = 2.0 if args.quick else 20.0
    status_count = 1000 if args.quick else 5000
    growth = [1, 2, 4, 8] if args.quick else [2, 4, 8, 16, 32]

    print(f"# migrator benchmark ({'quick' if args.quick else 'full'}, medians of {args.reps}, "
          f"whole process, SQLite defaults)\n")
    rows: list[tuple[str, Result, float]] = []
    if "small" in parts:
        for n in small_sizes:
            rows.append((f"{n} small migrations", run_apply(work, "small", n, args.reps,
                                                             tool_list), 1.15))
    if "large" in parts:
        rows.append((f"one {large_size:g} MB data migration",
                     run_apply(work, "large", large_size, args.reps, tool_list), 1.3))
    if "status" in parts:
        rows.append((f"status, {status_count} applied",
                     run_status(work, status_count, args.reps), 1.5))
    if rows:
        print(report_apply(rows, peers))
        print()
    if "growth" in parts:
        print("## growth of the data migration (must be linear)\n")
        print("| MB | raw | migrator | ratio | CPU ratio | migrator s/MB | migrator RSS "
              "| RSS - 2x file |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = tool_list[:2]
        for mb in growth:
            res = run_apply(work, "large", mb, args.reps, base)
            m = res.median("migrator")
            print(f"| {mb} | {res.median('raw'):.3f} s | {m:.3f} s | "
                  f"{m / res.median('raw'):.2f}x | {res.cpu('migrator') / res.cpu('raw'):.2f}x | "
                  f"{m / mb:.3f} | {res.rss('migrator'):.0f} MB | "
                  f"{res.rss('migrator') - 2 * mb:.0f} MB |", flush=True)
        print()
    if "startup" in parts:
        print("## start-up (median of 7, ms)\n")
        for name, ms in run_startup(work, 7).items():
            print(f"- {name}: {ms:.0f} ms")
        for label, mods in heavy_imports(work).items():
            print(f"- heavy modules imported by `migrator {label}`: "
                  f"{', '.join(mods) if mods else 'none'}")
        print()
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
