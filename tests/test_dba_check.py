"""``migrator check``: every file problem at once, path:line, no database touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from migrator.dba.check import check_directory

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


GOOD = {
    "20261101000000_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
    "20261101000000_users.down.sql": "DROP TABLE users;\n",
    "20261102000000_audit/up.sql": (
        "CREATE TABLE log (msg TEXT);\n"
        "CREATE TRIGGER users_log AFTER INSERT ON users BEGIN\n"
        "  INSERT INTO log VALUES ('new user; ' || NEW.email);\n"
        "END;\n"
    ),
    "20261102000000_audit/down.sql": "DROP TRIGGER users_log;\nDROP TABLE log;\n",
}


def test_clean_directory_exits_0_without_a_database(tmp_path: Path, make_migrations) -> None:
    make_migrations(GOOD)
    result = run(tmp_path, "--url", "sqlite:///never.db", "check", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == {"ok": True, "files": 4, "migrations": 2, "errors": 0, "warnings": 0,
                   "problems": []}
    assert not (tmp_path / "never.db").exists()


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path, make_migrations) -> None:
    make_migrations({
        **GOOD,
        "20261103000000_tx.up.sql": "CREATE TABLE a (x);\nBEGIN;\nINSERT INTO a VALUES (1);\n"
                                     "COMMIT;\n",
        "20261104000000_vac.up.sql": "-- tidy up\nVACUUM;\n",
        "20261105000000_bad name.up.sql": "SELECT 1;\n",
        "20261106000000_dup.up.sql": "SELECT 1;\n",
        "20261106000000_dup2.up.sql": "SELECT 2;\n",
        "20261107000000_directive.up.sql": "-- migrator: no-transactoin\nSELECT 1;\n",
        "20261108000000_quote.up.sql": "SELECT 1;\nINSERT INTO a VALUES ('oops);\n",
        "20261109000000_latin1.up.sql": "SELECT 'caf\xe9';\n".encode("latin-1"),
        "20261110000000_begin_col.up.sql": "CREATE TABLE t (begin INTEGER);\n"
                                           "INSERT INTO t VALUES (1);\n",
        "20261110000000_begin_col.down.sql": "DROP TABLE t;\n",
        "20261111000000_orphan.down.sql": "DROP TABLE nothing;\n",
    })
    result = run(tmp_path, "check")
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout
    d = "migrations/"
    tx = f"{d}20261103000000_tx.up.sql"
    assert f"{tx}:2: error: statement 2 is transaction control (BEGIN)" in out
    assert f"{tx}:4: error: statement 4 is transaction control (COMMIT)" in out
    assert f"{d}20261104000000_vac.up.sql:2: error: statement 1 (VACUUM) cannot run inside" in out
    assert f"{d}20261105000000_bad name.up.sql: error: not a migration file name" in out
    assert f"{d}20261106000000_dup.up.sql: error: duplicate version 20261106000000" in out
    assert f"{d}20261106000000_dup2.up.sql: error: duplicate version 20261106000000" in out
    assert f"{d}20261107000000_directive.up.sql:1: error: unknown directive" in out
    assert f"{d}20261108000000_quote.up.sql:2: error: unterminated string literal" in out
    assert f"{d}20261109000000_latin1.up.sql:1: error: not valid UTF-8: byte 0xe9" in out
    assert (f"{d}20261110000000_begin_col.up.sql:2: error: statement 2 starts here for SQLite, "
            "but sqlparse joins it") in out
    assert f"{d}20261111000000_orphan.down.sql: error: down file without a matching up" in out
    assert f"{d}20261104000000_vac.up.sql: warning: irreversible" in out
    assert "error(s)" in result.stderr


def test_warnings_fail_only_with_strict(tmp_path: Path, make_migrations) -> None:
    make_migrations({
        "1_init.up.sql": "CREATE TABLE a (x);\n",
        "1_init.down.sql": "-- nothing to undo?\n\n",
        "2_seed.up.sql": "INSERT INTO a VALUES (1);\n",
        "3_fk.up.sql": "PRAGMA foreign_keys = OFF;\nCREATE TABLE b (y);\n",
        "3_fk.down.sql": "DROP TABLE b;\n",
    })
    plain = run(tmp_path, "check", "--json")
    assert plain.returncode == 0, plain.stderr
    doc = json.loads(plain.stdout)
    assert doc["ok"] is True and doc["errors"] == 0 and doc["warnings"] == 3
    by_file = {(p["file"], p["line"]): p for p in doc["problems"]}
    assert "empty or comments only" in by_file[("migrations/1_init.down.sql", None)]["message"]
    assert "irreversible" in by_file[("migrations/2_seed.up.sql", None)]["message"]
    assert "foreign-keys-off" in by_file[("migrations/3_fk.up.sql", 1)]["message"]
    strict = run(tmp_path, "check", "--strict", "--json")
    assert strict.returncode == 2
    assert json.loads(strict.stdout)["ok"] is False


def test_empty_up_with_empty_down_is_not_flagged(tmp_path: Path, make_migrations) -> None:
    root = make_migrations({"1_placeholder.up.sql": "-- reserved\n",
                            "1_placeholder.down.sql": ""})
    report = check_directory(root)
    assert report.findings == []


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "check", "-d", "nope")
    assert result.returncode == 2
    assert "migrations directory 'nope' does not exist" in result.stderr


def test_pre_commit_hook_definition() -> None:
    """The hook file is flat YAML; read its one mapping without a YAML dependency."""
    lines = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8").splitlines()
    items = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    assert items[0].startswith("- id: ")
    hook = dict(ln.lstrip("- ").split(": ", 1) for ln in items)
    assert hook["id"] == "migrator-check"
    assert hook["entry"] == "migrator check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] == "false"
    assert hook["files"] == r"\.sql$"
    # what the hook runs must exist and fail on a bad file
    assert "check" in subprocess.run(
        [sys.executable, "-m", "migrator", "--help"], capture_output=True, text=True,
        timeout=120, cwd=ROOT,
    ).stdout
