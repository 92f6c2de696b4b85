"""``migrator check``: every file problem at once, path:line, no database touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from migrator.backends import dialects
from migrator.dba.check import check_directory

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=30, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
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


PG_FUNCTION = (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN NEW.updated := now(); RETURN NEW; END $$;\n"
)
MY_TRIGGER = (
    "DELIMITER //\n"
    "CREATE TRIGGER items_upper BEFORE INSERT ON items FOR EACH ROW BEGIN\n"
    "  SET NEW.name = UPPER(NEW.name);\n  SET NEW.code = LOWER(NEW.code);\nEND//\n"
    "DELIMITER ;\n"
)


def test_each_dialect_splits_its_own_syntax(tmp_path: Path, make_migrations) -> None:
    root = make_migrations({"1_touch.up.sql": PG_FUNCTION,
                            "1_touch.down.sql": "DROP FUNCTION touch();\n"})
    sqlite = check_directory(root)  # SQLite by default: the body is cut at its ';'
    assert any("transaction control (END)" in str(f) for f in sqlite.errors)
    assert check_directory(root, dialect="postgres").findings == []
    assert check_directory(root, url="postgres://u@db.example/app").findings == []
    (root / "1_touch.up.sql").write_text(MY_TRIGGER)
    (root / "1_touch.down.sql").write_text("DROP TRIGGER items_upper;\n")
    assert check_directory(root, dialect="mysql").findings == []
    assert check_directory(root, url="mariadb://root@db.example/app").findings == []
    pg = check_directory(root, dialect="postgres")
    assert [f.problem.line for f in pg.errors] == [1]
    assert "DELIMITER" in pg.errors[0].problem.message


def test_sqlparse_cross_check_belongs_to_sqlite_only(tmp_path: Path, make_migrations) -> None:
    root = make_migrations({"1_t.up.sql": "CREATE TABLE t (begin INTEGER);\n"
                                          "INSERT INTO t VALUES (1);\n"})
    assert any("sqlparse joins it" in f.problem.message for f in check_directory(root).errors)
    mysql = check_directory(root, dialect="mysql").findings
    assert [f.severity for f in mysql] == ["warning"]  # irreversible; no cross-check
    assert "sqlparse" not in mysql[0].problem.message


def test_dialect_on_the_command_line_and_its_refusals(tmp_path: Path, make_migrations) -> None:
    make_migrations({"1_touch.up.sql": PG_FUNCTION,
                     "1_touch.down.sql": "DROP FUNCTION touch();\n"})
    by_url = run(tmp_path, "-u", "postgres://u@db.example/app", "check", "--json")
    assert by_url.returncode == 0, by_url.stdout + by_url.stderr
    assert json.loads(by_url.stdout)["errors"] == 0
    by_flag = run(tmp_path, "check", "--dialect", "postgres", "--json")
    assert by_flag.returncode == 0, by_flag.stdout + by_flag.stderr
    assert json.loads(by_flag.stdout)["errors"] == 0
    assert run(tmp_path, "check").returncode == 2  # SQLite cuts the body at its ';'
    bad = run(tmp_path, "check", "--dialect", "oracle")
    assert bad.returncode == 2 and "unknown dialect 'oracle'" in bad.stderr
    unknown = check_error(tmp_path, dialect="oracle")
    known = ", ".join(d.name for d in dialects())  # every backend package, in name order
    assert {"mysql", "postgres", "sqlite"} <= set(known.split(", "))
    assert f"unknown dialect 'oracle' (known: {known})" in unknown
    both = check_error(tmp_path, url="sqlite:///app.db", dialect="postgres")
    assert "the dialect is postgres but the database URL is a sqlite URL" in both


def check_error(tmp_path: Path, **where: str) -> str:
    from migrator.errors import ConfigError

    try:
        check_directory(tmp_path / "migrations", **where)  # type: ignore[arg-type]
    except ConfigError as exc:
        return str(exc)
    raise AssertionError(f"no error for {where}")


def test_a_fifo_named_like_a_migration_is_refused_not_read(
    tmp_path: Path, make_migrations
) -> None:
    root = make_migrations(GOOD)
    os.mkfifo(root / "20261103000000_pipe.up.sql")
    result = run(tmp_path, "check", "--json")  # reading the FIFO would block: the timeout fails
    assert result.returncode == 2, result.stdout + result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert problems == [{
        "severity": "error", "file": "migrations/20261103000000_pipe.up.sql", "line": None,
        "message": "not a regular file (a FIFO, socket or device); migrations must be files"}]
    up = run(tmp_path, "-u", "sqlite:///app.db", "up")
    assert up.returncode == 2
    assert "20261103000000_pipe.up.sql: not a regular file" in up.stderr
