"""Try the dialect's differ on a real migration history: schema after N as current,
after M as desired, for many (N, M); each generated up must reach M from N and its
down must come back, compared as the proof compares (``comparable``).

    python bench/diff_history.py mysql://root@127.0.0.1:3306/test /tmp/realsets/flipt
    python bench/diff_history.py duckdb:///scratch.duckdb DIR --steps 1,2,3 --json

Only the migrations' up files are used (``NNNN_name.up.sql``); each state is made
by migrator itself in a scratch space beside the URL. Prints one line per failing
pair and the count of pairs that pass; nothing is kept.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from migrator.api import Migrator
from migrator.backends import dialect_of_url
from migrator.dba.spaces import schema_of, scratch_beside
from migrator.diff.dialects import differ
from migrator.diff.model import Renames, Script
from migrator.files import discover
from migrator.progress import Progress
from migrator.schema import Schema

TABLE = "schema_migrations"
DIFF_VERSION = "999999999"


def render(generated: Script) -> str:
    lines = [f"-- migrator: {d}" for d in generated.directives]
    return "\n".join(lines + [s.sql.rstrip() + ";\n" for s in generated.steps])


def _state(url: str, source: Path, upto: int, extra: tuple[str, str] | None = None
           ) -> tuple[Schema, Schema | None]:
    """The schema after the first ``upto`` migrations; with ``extra`` (up, down), also
    run that as one more migration and return the schema after its up, then after its
    down (the second value)."""
    work = Path(tempfile.mkdtemp(prefix="diff-history-"))
    try:
        for up in _ups(source)[:upto]:
            shutil.copy(up, work / up.name)
            down = up.with_name(up.name.removesuffix(".up.sql") + ".down.sql")
            if down.exists():
                shutil.copy(down, work / down.name)
        if extra:
            (work / f"{DIFF_VERSION}_diff.up.sql").write_text(extra[0])
            (work / f"{DIFF_VERSION}_diff.down.sql").write_text(extra[1])
        with scratch_beside(url, TABLE) as space:
            runner = Migrator(space.url, work, table=space.table, progress=Progress())
            if any(work.iterdir()):
                runner.up()
            first = schema_of(space)
            if not extra:
                return first, None
            runner.down(steps=1)
            return first, schema_of(space)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ups(source: Path) -> list[Path]:
    keys = {m.version: m.key for m in discover(source)}
    ups = [p for p in source.glob("*.up.sql") if p.name.split("_", 1)[0] in keys]
    return sorted(ups, key=lambda p: keys[p.name.split("_", 1)[0]])


def _difference(got: Schema, want: Schema) -> str:
    return "\n".join(list(difflib.unified_diff(want.lines(), got.lines(), "want", "got",
                                               lineterm="", n=1))[:40])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("migrations", type=Path)
    parser.add_argument("--steps", default="1,2,3,5,10", help="M - N values tried")
    parser.add_argument("--pairs", default="", help="only these, as N-M,N-M")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    module = differ(dialect_of_url(args.url))
    count = len(_ups(args.migrations))
    states = [_state(args.url, args.migrations, n)[0] for n in range(count + 1)]
    steps = {int(s) for s in args.steps.split(",")}
    pairs = sorted({(n, m) for n in range(count) for m in range(n + 1, count + 1)
                    if m - n in steps or m == count})
    if args.pairs:
        pairs = [(int(p.split("-")[0]), int(p.split("-")[1])) for p in args.pairs.split(",")]
    passed, failures = 0, []
    for n, m in pairs:
        current, desired = states[n], states[m]
        up = module.script(current, desired, Renames())
        down = module.script(desired, current, Renames())
        try:
            after_up, after_down = _state(args.url, args.migrations, n, (render(up),
                                                                         render(down)))
        except Exception as exc:  # a statement the server refused: a failing pair
            failures.append({"pair": [n, m], "error": str(exc).splitlines()[0][:300]})
            continue
        assert after_down is not None
        wrong = []
        if module.comparable(after_up) != module.comparable(desired):
            wrong.append("up: " + _difference(module.comparable(after_up),
                                              module.comparable(desired)))
        if module.comparable(after_down) != module.comparable(current):
            wrong.append("down: " + _difference(module.comparable(after_down),
                                                module.comparable(current)))
        if wrong:
            failures.append({"pair": [n, m], "error": "\n".join(wrong)})
        else:
            passed += 1
    if args.json:
        print(json.dumps({"set": str(args.migrations), "migrations": count,
                          "pairs": len(pairs), "passed": passed, "failures": failures},
                         indent=2))
    else:
        for failure in failures:
            print(f"FAIL {failure['pair']}: {failure['error']}")
        print(f"{args.migrations.name}: {passed}/{len(pairs)} pairs pass "
              f"({count} migrations)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
