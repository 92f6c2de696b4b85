"""Interleaved runs of whole processes, and the table the server benchmarks print.

Every contender of a scenario runs once per round, the order reversed every
other round, so a slow moment of a shared machine hits them alike; the
table shows each one's median wall time, the ratio of migrator's median to
it (from the same run), CPU time, and its peak RSS (``ru_maxrss`` of the
measured process itself, from ``os.wait4``: client programs too).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

from run import Sample

OURS = "migrator"
HEADER = ("| scenario | contender | wall (median) | migrator / it | CPU (median) | peak RSS |\n"
          "|---|---|---:|---:|---:|---:|")


def interleave(reps: int, contenders: dict[str, Callable[[], Sample]],
               label: str = "") -> dict[str, list[Sample]]:
    """``reps`` rounds of every contender (each callable sets up, times and cleans up)."""
    samples: dict[str, list[Sample]] = {name: [] for name in contenders}
    names = list(contenders)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else reversed(names):
            sample = contenders[name]()
            samples[name].append(sample)
            print(f"  {label} {name}: {sample.seconds:.3f} s, {sample.rss_mb:.0f} MB",
                  file=sys.stderr, flush=True)
    return samples


def rows(title: str, samples: dict[str, list[Sample]]) -> str:
    """One table row per contender; migrator's row last, with no ratio."""
    ours = statistics.median(s.seconds for s in samples[OURS])
    out = []
    for name in sorted(samples, key=lambda n: n == OURS):
        wall = statistics.median(s.seconds for s in samples[name])
        cpu = statistics.median(s.cpu for s in samples[name])
        rss = max(s.rss_mb for s in samples[name])
        ratio = "-" if name == OURS else f"**{ours / wall:.2f}x**"
        out.append(f"| {title} | {name} | {wall:.3f} s | {ratio} | {cpu:.3f} s | "
                   f"{rss:.0f} MB |")
        title = ""
    return "\n".join(out)
