"""Shared helpers for the safety tests: real files, real processes, real SQLite.

Imported by the test modules (via ``sys.path``) and by the driver scripts
beside it, which run as subprocesses so that a ``kill -9`` or a held lock
belongs to a process of its own.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clihelp import TIMEOUT, Result, clean_env, cli, cli_args, start

__all__ = ["TIMEOUT", "Result", "clean_env"]  # re-exported for the modules that use ``h.``

DRIVERS = Path(__file__).resolve().parent


def burn(rows: int) -> str:
    """A statement that keeps SQLite busy (~20 ms per 100k rows) without writing."""
    return (
        f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) "
        "SELECT count(*) FROM c"
    )


def write_files(directory: Path, files: Mapping[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def cli_cmd(db: Path, migrations: Path, *args: str, cwd: Path | None = None) -> list[str]:
    """``python -m migrator``; the migrations dir relative to ``cwd`` as a user types it."""
    return cli_args(*_db_args(db, migrations, cwd), *args)


def _db_args(db: Path, migrations: Path, cwd: Path | None) -> list[str]:
    shown = os.path.relpath(migrations, cwd) if cwd else str(migrations)
    return ["--url", f"sqlite:///{db.resolve()}", "-d", shown]


def run_cli(
    db: Path, migrations: Path, *args: str, cwd: Path | None = None,
    timeout: float = TIMEOUT,
) -> Result:
    cwd = cwd or migrations.parent
    return cli(cwd, *_db_args(db, migrations, cwd), *args, timeout=timeout)


def spawn_cli(
    db: Path, migrations: Path, *args: str, cwd: Path | None = None
) -> subprocess.Popen[str]:
    cwd = cwd or migrations.parent
    return start(cwd, *_db_args(db, migrations, cwd), *args)


def spawn_driver(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DRIVERS / script), *args], env=clean_env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.01)


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".migrator-lock")


def lock_written(db: Path, pid: int | None = None) -> bool:
    """The run lock's file names its holder once the holder has the lock.

    With ``pid``: that process is the holder (a killed run leaves its own
    name in the file, so "pid" alone may be a previous holder's).
    """
    try:
        text = lock_path(db).read_text()
    except OSError:
        return False
    return "pid" in text if pid is None else f"pid {pid}," in text


class WriteHolder:
    """Another process with an open write transaction (BEGIN IMMEDIATE) on ``db``."""

    def __init__(self, db: Path, journal_mode: str | None = None) -> None:
        args = [str(db)] + ([journal_mode] if journal_mode else [])
        self.proc = spawn_driver("hold_write.py", *args)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "holding":
            raise AssertionError(f"holder failed: {line!r} {self.proc.stderr.read()}")

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=TIMEOUT)

    def __enter__(self) -> WriteHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def kill9(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)


# -- looking at a database ------------------------------------------------------


def connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, timeout=60, isolation_level=None)


def schema(db: Path) -> list[tuple[Any, ...]]:
    """Every schema object with its SQL, ordered: what 'same schema' means here."""
    with connect(db) as conn:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"
        ).fetchall()
    conn.close()
    return rows


def user_tables(db: Path) -> list[str]:
    return [name for kind, name, _, _ in schema(db)
            if kind == "table" and not name.startswith("sqlite_")]


def snapshot(db: Path) -> dict[str, Any]:
    """Schema plus every row of every table, bookkeeping included, exactly."""
    if not db.exists():
        return {"schema": [], "data": {}}
    conn = connect(db)
    try:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"
        ).fetchall()
        data = {}
        for kind, name, _, _ in rows:
            if kind == "table" and not name.startswith("sqlite_"):
                data[name] = sorted(
                    conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr
                )
    finally:
        conn.close()
    return {"schema": rows, "data": data}


def comparable(db: Path, table: str = "schema_migrations") -> dict[str, Any]:
    """Snapshot without the bookkeeping's applied_at/duration_ms, which differ per run."""
    snap = snapshot(db)
    data = dict(snap["data"])
    if table in data:
        data[table] = [row[:3] for row in data[table]]
    return {"schema": snap["schema"], "data": data}


def make_db(db: Path, journal_mode: str = "delete") -> Path:
    """An empty database file in the given journal mode (WAL persists in the file)."""
    conn = connect(db)
    conn.execute(f"PRAGMA journal_mode={journal_mode}")
    conn.execute("CREATE TABLE IF NOT EXISTS app_marker(x)")
    conn.close()
    return db


def applied_versions(db: Path, table: str = "schema_migrations") -> list[str]:
    conn = connect(db)
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if not exists:
            return []
        return [r[0] for r in conn.execute(f'SELECT version FROM "{table}" ORDER BY version')]
    finally:
        conn.close()


def integrity_ok(db: Path) -> bool:
    conn = connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def stderr_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("error:")]


def versions_in(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(i["version"]) for i in items]


# -- a migrator process that holds the run lock for as long as a test wants ---------


def gated_migrations(directory: Path, gate: Path) -> Path:
    """001 is instant; 002 writes to ``gate``, so it waits while the gate is busy."""
    with connect(gate) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS passed(x)")
    conn.close()
    return write_files(directory, {
        "001_first.up.sql": "CREATE TABLE first(x);\n",
        "002_gated.up.sql": (
            f"ATTACH DATABASE '{gate}' AS gate;\n"
            "CREATE TABLE second(x);\n"
            "INSERT INTO gate.passed VALUES (1);\n"
        ),
    })


def start_lock_holder(db: Path, migrations: Path) -> subprocess.Popen[str]:
    """``migrator up`` parked inside 002 (its gate must be held busy by the caller)."""
    proc = spawn_cli(db, migrations, "up", "--lock-timeout", "120")
    wait_for(lambda: proc.poll() is not None or (db.exists() and "001" in applied_versions(db)),
             what="the lock holder to reach its gated migration")
    assert proc.poll() is None, proc.communicate()
    return proc


def catches(pid: int, signum: int) -> bool:
    """True once process ``pid`` installed a handler for ``signum`` (Linux /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


def wait_until_handling_signals(proc: subprocess.Popen[str]) -> None:
    """The CLI installs its SIGTERM handler just before it starts the command."""
    wait_for(lambda: proc.poll() is not None or catches(proc.pid, signal.SIGTERM),
             what="the CLI to install its signal handlers")
