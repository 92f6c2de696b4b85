"""The command line as scripts and DBAs use it: real processes on real SQLite files.

Every command, flag and exit code of SPEC.md "Command line"; drift and locks
are in test_cli_drift.py, JSON documents in test_cli_json.py.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clihelp import (
    URL,
    VERSIONS,
    applied,
    clean_env,
    cli,
    dump,
    migration,
    no_traceback,
    run,
    tables,
    three,
    write,
)

ANSI = "\033["


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    three(tmp_path)
    return tmp_path


# -- new ------------------------------------------------------------------------


def _version_near_now(version: str) -> None:
    stamp = datetime.strptime(version, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 600, version


def test_new_pair_prints_both_paths_on_stdout(tmp_path: Path) -> None:
    r = cli(tmp_path, "new", "add_users")
    assert r.code == 0, r
    paths = r.stdout.splitlines()
    assert len(paths) == 2
    up, down = (Path(p) for p in paths)
    assert re.fullmatch(r"\d{14}_add_users\.up\.sql", up.name), paths
    assert down.name == up.name.replace(".up.", ".down.")
    assert up.parent == down.parent == Path("migrations")
    assert (tmp_path / up).is_file() and (tmp_path / down).is_file()
    _version_near_now(up.name[:14])
    # the written pair is a valid (empty) migration
    r = run(tmp_path, "up")
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == [up.name[:14]]


def test_new_dir_layout(tmp_path: Path) -> None:
    r = cli(tmp_path, "-d", "db/mig", "new", "orders", "--layout", "dir")
    assert r.code == 0, r
    up, down = (Path(p) for p in r.stdout.splitlines())
    assert up.name == "up.sql" and down.name == "down.sql"
    assert re.fullmatch(r"\d{14}_orders", up.parent.name)
    assert up.parent.parent == Path("db/mig")
    assert (tmp_path / up).is_file() and (tmp_path / down).is_file()
    _version_near_now(up.parent.name[:14])


@pytest.mark.parametrize("name", ["bad name", "x/../y", "", "semi;colon", "ünï code", "x\n"])
def test_new_bad_name_is_usage_error(tmp_path: Path, name: str) -> None:
    r = cli(tmp_path, "new", name)
    assert r.code == 2, r
    assert r.stdout == ""
    assert "name" in r.stderr
    no_traceback(r)
    d = tmp_path / "migrations"
    assert not d.exists() or list(d.rglob("*")) == []


def test_new_bad_layout_is_usage_error(tmp_path: Path) -> None:
    r = cli(tmp_path, "new", "x", "--layout", "tree")
    assert r.code == 2, r
    assert not (tmp_path / "migrations").exists()


def test_quick_new_calls_never_collide(tmp_path: Path) -> None:
    versions = []
    for i in range(3):
        r = cli(tmp_path, "new", f"step{i}", *(["--layout", "dir"] if i == 1 else []))
        assert r.code == 0, r
        versions.append(re.search(r"(\d{14})_", r.stdout).group(1))  # type: ignore[union-attr]
    assert versions == sorted(versions) and len(set(versions)) == 3
    r = run(tmp_path, "up")
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == versions


def test_concurrent_new_calls_never_collide(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    cmd = [sys.executable, "-m", "migrator", "new"]
    procs = [subprocess.Popen([*cmd, f"n{i}"], cwd=tmp_path, env=clean_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, (out, err)
        assert "Traceback" not in err
    versions = [re.search(r"(\d{14})_", out).group(1) for out, _ in outs]  # type: ignore[union-attr]
    assert len(set(versions)) == 4, versions
    r = run(tmp_path, "up")
    assert r.code == 0, r


# -- up -------------------------------------------------------------------------


def test_up_applies_everything_progress_on_stderr_only(proj: Path) -> None:
    r = run(proj, "up")
    assert r.code == 0, r
    assert r.stdout == ""
    assert "20260101000000_create_a" in r.stderr and "applied 3 migrations" in r.stderr
    db = proj / "app.db"
    assert applied(db) == VERSIONS
    assert tables(db) == ["a", "b", "c", "schema_migrations"]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT x FROM c").fetchall() == [("it's; tricky",)]
    conn.close()
    again = run(proj, "up")
    assert again.code == 0, again
    assert again.stdout == ""
    assert "nothing to apply" in again.stderr


def test_up_to_version(proj: Path) -> None:
    r = run(proj, "up", "--to", VERSIONS[1])
    assert r.code == 0, r
    assert applied(proj / "app.db") == VERSIONS[:2]
    r = run(proj, "up", "--to", "99999999999999")
    assert r.code == 2, r
    assert "99999999999999" in r.stderr
    r = run(proj, "up", "--to", "abc")
    assert r.code == 2, r
    assert applied(proj / "app.db") == VERSIONS[:2]


def _run_script(script: str, db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.executescript(script)
    finally:
        conn.close()


def test_up_dry_run_on_missing_database_creates_nothing(proj: Path) -> None:
    r = run(proj, "up", "--dry-run")
    assert r.code == 0, r
    assert not (proj / "app.db").exists()
    assert sorted(p.name for p in proj.iterdir()) == ["migrations"]
    script = r.stdout
    assert "BEGIN" in script and "COMMIT" in script and "schema_migrations" in script
    assert "-- migrations/20260101000000_create_a.up.sql:1 (statement 1 of 2)" in script
    assert "-- migrations/20260102000000_create_b/up.sql:2 (statement 2 of 2)" in script
    # the script, run by hand, gives what a real run gives
    _run_script(script, proj / "by_hand.db")
    real = run(proj, "up")
    assert real.code == 0, real
    assert dump(proj / "by_hand.db", volatile=False) == dump(proj / "app.db", volatile=False)


def test_up_dry_run_on_partly_migrated_database(proj: Path) -> None:
    db = proj / "app.db"
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    before = db.read_bytes()
    r = run(proj, "up", "--dry-run")
    assert r.code == 0, r
    assert db.read_bytes() == before
    assert "create_a" not in r.stdout.split("nothing was run", 1)[1]
    copy = proj / "copy.db"
    shutil.copy(db, copy)
    _run_script(r.stdout, copy)
    assert run(proj, "up").code == 0
    assert dump(copy, volatile=False) == dump(db, volatile=False)
    nothing = run(proj, "up", "--dry-run")
    assert nothing.code == 0 and "0 migration(s)" in nothing.stdout


def test_dry_run_script_survives_awkward_sql(tmp_path: Path) -> None:
    """Comments at a statement's end, quotes and triggers must stay a runnable script."""
    migration(tmp_path, "1", "awkward",
              "CREATE TABLE t (x TEXT); -- trailing comment\n"
              "INSERT INTO t VALUES ('a;b') -- no semicolon after a comment\n;\n"
              "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
              "  INSERT INTO t SELECT 'trig' WHERE NEW.x <> 'trig';\nEND;\n"
              "INSERT INTO t VALUES ('c')\n-- last line comment")
    r = run(tmp_path, "up", "--dry-run")
    assert r.code == 0, r
    _run_script(r.stdout, tmp_path / "by_hand.db")
    assert run(tmp_path, "up").code == 0
    assert dump(tmp_path / "by_hand.db", volatile=False) == dump(tmp_path / "app.db",
                                                                  volatile=False)


# -- down -----------------------------------------------------------------------


def test_down_default_steps_to_all(proj: Path) -> None:
    db = proj / "app.db"
    assert run(proj, "up").code == 0
    r = run(proj, "down")
    assert r.code == 0, r
    assert r.stdout == ""
    assert applied(db) == VERSIONS[:2] and "c" not in tables(db)
    assert run(proj, "up").code == 0
    r = run(proj, "down", "--steps", "2")
    assert r.code == 0, r
    assert applied(db) == VERSIONS[:1] and tables(db) == ["a", "schema_migrations"]
    assert run(proj, "up").code == 0
    r = run(proj, "down", "--to", VERSIONS[0])
    assert r.code == 0, r
    assert applied(db) == VERSIONS[:1]
    r = run(proj, "down", "--all")
    assert r.code == 0, r
    assert applied(db) == [] and tables(db) == ["schema_migrations"]
    r = run(proj, "down")
    assert r.code == 0, r
    assert "nothing to roll back" in r.stderr


@pytest.mark.parametrize("args", [["--steps", "0"], ["--steps", "x"],
                                  ["--steps", "1", "--all"], ["--to", "1", "--all"]])
def test_down_bad_flags(proj: Path, args: list[str]) -> None:
    assert run(proj, "up").code == 0
    before = dump(proj / "app.db")
    r = run(proj, "down", *args)
    assert r.code == 2, r
    assert r.stdout == ""
    assert dump(proj / "app.db") == before


def test_down_to_unapplied_version_is_usage_error(proj: Path) -> None:
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    before = dump(proj / "app.db")
    r = run(proj, "down", "--to", VERSIONS[2])
    assert r.code == 2, r
    assert "not applied" in r.stderr
    assert dump(proj / "app.db") == before


def test_down_dry_run_changes_nothing_and_matches_real_down(proj: Path) -> None:
    db = proj / "app.db"
    assert run(proj, "up").code == 0
    before = db.read_bytes()
    r = run(proj, "down", "--steps", "2", "--dry-run")
    assert r.code == 0, r
    assert db.read_bytes() == before
    assert "DROP TABLE c;" in r.stdout and "DROP INDEX b_a;" in r.stdout
    assert "DELETE FROM" in r.stdout
    assert r.stdout.index("DROP TABLE c") < r.stdout.index("DROP TABLE b")  # newest first
    copy = proj / "copy.db"
    shutil.copy(db, copy)
    _run_script(r.stdout, copy)
    assert run(proj, "down", "--steps", "2").code == 0
    assert dump(copy, volatile=False) == dump(db, volatile=False)


def test_down_without_down_file_refuses_and_changes_nothing(proj: Path) -> None:
    migration(proj, "20260104000000", "irreversible", "CREATE TABLE d (x);\n")
    db = proj / "app.db"
    assert run(proj, "up").code == 0
    before = db.read_bytes()
    for args in ([], ["--all"], ["--steps", "2"]):
        r = run(proj, "down", *args)
        assert r.code == 1, r
        no_traceback(r)
        assert "20260104000000_irreversible.up.sql" in r.stderr
        assert "down file" in r.stderr
        assert db.read_bytes() == before
    # rolling back past it is refused too, even though c, b, a have down files
    r = run(proj, "down", "--to", VERSIONS[0])
    assert r.code == 1, r
    assert db.read_bytes() == before


# -- redo -----------------------------------------------------------------------


def _applied_at(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT version, applied_at FROM schema_migrations"))
    finally:
        conn.close()


def test_redo_reapplies_newest(proj: Path) -> None:
    db = proj / "app.db"
    assert run(proj, "up").code == 0
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO c VALUES ('added later')")
    conn.commit()
    conn.close()
    first = _applied_at(db)
    r = run(proj, "redo")
    assert r.code == 0, r
    assert r.stdout == ""
    after = _applied_at(db)
    assert after[VERSIONS[0]] == first[VERSIONS[0]] and after[VERSIONS[1]] == first[VERSIONS[1]]
    assert after[VERSIONS[2]] != first[VERSIONS[2]]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT x FROM c").fetchall() == [("it's; tricky",)]
    conn.close()
    r = run(proj, "redo", "--steps", "2")
    assert r.code == 0, r
    again = _applied_at(db)
    assert again[VERSIONS[0]] == first[VERSIONS[0]]
    assert again[VERSIONS[1]] != after[VERSIONS[1]] and again[VERSIONS[2]] != after[VERSIONS[2]]
    assert applied(db) == VERSIONS


def test_redo_bad_steps(proj: Path) -> None:
    assert run(proj, "redo", "--steps", "0").code == 2


# -- status, baseline, unlock ------------------------------------------------------


def test_status_table_and_exit_code(proj: Path) -> None:
    r = run(proj, "status")
    assert r.code == 0, r
    assert not (proj / "app.db").exists()  # status never creates the database
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "NAME", "STATE", "APPLIED", "AT"]
    assert [ln.split()[:3] for ln in lines[1:]] == [
        [VERSIONS[0], "create_a", "pending"], [VERSIONS[1], "create_b", "pending"],
        [VERSIONS[2], "create_c", "pending"]]
    assert ANSI not in r.stdout + r.stderr
    r = run(proj, "status", "--exit-code")
    assert r.code == 1, r
    assert not (proj / "app.db").exists()
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    r = run(proj, "status", "--exit-code")
    assert r.code == 1, r
    row = r.stdout.splitlines()[1].split()
    assert row[:3] == [VERSIONS[0], "create_a", "applied"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", row[3]), row
    assert run(proj, "up").code == 0
    r = run(proj, "status", "--exit-code")
    assert r.code == 0, r


@pytest.mark.parametrize("args", [["status"], ["status", "--json"], ["verify"], ["down"],
                                  ["down", "--all"], ["redo"], ["unlock"], ["up", "--dry-run"],
                                  ["down", "--dry-run"]])
def test_missing_database_is_not_created(proj: Path, args: list[str]) -> None:
    """A mistyped path must not leave an empty database behind."""
    r = run(proj, *args)
    assert r.code == 0, r
    assert sorted(p.name for p in proj.iterdir()) == ["migrations"]


def test_status_with_no_migrations(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    r = run(tmp_path, "status", "--exit-code")
    assert r.code == 0, r
    assert "no migrations" in r.stdout


def test_baseline_records_without_running(proj: Path) -> None:
    db = proj / "app.db"
    r = run(proj, "baseline", VERSIONS[1])
    assert r.code == 0, r
    assert applied(db) == VERSIONS[:2]
    assert tables(db) == ["schema_migrations"]  # nothing ran
    assert "create_a" in r.stdout and "create_b" in r.stdout
    r = run(proj, "up")
    assert r.code == 0, r
    assert tables(db) == ["c", "schema_migrations"]
    before = dump(db)
    r = run(proj, "baseline", "20991231000000")
    assert r.code == 2, r
    assert dump(db) == before


def test_unlock(proj: Path) -> None:
    r = run(proj, "unlock")
    assert r.code == 0, r
    assert not (proj / "app.db").exists()
    assert run(proj, "up").code == 0
    lock = proj / "app.db.migrator-lock"
    write(lock, "host gone, pid 99999999, since 2026-01-01T00:00:00Z\n")
    r = run(proj, "unlock")
    assert r.code == 0, r
    assert not lock.exists()
    assert "removed" in r.stdout


# -- global options and configuration ------------------------------------------------


def test_global_options_before_or_after_command(proj: Path) -> None:
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    a = cli(proj, "status", "--json", "-u", URL)
    b = cli(proj, "--json", "-u", URL, "status")
    c = cli(proj, "status", "--url", URL, "--json", "--migrations-dir", "migrations")
    assert a.code == b.code == c.code == 0, (a, b, c)
    assert a.stdout == b.stdout == c.stdout
    assert a.json()["migrations"][0]["state"] == "applied"


def test_url_from_flag_or_environment(proj: Path) -> None:
    r = cli(proj, "up", env=clean_env(DATABASE_URL="sqlite:///env.db"))
    assert r.code == 0, r
    assert applied(proj / "env.db") == VERSIONS
    abs_db = proj / "sub" / "abs.db"
    abs_db.parent.mkdir()
    r = cli(proj, "--url", f"sqlite:///{abs_db}", "up")  # sqlite:////abs/path.db
    assert r.code == 0, r
    assert applied(abs_db) == VERSIONS


def test_migrations_dir_from_flag_or_environment(tmp_path: Path) -> None:
    migration(tmp_path, "1", "x", "CREATE TABLE x (a);", directory="sql/one")
    migration(tmp_path, "1", "y", "CREATE TABLE y (a);", directory="sql/two")
    assert run(tmp_path, "-d", "sql/one", "up").code == 0
    assert "x" in tables(tmp_path / "app.db")
    r = cli(tmp_path, "up", env=clean_env(DATABASE_URL="sqlite:///two.db",
                                         MIGRATIONS_DIR="sql/two"))
    assert r.code == 0, r
    assert tables(tmp_path / "two.db") == ["schema_migrations", "y"]
    r = cli(tmp_path, "--migrations-dir", "sql/one", "up",
            env=clean_env(DATABASE_URL="sqlite:///three.db", MIGRATIONS_DIR="sql/two"))
    assert r.code == 0, r
    assert tables(tmp_path / "three.db") == ["schema_migrations", "x"]


def test_migrations_table_from_flag_or_environment(proj: Path) -> None:
    db = proj / "app.db"
    assert run(proj, "--migrations-table", "my_versions", "up", "--to", VERSIONS[0]).code == 0
    assert "schema_migrations" not in tables(db)
    assert applied(db, "my_versions") == VERSIONS[:1]
    r = run(proj, "up", env=clean_env(MIGRATIONS_TABLE="my_versions"))
    assert r.code == 0, r
    assert applied(db, "my_versions") == VERSIONS
    assert "schema_migrations" not in tables(db)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_invalid_migrations_table_creates_nothing(proj: Path, how: str) -> None:
    bad = "x; DROP TABLE y"
    if how == "flag":
        r = run(proj, "--migrations-table", bad, "up")
    else:
        r = run(proj, "up", env=clean_env(MIGRATIONS_TABLE=bad))
    assert r.code == 2, r
    assert bad in r.stderr
    no_traceback(r)
    assert sorted(p.name for p in proj.iterdir()) == ["migrations"]


def test_config_file_and_precedence(proj: Path) -> None:
    write(proj / "migrator.toml", 'url = "sqlite:///file.db"\nmigrations_table = "t_file"\n')
    r = cli(proj, "up", "--to", VERSIONS[0])
    assert r.code == 0, r
    assert applied(proj / "file.db", "t_file") == VERSIONS[:1]
    # env beats the file
    r = cli(proj, "up", "--to", VERSIONS[0], env=clean_env(DATABASE_URL="sqlite:///env.db"))
    assert r.code == 0, r
    assert applied(proj / "env.db", "t_file") == VERSIONS[:1]
    # the flag beats both
    r = cli(proj, "-u", "sqlite:///flag.db", "--migrations-table", "t_flag", "up",
            env=clean_env(DATABASE_URL="sqlite:///env.db", MIGRATIONS_TABLE="t_env"))
    assert r.code == 0, r
    assert applied(proj / "flag.db", "t_flag") == VERSIONS
    assert applied(proj / "env.db", "t_file") == VERSIONS[:1]  # untouched


def test_pyproject_tool_migrator_section(proj: Path) -> None:
    shutil.move(proj / "migrations", proj / "db_migrations")
    write(proj / "pyproject.toml",
          '[project]\nname = "app"\n\n[tool.migrator]\nurl = "sqlite:///py.db"\n'
          'migrations_dir = "db_migrations"\n')
    r = cli(proj, "up")
    assert r.code == 0, r
    assert applied(proj / "py.db") == VERSIONS


def test_bad_config_file_is_usage_error(proj: Path) -> None:
    write(proj / "migrator.toml", 'url = "sqlite:///x.db"\ncolour = true\n')
    r = cli(proj, "status")
    assert r.code == 2, r
    assert "colour" in r.stderr and "migrator.toml" in r.stderr
    write(proj / "migrator.toml", "url = [unclosed\n")
    r = cli(proj, "status")
    assert r.code == 2, r
    no_traceback(r)


# -- output streams, verbosity, colour ---------------------------------------------


def test_quiet_and_verbose(proj: Path) -> None:
    r = run(proj, "-q", "up", "--to", VERSIONS[0])
    assert r.code == 0, r
    assert r.stdout == "" and r.stderr == ""
    r = run(proj, "up", "-v")
    assert r.code == 0, r
    assert r.stdout == ""
    assert "CREATE TABLE b" in r.stderr and "CREATE INDEX b_a" in r.stderr
    assert "line 2" in r.stderr
    r = run(proj, "--quiet", "down")
    assert r.code == 0 and r.stderr == "", r


def test_quiet_still_reports_errors(tmp_path: Path) -> None:
    migration(tmp_path, "1", "bad", "CREATE TABLE x (;")
    r = run(tmp_path, "-q", "up")
    assert r.code == 1, r
    assert "1_bad.up.sql" in r.stderr


def test_no_colour_when_not_a_terminal(proj: Path) -> None:
    migration(proj, "20260105000000", "broken", "SELECT * FROM nowhere;")
    r = run(proj, "up")
    assert r.code == 1
    s = run(proj, "status")
    assert ANSI not in r.stdout + r.stderr + s.stdout + s.stderr


def _on_pty(cwd: Path, *args: str, env: dict[str, str]) -> str:
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "migrator", "-u", URL, *args], cwd=cwd,
                                env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    finally:
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty behaviour")
def test_colour_on_a_terminal_unless_disabled(proj: Path) -> None:
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    assert ANSI in _on_pty(proj, "status", env=clean_env())
    assert ANSI not in _on_pty(proj, "status", env=clean_env(NO_COLOR="1"))
    assert ANSI not in _on_pty(proj, "status", "--no-color", env=clean_env())
    assert ANSI not in _on_pty(proj, "--no-color", "status", env=clean_env())


# -- exit 1: a migration fails -------------------------------------------------------


def test_failed_migration_message(proj: Path) -> None:
    migration(proj, "20260104000000", "broken",
              "-- adds d\nCREATE TABLE d (x);\n\nINSERT INTO d VALUES (1);\n"
              "INSERT INTO\n  missing_table VALUES (2);\nCREATE TABLE e (y);\n")
    migration(proj, "20260105000000", "later", "CREATE TABLE later (x);\n")
    db = proj / "app.db"
    r = run(proj, "up")
    assert r.code == 1, r
    no_traceback(r)
    assert r.stdout == ""
    assert "migrations/20260104000000_broken.up.sql:5" in r.stderr
    assert re.search(r"statement:?\s+3 of 4", r.stderr), r.stderr
    assert "missing_table VALUES (2)" in r.stderr
    assert "SQLITE_ERROR" in r.stderr and "no such table: missing_table" in r.stderr
    # earlier migrations stay applied, the failed one left nothing, later ones did not run
    assert applied(db) == VERSIONS
    assert tables(db) == ["a", "b", "c", "schema_migrations"]


def test_failed_constraint_names_sqlite_error(tmp_path: Path) -> None:
    migration(tmp_path, "1", "dup", "CREATE TABLE u (id INTEGER PRIMARY KEY);\n"
              "INSERT INTO u VALUES (1);\nINSERT INTO u VALUES (1);\n")
    r = run(tmp_path, "up")
    assert r.code == 1, r
    assert "SQLITE_CONSTRAINT_PRIMARYKEY" in r.stderr and "UNIQUE constraint failed" in r.stderr
    assert re.search(r"statement:?\s+3 of 3", r.stderr) and "1_dup.up.sql:3" in r.stderr
    assert tables(tmp_path / "app.db") == ["schema_migrations"]


# -- exit 2: usage and configuration ---------------------------------------------------


@pytest.mark.parametrize(("args", "needle"), [
    (["-u", "sqlite://host/x.db", "status"], "host"),
    (["-u", "sqlite:///x.db?mode=ro", "status"], "query"),
    (["-u", "sqlite://", "status"], "no file"),
    (["-u", "foo://bar", "status"], "foo"),
    (["-u", "not a url", "status"], "scheme"),
    (["-u", "hunter2-secret", "status"], "no scheme"),  # a pasted password is never echoed
    (["-u", "postgres://u:secret@h/db", "up"], "postgres"),
    (["status"], "DATABASE_URL"),
    (["-u", URL, "-d", "nowhere", "up"], "nowhere"),
    (["-u", URL, "--lock-timeout", "soon", "up"], "lock timeout"),
    (["-u", URL, "frobnicate"], "frobnicate"),
    (["-u", URL, "up", "--frobnicate"], "--frobnicate"),
    (["-u", URL], "COMMAND"),
])
def test_usage_errors(proj: Path, args: list[str], needle: str) -> None:
    r = cli(proj, *args)
    assert r.code == 2, r
    assert r.stdout == ""
    assert needle in r.stderr
    # neither password is echoed (the usage line's --secret-var flag is no leak)
    assert not re.search(r"secret(?!-var)", r.stderr.replace("--secret-var", ""))
    assert "hunter2" not in r.stderr
    no_traceback(r)
    assert sorted(p.name for p in proj.iterdir()) == ["migrations"]


@pytest.mark.parametrize(("up", "needle"), [
    ("BEGIN;\nCREATE TABLE z (x);\nCOMMIT;\n", "no-transaction"),
    ("CREATE TABLE z (x);\nSAVEPOINT s;\nRELEASE s;\n", "no-transaction"),
    ("-- migrator: no-transactions\nCREATE TABLE z (x);\n", "unknown directive"),
    ("CREATE TABLE z (x);\nVACUUM;\n", "VACUUM"),
    ("PRAGMA journal_mode = WAL;\nCREATE TABLE z (x);\n", "journal_mode"),
])
def test_invalid_file_among_valid_ones_changes_nothing(proj: Path, up: str, needle: str) -> None:
    db = proj / "app.db"
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    path = migration(proj, "20260104000000", "bad", up)
    before_bytes, before = db.read_bytes(), dump(db)
    r = run(proj, "up")
    assert r.code == 2, r
    no_traceback(r)
    assert needle in r.stderr
    assert str(path.relative_to(proj)) in r.stderr
    assert re.search(r"20260104000000_bad\.up\.sql:\d+", r.stderr), r.stderr
    assert dump(db) == before
    assert db.read_bytes() == before_bytes
    # the valid pending migrations did not run either
    assert applied(db) == VERSIONS[:1]


def test_invalid_file_does_not_create_a_missing_database(proj: Path) -> None:
    migration(proj, "20260104000000", "bad", "BEGIN;\nCREATE TABLE z (x);\nCOMMIT;\n")
    r = run(proj, "up")
    assert r.code == 2, r
    assert not (proj / "app.db").exists()


def test_transaction_control_allowed_with_no_transaction(tmp_path: Path) -> None:
    migration(tmp_path, "1", "manual", "-- migrator: no-transaction\n"
              "BEGIN;\nCREATE TABLE z (x);\nCOMMIT;\nVACUUM;\n")
    r = run(tmp_path, "up")
    assert r.code == 0, r
    assert tables(tmp_path / "app.db") == ["schema_migrations", "z"]


def test_trigger_begin_is_not_transaction_control(tmp_path: Path) -> None:
    migration(tmp_path, "1", "trig", "CREATE TABLE t (x);\nCREATE TABLE log (x);\n"
              "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN\n"
              "  INSERT INTO log VALUES (NEW.x);\nEND;\nINSERT INTO t VALUES (7);\n")
    r = run(tmp_path, "up")
    assert r.code == 0, r
    conn = sqlite3.connect(tmp_path / "app.db")
    assert conn.execute("SELECT x FROM log").fetchall() == [(7,)]
    conn.close()


def test_pragma_foreign_keys_warns_but_runs(tmp_path: Path) -> None:
    migration(tmp_path, "1", "fk", "PRAGMA foreign_keys = OFF;\nCREATE TABLE z (x);\n")
    r = run(tmp_path, "up")
    assert r.code == 0, r
    assert "warning" in r.stderr and "foreign-keys-off" in r.stderr
    assert r.stdout == ""
    assert "z" in tables(tmp_path / "app.db")


# -- help and version -----------------------------------------------------------------


def test_help_and_version(tmp_path: Path) -> None:
    r = cli(tmp_path, "--help")
    assert r.code == 0, r
    for word in ("new", "up", "down", "redo", "status", "verify", "baseline", "unlock",
                 "--url", "--json", "exit codes"):
        assert word in r.stdout, word
    r = cli(tmp_path, "down", "--help")
    assert r.code == 0 and "--steps" in r.stdout and "--all" in r.stdout
    r = cli(tmp_path, "--version")
    assert r.code == 0, r
    import migrator

    assert r.stdout.strip() == f"migrator {migrator.__version__}"
    assert os.listdir(tmp_path) == []


def test_console_script_version(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("migrator")
    if not exe.exists():
        pytest.skip("console script not installed beside the interpreter")
    proc = subprocess.run([str(exe), "--version"], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("migrator ")
