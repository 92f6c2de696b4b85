"""Generated migration directories through the whole pipeline, library and CLI.

Invariants, whatever the input: no traceback reaches the user, the exit code
is one of SPEC's 0-4, and the database is untouched or at a migration
boundary (each applied migration's objects and rows exist, nothing of an
unapplied one does). For valid SQL the statements the engine runs are those
SQLite's tokenizer delimits. The slow test runs the same property 10,000 times.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings

from migrator import Migrator
from migrator.errors import MigratorError
from tests.fuzzgen import (
    FAILS,
    MAYBE,
    GenDir,
    applied_versions,
    check_boundary,
    db_objects,
    migration_dirs,
    oracle,
)

ROOT = Path(__file__).resolve().parents[1]
EXIT_CODES = {0, 1, 2, 3, 4}


def _call(fn: Callable[[], Any]) -> tuple[int, Any]:
    """The CLI's view of a library call: an exit code, never a stray exception."""
    try:
        return 0, fn()
    except MigratorError as exc:
        message = str(exc)
        assert message.strip(), f"{type(exc).__name__} with an empty message"
        assert "Traceback" not in message
        return int(exc.exit_code), exc


def _expected_applied(gen: GenDir) -> tuple[list[str], bool]:
    """Versions ``up`` must apply on a fresh database, and whether that is exact."""
    versions = []
    for m in gen.migrations:
        if m.outcome == FAILS:
            return versions, True
        if m.outcome == MAYBE:
            return versions, False
        versions.append(m.version)
    return versions, True


def _check_split(gen: GenDir, m: Migrator) -> None:
    plan = {item.migration.version: item for item in m.plan_up()}
    for g in gen.migrations:
        if g.oracle_text is None:
            continue
        item = plan[g.version]
        text = item.source.text
        assert text == g.oracle_text
        assert item.spans is not None
        stmts = list(item.spans.statements(text))
        assert [s.sql.rstrip() for s in stmts] == oracle(text)
        for s in stmts:
            assert s.sql == text[s.offset : s.offset + len(s.sql)]
            assert s.line == text.count("\n", 0, s.offset) + 1


def run_library(gen: GenDir) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, db = Path(tmp) / "migrations", Path(tmp) / "app.db"
        gen.write(root)
        event("invalid" if gen.invalid else
              "fails" if any(g.outcome == FAILS for g in gen.migrations) else "valid")
        m = Migrator(f"sqlite:///{db}", root)
        if not gen.invalid:
            _check_split(gen, m)
        code, result = _call(m.up)
        assert code in EXIT_CODES
        if gen.invalid:
            assert code == 2, f"invalid directory gave exit {code}: {result}"
            assert not db_objects(db), "an invalid directory touched the database"
            return
        done = check_boundary(gen, db)
        expected, exact = _expected_applied(gen)
        got = [g.version for g in done]
        if exact:
            assert got == expected, (code, str(result))
            assert code == (0 if len(expected) == len(gen.migrations) else 1), str(result)
        else:
            assert got == expected[: len(got)] or got[: len(expected)] == expected
        code, entries = _call(m.status)
        assert code == 0, str(entries)
        states = {e.version: e.state for e in entries}
        assert states == {g.version: ("applied" if g in done else "pending")
                          for g in gen.migrations}
        code, result = _call(lambda: m.down(everything=True))
        assert code in EXIT_CODES
        after = check_boundary(gen, db)
        if any(g.down is None for g in done):
            assert code == 1 and after == done, (code, str(result))  # README: irreversible
        else:
            assert code == 0 and after == [], (code, str(result))


FUZZ = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(migration_dirs())
def test_library_pipeline_keeps_invariants(gen: GenDir) -> None:
    run_library(gen)


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(migration_dirs(max_migrations=8))
@pytest.mark.slow
def test_library_pipeline_keeps_invariants_10k(gen: GenDir) -> None:
    run_library(gen)


# --------------------------------------------------------------------------- CLI

def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "-u", f"sqlite:///{tmp / 'app.db'}",
         "-d", str(tmp / "migrations"), *args],
        cwd=tmp, env=env, capture_output=True, text=True, errors="replace", timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in EXIT_CODES, (proc.returncode, proc.stderr)
    return proc


def run_cli(gen: GenDir) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        gen.write(tmp / "migrations")
        up = _cli(tmp, "--json", "up")
        doc = json.loads(up.stdout)
        if gen.invalid:
            assert up.returncode == 2 and "error" in doc, up.stdout
            assert not db_objects(tmp / "app.db")
            return
        done = check_boundary(gen, tmp / "app.db")
        assert [a["version"] for a in doc["applied"]] == [g.version for g in done]
        assert (up.returncode == 0) == (len(done) == len(gen.migrations)), up.stderr
        status = _cli(tmp, "--json", "status")
        assert status.returncode == 0, status.stderr
        states = {e["version"]: e["state"] for e in json.loads(status.stdout)["migrations"]}
        assert states == {g.version: ("applied" if g in done else "pending")
                          for g in gen.migrations}
        down = _cli(tmp, "down", "--all")
        assert down.returncode in (0, 1), down.stderr
        assert set(applied_versions(tmp / "app.db")) == (set() if down.returncode == 0 else
                                                         {g.version for g in done})
        check_boundary(gen, tmp / "app.db")


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(migration_dirs(max_migrations=4))
def test_cli_pipeline_keeps_invariants(gen: GenDir) -> None:
    run_cli(gen)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(migration_dirs(max_migrations=6))
@pytest.mark.slow
def test_cli_pipeline_keeps_invariants_many(gen: GenDir) -> None:
    run_cli(gen)


# --------------------------------------------------------------------------- regressions

def _write(tmp: Path, files: dict[str, bytes]) -> None:
    root = tmp / "migrations"
    root.mkdir(exist_ok=True)
    for rel, content in files.items():
        (root / rel).write_bytes(content)


@pytest.mark.parametrize("args", [
    ["up", "--to", "1" * 5000],
    ["down", "--to", "9" * 5000],
    ["baseline", "9" * 5000],
    ["repair", "9" * 5000, "--applied"],
])
def test_version_longer_than_int_limit_is_not_a_traceback(tmp_path: Path,
                                                          args: list[str]) -> None:
    """int() refuses > 4300 digits; that ValueError reached the user as a traceback."""
    _write(tmp_path, {"1_a.up.sql": b"CREATE TABLE a(x);", "1_a.down.sql": b"DROP TABLE a;"})
    assert _cli(tmp_path, "up").returncode == 0
    proc = _cli(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert "no migration with version" in proc.stderr
    assert applied_versions(tmp_path / "app.db") == ["1"]


def test_row_with_non_numeric_version_is_reported_missing(tmp_path: Path) -> None:
    """A hand-edited row ('abc', '') crashed status and up with a ValueError traceback."""
    _write(tmp_path, {"1_a.up.sql": b"CREATE TABLE a(x);"})
    assert _cli(tmp_path, "up").returncode == 0
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("INSERT INTO schema_migrations VALUES ('abc', 'x', '00', '2020', 0)")
    conn.execute("INSERT INTO schema_migrations VALUES ('', 'y', '00', '2020', 0)")
    conn.commit()
    conn.close()
    status = _cli(tmp_path, "--json", "status")
    assert status.returncode == 0, status.stderr
    states = {e["version"]: e["state"] for e in json.loads(status.stdout)["migrations"]}
    assert states == {"1": "applied", "abc": "missing", "": "missing"}
    assert _cli(tmp_path, "up").returncode == 3
    repair = _cli(tmp_path, "repair", "xyz", "--applied")
    assert repair.returncode == 2 and "no migration with version xyz" in repair.stderr


def test_comment_ended_by_lone_cr_is_refused(tmp_path: Path) -> None:
    """SQLite ends '--' only at LF: with old-Mac CR endings the CREATE was a comment,
    and the file was recorded as applied having done nothing."""
    _write(tmp_path, {"1_cr.up.sql": b"-- users\rCREATE TABLE users(id);\r"})
    db = tmp_path / "app.db"
    code, exc = _call(Migrator(f"sqlite:///{db}", tmp_path / "migrations").up)
    assert code == 2
    assert "1_cr.up.sql:1:" in str(exc) and "CR line ending" in str(exc)
    assert not db_objects(db)


def test_lone_cr_line_endings_without_line_comments_still_run(tmp_path: Path) -> None:
    """CR alone ends lines fine for SQLite outside '--' comments; inside quotes too."""
    _write(tmp_path, {"1_cr.up.sql": b"/* users\r */CREATE TABLE users(id);\r"
                                     b"INSERT INTO users VALUES ('--\rx');\r-- last\r\n"})
    db = tmp_path / "app.db"
    code, result = _call(Migrator(f"sqlite:///{db}", tmp_path / "migrations").up)
    assert code == 0, str(result)
    assert db_objects(db) == {"users": "table", "schema_migrations": "table"}
