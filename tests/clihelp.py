"""Helpers for the CLI contract tests: run the real CLI, write files, dump databases.

The CLI always runs as a real subprocess with an explicit environment, so no
setting of the developer's shell (DATABASE_URL, NO_COLOR, ...) leaks in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

URL = "sqlite:///app.db"  # relative to the test's tmp_path, the CLI's cwd
TIMEOUT = 60.0
_SETTINGS = ("DATABASE_URL", "MIGRATIONS_DIR", "MIGRATIONS_TABLE", "MIGRATOR_LOCK_TIMEOUT",
             "NO_COLOR", "FORCE_COLOR")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as exactly one JSON document (json.loads rejects trailing data)."""
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = TIMEOUT) -> Result:
    """``python -m migrator ARGS`` in ``cwd``; no URL unless given by args/env/config."""
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=cwd, env=clean_env() if env is None else env, capture_output=True,
        text=True, encoding="utf-8", timeout=timeout, stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


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
