"""What a person sees on a terminal, through a real pseudo-terminal.

On a terminal a run is one line redrawn in place (``[n/N]``, the file, the
rate and the time left) that the summary replaces; in a pipe each file gets
a line of its own and nothing is redrawn; ``TERM=dumb`` gets no escape
sequence at all, colour included.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from clihelp import URL, clean_env, migration, run

from migrator.output import duration

ESC = "\033"
# A file slower than output.PROGRESS_AFTER (0.5 s) keeps its own line on a terminal.
KEPT = re.compile(r"applied (\S+) \(\d+ statements?, (\d+) ms\)")


def _three(tmp_path: Path) -> None:
    for version, name in (("0001", "first"), ("0002", "second"), ("0003", "third")):
        migration(tmp_path, version, name, f"CREATE TABLE {name}(x);\nSELECT 1;\n")


def _kept(lines: list[str]) -> dict[str, int]:
    """The per-file lines left on screen: each must be a file slower than 0.5 s."""
    kept = {}
    for line in lines:
        found = KEPT.fullmatch(line)
        assert found and int(found.group(2)) >= 500, lines
        kept[found.group(1)] = int(found.group(2))
    return kept


def _on_terminal(tmp_path: Path, *args: str, term: str = "xterm-256color",
                 stream: str = "stderr", columns: int = 120) -> tuple[int, str, str]:
    """Run the CLI with ``stream`` on a pseudo-terminal; (exit, terminal bytes, other)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    other = tmp_path / "other.txt"
    with other.open("wb") as sink:
        redirect = {"stderr": slave, "stdout": sink} if stream == "stderr" else \
            {"stdout": slave, "stderr": sink}
        proc = subprocess.Popen(
            [sys.executable, "-m", "migrator", "-u", URL, *args], cwd=tmp_path,
            env=clean_env(TERM=term), stdin=subprocess.DEVNULL, **redirect)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, "no output for 60 s"
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode(), other.read_text()


def screen(raw: str) -> list[str]:
    """The lines left on a terminal after carriage returns, erases and colours."""
    lines: list[str] = []
    cells: list[str] = []
    col = i = 0
    while i < len(raw):
        if raw.startswith(f"{ESC}[K", i):
            del cells[col:]
            i += 3
            continue
        if raw.startswith(f"{ESC}[", i):
            i = raw.index("m", i) + 1
            continue
        ch = raw[i]
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cells).rstrip())
            cells, col = [], 0
        else:
            if col < len(cells):
                cells[col] = ch
            else:
                cells.append(ch)
            col += 1
        i += 1
    if "".join(cells).strip():
        lines.append("".join(cells).rstrip())
    return lines


def test_a_terminal_gets_one_live_line_that_collapses_to_the_summary(tmp_path: Path) -> None:
    _three(tmp_path)
    code, raw, _ = _on_terminal(tmp_path, "up")
    assert code == 0, raw
    assert "\r[1/3] 0001_first" in raw
    assert re.search(r"\r\[2/3\] 0002_second  [\d.,]+ files/s, \d+s left", raw), raw
    assert re.search(r"\r\[3/3\] 0003_third  [\d.,]+ files/s, \d+s left", raw), raw
    shown = screen(raw)
    assert re.fullmatch(r"applied 3 migrations in \d+ ms", shown[-1]), shown
    _kept(shown[:-1])  # quick files leave nothing behind (a stalled fsync may keep one)


def test_a_long_file_keeps_its_line(tmp_path: Path) -> None:
    _three(tmp_path)
    migration(tmp_path, "0004", "long",
              "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c\n"
              "  WHERE i < 12000000) SELECT count(*) FROM c;\n")
    code, raw, _ = _on_terminal(tmp_path, "up")
    assert code == 0, raw
    shown = screen(raw)
    assert re.fullmatch(r"applied 4 migrations in \d+ ms", shown[-1]), shown
    assert "0004_long" in _kept(shown[:-1]), shown


def test_an_error_replaces_the_live_line(tmp_path: Path) -> None:
    _three(tmp_path)
    migration(tmp_path, "0004", "broken", "CREATE TABLE ok(x);\nSELEC 1;\n")
    code, raw, _ = _on_terminal(tmp_path, "up")
    assert code == 1, raw
    assert "\r[4/4] 0004_broken" in raw
    shown = screen(raw)
    assert shown[0] == "error: migration 0004_broken failed and was rolled back", shown
    assert not any("[" in line and "/4]" in line for line in shown), shown


def test_a_pipe_gets_a_line_per_file_and_nothing_redrawn(tmp_path: Path) -> None:
    _three(tmp_path)
    r = run(tmp_path, "up")
    assert r.code == 0, r
    assert "\r" not in r.err and ESC not in r.err and "[1/3]" not in r.err
    lines = r.err.splitlines()
    assert [ln.split(" (")[0] for ln in lines[:3]] == [
        "applied 0001_first", "applied 0002_second", "applied 0003_third"]
    assert re.fullmatch(r"applied 3 migrations in \d+ ms", lines[3]), lines


def test_term_dumb_gets_no_escape_sequence(tmp_path: Path) -> None:
    _three(tmp_path)
    migration(tmp_path, "0004", "broken", "SELEC 1;\n")
    code, raw, _ = _on_terminal(tmp_path, "up", term="dumb")
    assert code == 1
    assert ESC not in raw, raw
    assert "\r[2/4] 0002_second" in raw  # a carriage return is all a dumb terminal needs
    shown = screen(raw)
    assert shown[0] == "error: migration 0004_broken failed and was rolled back", shown
    code, raw, _ = _on_terminal(tmp_path, "status", term="dumb", stream="stdout")
    assert code == 0 and "applied" in raw and ESC not in raw, raw


def test_a_colour_terminal_gets_colour(tmp_path: Path) -> None:
    migration(tmp_path, "0001", "broken", "SELEC 1;\n")
    code, raw, _ = _on_terminal(tmp_path, "up")
    assert code == 1
    assert f"{ESC}[31merror{ESC}[0m: migration 0001_broken failed" in raw, raw
    code, raw, _ = _on_terminal(tmp_path, "status", stream="stdout")
    assert code == 0 and f"{ESC}[33mpending" in raw, raw


def test_the_live_line_never_wraps_on_a_narrow_terminal(tmp_path: Path) -> None:
    migration(tmp_path, "0001", "a_name_longer_than_the_terminal_is_wide", "SELECT 1;\n")
    code, raw, _ = _on_terminal(tmp_path, "up", columns=20)
    assert code == 0, raw
    drawn = [part.split(f"{ESC}[K")[0] for part in raw.split("\r") if part.startswith("[1/1]")]
    assert drawn == ["[1/1] 0001_a_name_l"], raw  # 19 characters: the cursor stays on the line


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.2, "0s"), (44.6, "45s"), (59.4, "59s"), (60, "1m00s"), (185, "3m05s"),
    (3599.4, "59m59s"), (7800, "2h10m"),
])
def test_time_left_reads_short(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


class _Tty:
    """A stderr that says it is a terminal and keeps what was written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_a_terminal_keeps_the_fast_path_and_still_counts_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live line's statement counter comes from the backend's own loop (and on
    PostgreSQL its pipeline), not from a hook call per statement."""
    from migrator import Migrator, output

    monkeypatch.setattr(output, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(output, "PROGRESS_EVERY", 0.0)
    inserts = "".join(f"INSERT INTO big VALUES ({i});\n" for i in range(3000))
    migration(tmp_path, "0001", "big", "CREATE TABLE big (x INTEGER);\n" + inserts)

    class Counting(output.Reporter):
        per_statement = 0

        def statement_started(self, *args: object) -> None:  # type: ignore[override]
            Counting.per_statement += 1

    stream = _Tty()
    reporter = Counting(stream, verbosity=1, colour=False)  # type: ignore[arg-type]
    m = Migrator(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "migrations",
                 progress=reporter)
    assert [s.version for s in m.up().done] == ["0001"]
    assert Counting.per_statement == 0
    assert "statement 1024/3001" in stream.text and "statement 3001/3001" in stream.text
