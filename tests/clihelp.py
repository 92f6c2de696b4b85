"""The one way the tests run the CLI: a real subprocess, a clean environment, one result.

The CLI always runs as a real subprocess with an explicit environment, so no
setting of the developer's shell (DATABASE_URL, NO_COLOR, ...) leaks in.
Every test module (SQLite files, the server tests, the backend contract
suite) runs it through ``cli``/``start`` and reads a ``Result``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

URL = "sqlite:///app.db"  # relative to the test's tmp_path, the CLI's cwd
TIMEOUT = 180.0  # generous: the machine is shared and may be loaded
_SETTINGS = ("DATABASE_URL", "MIGRATIONS_DIR", "MIGRATIONS_TABLE", "MIGRATOR_LOCK_TIMEOUT",
             "NO_COLOR", "FORCE_COLOR", "MIGRATOR_LOCK_RETRIES", "MIGRATOR_FILE_LOCK_TIMEOUT")

# The ``make_migrations`` fixture: ``{relative path: text or bytes}`` -> the directory.
MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]


@dataclass(frozen=True)
class Result:
    """What one CLI run gave back: exit code, stdout, stderr."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout as exactly one JSON document (json.loads rejects trailing data)."""
        return json.loads(self.stdout)

    # Short names kept for the modules that read them (test_cli_parser).
    @property
    def out(self) -> str:
        return self.stdout

    @property
    def err(self) -> str:
        return self.stderr

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any migrator setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def cli_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "migrator", *args]


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = TIMEOUT) -> Result:
    """``python -m migrator ARGS`` in ``cwd``; no URL unless given by args/env/config."""
    proc = subprocess.run(
        cli_args(*args), cwd=cwd, env=clean_env() if env is None else env,
        capture_output=True, text=True, encoding="utf-8", timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _default_sigint() -> None:
    """A background job inherits SIGINT ignored; the children here must see Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``cli`` without waiting: the process, its stdout and stderr piped."""
    return subprocess.Popen(
        cli_args(*args), cwd=cwd, env=clean_env() if env is None else env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, encoding="utf-8", preexec_fn=_default_sigint,
    )


def finish(proc: subprocess.Popen[str], timeout: float = TIMEOUT) -> Result:
    """Wait for a started CLI and read what it wrote."""
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out, err)


def run(cwd: Path, *args: str, **kw: Any) -> Result:
    """Like ``cli`` with ``-u sqlite:///app.db`` in front."""
    return cli(cwd, "-u", URL, *args, **kw)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def migration(root: Path, version: str, name: str, up: str | bytes,
              down: str | bytes | None = None, *, layout: str = "pair",
              directory: str = "migrations") -> Path:
    """Write one migration under ``root/directory``; returns the up file's path."""
    d = root / directory
    if layout == "dir":
        up_path = write(d / f"{version}_{name}" / "up.sql", up)
        if down is not None:
            write(d / f"{version}_{name}" / "down.sql", down)
    else:
        up_path = write(d / f"{version}_{name}.up.sql", up)
        if down is not None:
            write(d / f"{version}_{name}.down.sql", down)
    return up_path


def three(root: Path) -> None:
    """Three reversible migrations: tables a, b and c with seed rows."""
    migration(root, "20260101000000", "create_a",
              "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);\n"
              "INSERT INTO a (v) VALUES ('one');\n",
              "DROP TABLE a;\n")
    migration(root, "20260102000000", "create_b",
              "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id));\n"
              "CREATE INDEX b_a ON b(a_id);\n",
              "DROP INDEX b_a;\nDROP TABLE b;\n", layout="dir")
    migration(root, "20260103000000", "create_c",
              "CREATE TABLE c (x TEXT);\nINSERT INTO c VALUES ('it''s; tricky');\n",
              "DROP TABLE c;\n")


VERSIONS = ["20260101000000", "20260102000000", "20260103000000"]


def dump(db: Path, *, table: str = "schema_migrations", volatile: bool = True) -> Any:
    """Schema, data and bookkeeping rows as a comparable value; None if no file.

    ``volatile=False`` drops applied_at and duration_ms, which differ between
    two otherwise identical runs.
    """
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        schema = sorted(conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%'").fetchall())
        data = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%'"):
            rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
            if name == table and not volatile:
                cols = [c[1] for c in conn.execute(f'PRAGMA table_info("{name}")')]
                keep = [i for i, c in enumerate(cols) if c not in ("applied_at", "duration_ms")]
                rows = [tuple(r[i] for i in keep) for r in rows]
            data[name] = sorted(rows, key=repr)
        return {"schema": schema, "data": data}
    finally:
        conn.close()


def applied(db: Path, table: str = "schema_migrations") -> list[str]:
    """Recorded versions, oldest first."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [v for (v,) in conn.execute(f'SELECT version FROM "{table}" ORDER BY version')]
    finally:
        conn.close()


def tables(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted(n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    finally:
        conn.close()


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err, str(result)
    assert "Traceback" not in result.out, str(result)
