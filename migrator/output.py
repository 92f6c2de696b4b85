"""Rendering for people (stderr progress, stdout tables) and for scripts (JSON).

Data goes to stdout, progress and errors to stderr, colour only on a
terminal and never with NO_COLOR or --no-color.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from migrator.files import label_of
from migrator.plan import APPLIED, MISSING, MODIFIED, PENDING, Entry
from migrator.progress import Progress, StepResult
from migrator.state import sql_literal

if TYPE_CHECKING:
    from migrator.errors import FileProblem
    from migrator.files import Migration
    from migrator.liveline import LiveLine
    from migrator.prepared import Prepared
    from migrator.splitting import Statement

_COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}
_STATE_COLOUR = {APPLIED: "green", PENDING: "yellow", MODIFIED: "red", MISSING: "red"}
PROGRESS_AFTER = 0.5  # seconds before a long file gets a live counter
PROGRESS_EVERY = 0.1


def dumb_terminal() -> bool:
    """TERM=dumb: a terminal that understands no escape sequence, colour included."""
    return os.environ.get("TERM", "") == "dumb"


def use_colour(stream: TextIO, no_color_flag: bool) -> bool:
    if no_color_flag or os.environ.get("NO_COLOR") or dumb_terminal():
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, colour: str) -> str:
        if not self.enabled:
            return text
        return f"\033[{_COLOURS[colour]}m{text}\033[0m"


def dump_json(document: object, stream: TextIO = sys.stdout) -> None:
    import json  # only --json pays for it

    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


class Reporter(Progress):
    """Progress on stderr: a line per file, or on a terminal one live line.

    On a terminal (normal verbosity) a run shows one line redrawn in place,
    ``[n/N] file, rate, time left``, with a statement counter for a long file;
    the summary or an error replaces it. Only a file that took longer than
    PROGRESS_AFTER keeps a line of its own there. Elsewhere (a pipe, a CI log) each
    file gets its own line and nothing is redrawn. ``-v`` prints every
    statement, ``-q`` nothing but errors.
    """

    def __init__(self, stream: TextIO, *, verbosity: int, colour: bool) -> None:
        self.stream = stream
        self.verbosity = verbosity  # 0 quiet, 1 normal, 2 verbose
        self.paint = Painter(colour)
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.live = self.tty and verbosity == 1
        # statement_started only prints with -v; on a terminal the live line is drawn
        # from statements_done, which keeps the engine's fast path (a backend's own
        # loop, PostgreSQL's pipeline) instead of one hook call per statement
        self.wants_statements = verbosity >= 2
        self._line: LiveLine | None = None  # made on the first draw: status never draws
        self._started = 0.0  # the current file's start
        self._last_draw = 0.0
        self._run_total = 0  # files in the run; 0: no run announced
        self._run_done = 0
        self._run_started = 0.0
        self._label = ""

    def say(self, text: str) -> None:
        if self.verbosity >= 1:
            self._clear()
            print(text, file=self.stream, flush=True)

    def run_started(self, direction: str, total: int) -> None:
        self._run_total, self._run_done = total, 0
        self._run_started = time.perf_counter()

    def migration_started(self, migration: Migration, direction: str, total: int) -> None:
        self._started = time.perf_counter()
        self._label = migration.label
        if self.verbosity >= 2:
            verb = "applying" if direction == "up" else "rolling back"
            self.say(f"{verb} {migration.label} ({total} statements)")
        elif self.live and self._run_total:
            self._draw(self._started, "", force=True)  # once a file: cheap, never stale

    def statement_started(self, migration: Migration, statement: Statement, total: int) -> None:
        if self.verbosity >= 2:
            first = statement.sql.strip().splitlines()[0][:80]
            print(f"  [{statement.index}/{total}] line {statement.line}: {first}",
                  file=self.stream, flush=True)
            return
        self.statements_done(migration, statement.index, total)

    def statements_done(self, migration: Migration, done: int, total: int) -> None:
        if not self.live:
            return
        now = time.perf_counter()
        if now - self._started < PROGRESS_AFTER:
            return
        rate = done / (now - self._started)
        self._draw(now, f": statement {done}/{total} ({rate:,.0f}/s)")

    def migration_finished(self, step: StepResult) -> None:
        if self.live and self._run_total:
            self._run_done += 1  # the next file's line shows it; the summary replaces it
            if step.duration_ms < PROGRESS_AFTER * 1000:
                return  # a long file keeps its line: where the time went stays on screen
        verb = "applied" if step.direction == "up" else "rolled back"
        label = label_of(step.version, step.name)
        plural = "" if step.statements == 1 else "s"
        self.say(
            f"{self.paint(verb, 'green')} {label} "
            f"({step.statements} statement{plural}, {step.duration_ms} ms)"
        )

    def warning(self, problem: FileProblem) -> None:
        self._clear()
        print(f"{self.paint('warning', 'yellow')}: {problem}", file=self.stream, flush=True)

    def error(self, message: str) -> None:
        self._clear()
        print(f"{self.paint('error', 'red')}: {message}", file=self.stream, flush=True)

    def _clear(self) -> None:
        if self._line is not None:
            self._line.clear()

    def _draw(self, now: float, detail: str, *, force: bool = False) -> None:
        """The run's line: ``[n/N] label`` (n the file running now), the files per
        second so far and the time left at that rate, throttled to PROGRESS_EVERY."""
        if not force and now - self._last_draw < PROGRESS_EVERY:
            return
        self._last_draw = now
        if self._line is None:
            from migrator.liveline import LiveLine

            self._line = LiveLine(self.stream, dumb=dumb_terminal())
        done, total = self._run_done, self._run_total
        if not total:  # files run one by one through the API: no run to count
            self._line.draw(f"  {self._label}{detail}")
            return
        text = f"[{min(done + 1, total)}/{total}] {self._label}{detail}"
        elapsed = now - self._run_started
        if done and elapsed > 0:
            rate = done / elapsed
            text += f"  {rate:,.1f} files/s, {duration((total - done) / rate)} left"
        self._line.draw(text)


def duration(seconds: float) -> str:
    """A short human duration for "time left": 45s, 3m05s, 2h10m."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def status_table(entries: Sequence[Entry], paint: Painter) -> str:
    if not entries:
        return "no migrations found\n"
    header = ("VERSION", "NAME", "STATE", "APPLIED AT")
    rows = [(e.version, e.name, e.state, e.applied_at or "-", e.note) for e in entries]
    columns = list(zip(*rows, strict=True))
    wv, wn, ws = (max(len(header[c]), max(map(len, columns[c]))) for c in range(3))
    # A state's padded, painted cell is the same on every line: build each once.
    state_cells = {s: paint(s.ljust(ws), _STATE_COLOUR[s]) for s in set(columns[2])}
    out = ["  ".join([header[0].ljust(wv), header[1].ljust(wn), header[2].ljust(ws), header[3]])]
    for version, name, state, applied_at, note in rows:
        line = f"{version.ljust(wv)}  {name.ljust(wn)}  {state_cells[state]}  {applied_at}"
        if note:
            line += f"  ({note})"
        out.append(line.rstrip())
    return "\n".join(out) + "\n"


def status_json(entries: Sequence[Entry]) -> dict[str, object]:
    return {
        "migrations": [
            {
                "version": e.version,
                "name": e.name,
                "state": e.state,
                "applied_at": e.applied_at,
                "checksum": e.checksum,
                "file": e.file,
                "note": e.note,
            }
            for e in entries
        ]
    }


def _terminated(sql: str) -> str:
    text = sql.rstrip()
    if text.endswith(";"):
        return text
    return text + ("\n;" if "--" in text.rsplit("\n", 1)[-1] else ";")


def dry_run_script(
    items: Sequence[Prepared], sql: dict[str, str], direction: str, url: str,
    statements: dict[str, list[Statement]], first: Sequence[str] = (),
) -> str:
    """The exact SQL a run would execute, as a script a DBA can read or run by hand.

    Placeholders are filled; a secret value is shown as ``***``. ``first``: lines the
    run writes before any file (the rows a squashed migration replaces, see
    migrator.replaces).
    """
    from migrator.placeholders import mask

    verb = "up" if direction == "up" else "down"
    out = [
        f"-- migrator {verb} --dry-run on {url}: {len(items)} migration(s); nothing was run",
        sql["create"],
        *first,
    ]
    for item in items:
        m, src = item.migration, item.source
        fk_off = "foreign-keys-off" in src.directives
        out.append("")
        out.append(f"-- {m.label} ({src.path})")
        if fk_off:
            out.append(sql["fk_off"])
        if src.transactional:
            out.append(sql["begin"])
        else:
            out.append("-- no-transaction: each statement commits on its own")
        for stmt in statements[src.path]:
            out.append(f"-- {src.path}:{stmt.line} (statement {stmt.index} of {item.total})")
            out.append(_terminated(mask(stmt.sql, item.variables)))
        if fk_off:
            out.append(sql["fk_check"] + "  -- any row here means ROLLBACK")
        if not src.transactional:
            out.append(sql["begin"])
        if m.repeatable:  # re-run: its row is replaced
            out.append(f"{sql['delete']} {sql_literal(m.version)};")
        if direction == "up":
            values = [sql_literal(m.version), sql_literal(m.name), sql_literal(m.checksum),
                      sql["now"], "0"]
            out.append(f"{sql['insert']} ({', '.join(values)});")
        else:
            out.append(f"{sql['delete']} {sql_literal(m.version)};")
        out.append(sql["commit"])
        if fk_off:
            out.append(sql["fk_on"])
    return "\n".join(out) + "\n"
