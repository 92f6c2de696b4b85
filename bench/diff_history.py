"""Issue #12 point 6: ``diff`` tried on real migration histories.

For a migration set of n files: the schema after each prefix is built once
(the files applied one by one on a scratch space of the URL's dialect, a
temporary SQLite file without a URL) and written out by ``migrator dump``'s
catalog. Then, for many pairs (N, k), the first N files are the current
migrations and the dump after N+k the desired file: ``diff`` must write a
pair that passes its own proof (up gives the dump's schema, down gives
back the schema after N). Counted per set; every failure is listed.

    python bench/diff_history.py /tmp/realsets/grocy /tmp/realsets/vaultwarden
    python bench/diff_history.py --url postgres://postgres@127.0.0.1:5432/test SET...
    python bench/diff_history.py --all SET   # every (N, k) for k in --ks

A set is a directory of diesel/migrator directories (``<version>_<name>/up.sql``),
of ``*.up.sql`` files, or of bare ``*.sql`` files (grocy's ``0001.sql``); files
of other kinds (grocy's ``.php``) are skipped. The sets are fetched by hand
(see /work/shared/research/real-sets-and-references.md); none is committed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator
from migrator.dba.spaces import opened, scratch_beside
from migrator.diff.generate import DiffRequest, generate
from migrator.errors import MigratorError
from migrator.progress import Progress

TABLE = "schema_migrations"
KS = (1, 2, 3, 5, 10, 25)


def load_set(path: Path) -> list[tuple[str, str]]:
    """(name, up SQL) in order."""
    dirs = sorted((p for p in path.iterdir() if p.is_dir() and (p / "up.sql").is_file()),
                  key=_order)
    if dirs:
        return [(d.name, (d / "up.sql").read_text(encoding="utf-8")) for d in dirs]
    ups = sorted(path.glob("*.up.sql"), key=_order) or sorted(path.glob("*.sql"), key=_order)
    return [(p.name.removesuffix(".sql").removesuffix(".up"), p.read_text(encoding="utf-8"))
            for p in ups]


def _order(path: Path) -> list[tuple[int, str]]:
    """Natural order: flipt's ``10_x`` after ``9_x``, diesel's dates as written."""
    return [(int(t), "") if t.isdigit() else (-1, t) for t in re.split(r"([0-9]+)", path.name)]


def write_prefix(steps: list[tuple[str, str]], count: int, into: Path) -> Path:
    """The first ``count`` steps as migrator pairs with versions 1..count."""
    into.mkdir(parents=True, exist_ok=True)
    for i, (_, sql) in enumerate(steps[:count], 1):
        (into / f"{i}_step.up.sql").write_text(sql, encoding="utf-8")
    return into


def dumps(steps: list[tuple[str, str]], url: str | None, work: Path) -> list[Path | None]:
    """The dump after each prefix (index i: after i files); None where a file failed."""
    folder = write_prefix(steps, len(steps), work / "all")
    out: list[Path | None] = []
    with scratch_beside(url, TABLE) as space:
        m = Migrator(space.url, folder, table=space.table, progress=Progress())
        broken = False
        for i in range(len(steps) + 1):
            if i and not broken:
                try:
                    m.up(to=str(i))
                except MigratorError as exc:
                    print(f"  step {i} ({steps[i - 1][0]}) fails to apply: "
                          f"{str(exc).splitlines()[0]}", file=sys.stderr)
                    broken = True
            if broken:
                out.append(None)
                continue
            with opened(space.url, space.table, readonly=True) as backend:
                text = backend.catalog().dump()
            file = work / f"dump_{i}.sql"
            file.write_text(text, encoding="utf-8")
            out.append(file)
    return out


@dataclass(slots=True)
class Outcome:
    passed: int = 0
    equal: int = 0  # no schema change between N and N+k (passes trivially; counted apart)
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tried(self) -> int:
        return self.passed + self.equal + len(self.failures)


def pairs(n: int, ks: Iterable[int], every: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, every):
        for k in ks:
            if start + k <= n:
                yield start, k


def sweep(steps: list[tuple[str, str]], url: str | None = None, ks: Iterable[int] = KS,
          every: int = 1, limit: int | None = None, verbose: bool = False) -> Outcome:
    """Diff and prove every chosen (N, k); ``limit`` caps how many pairs are tried."""
    outcome = Outcome()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="migrator-diff-history-") as tmp:
        work = Path(tmp)
        files = dumps(steps, url, work)
        chosen = [(s, k) for s, k in pairs(len(steps), tuple(ks), every)
                  if files[s] is not None and files[s + k] is not None]
        for start, k in chosen[:limit]:
            prefix = work / f"prefix_{start}"
            if not prefix.exists():
                write_prefix(steps, start, prefix)
            desired = files[start + k]
            assert desired is not None
            try:
                result = generate(DiffRequest(prefix, TABLE, url=url, to_file=str(desired),
                                              dry_run=True, allow_destructive=True))
            except MigratorError as exc:
                outcome.failures.append((start, k, str(exc)))
                if verbose:
                    print(f"  FAIL N={start} k={k}: " + " | ".join(str(exc).splitlines()[:8]),
                          file=sys.stderr, flush=True)
                continue
            if result.equal:
                outcome.equal += 1
            else:
                outcome.passed += 1
    outcome.seconds = time.perf_counter() - started
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--url", help="scratch spaces of this database's dialect (default: "
                                      "temporary SQLite files)")
    parser.add_argument("--ks", default=",".join(map(str, KS)),
                        help="the k values of the pairs (N, N+k)")
    parser.add_argument("--every", type=int, default=1, help="try every Nth start only")
    parser.add_argument("--limit", type=int, help="at most this many pairs per set")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",")]
    report = {}
    for path in args.sets:
        steps = load_set(path)
        print(f"{path.name}: {len(steps)} files", file=sys.stderr)
        o = sweep(steps, args.url, ks, args.every, args.limit, verbose=True)
        report[path.name] = {"files": len(steps), "tried": o.tried, "passed": o.passed,
                             "unchanged": o.equal, "failed": len(o.failures),
                             "seconds": round(o.seconds, 1),
                             "failures": [{"n": s, "k": k, "error": e.splitlines()[:12]}
                                          for s, k, e in o.failures]}
        print(f"{path.name}: {o.passed + o.equal}/{o.tried} pairs pass ({o.equal} without "
              f"change), {len(o.failures)} fail, {o.seconds:.0f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0 if all(not r["failed"] for r in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
