"""The CLI on DuckDB files: the behaviours the SQLite tests pin, run as real processes.

Every database here is a real DuckDB file in the test's directory; locks and
crashes are real concurrent processes and a real SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from clihelp import Result, clean_env, cli, migration, no_traceback

URL = "duckdb:///app.db"
V1, V2, V3 = "20260101000000", "20260102000000", "20260103000000"
DRIVERS = Path(__file__).resolve().parent / "drivers"


def run(cwd: Path, *args: str, **kw: Any) -> Result:
    return cli(cwd, "-u", URL, *args, **kw)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        rows: list[tuple[Any, ...]] = conn.execute(sql).fetchall()
        return rows
    finally:
        conn.close()


def tables(db: Path) -> list[str]:
    return sorted(t for (t,) in query(db, "SELECT table_name FROM duckdb_tables()"))


def applied(db: Path) -> list[str]:
    return [v for (v,) in query(db, "SELECT version FROM schema_migrations ORDER BY version")]


def three(root: Path) -> None:
    migration(root, V1, "create_a",
              "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR);\n"
              "INSERT INTO a VALUES (1, 'one');\n",
              "DROP TABLE a;\n")
    migration(root, V2, "create_b",
              "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id));\n"
              "CREATE INDEX b_a ON b(a_id);\n",
              "DROP INDEX b_a;\nDROP TABLE b;\n", layout="dir")
    migration(root, V3, "create_c",
              "CREATE TABLE c (x VARCHAR);\nINSERT INTO c VALUES ('it''s; tricky');\n"
              "CREATE SEQUENCE c_seq;\nSELECT $$a;b$$ AS body;\n",
              "DROP SEQUENCE c_seq;\nDROP TABLE c;\n")


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    three(tmp_path)
    return tmp_path


@pytest.fixture
def migrated(proj: Path) -> Path:
    r = run(proj, "up")
    assert r.code == 0, r
    migration(proj, "20260104000000", "create_d", "CREATE TABLE d (x INTEGER);\n",
              "DROP TABLE d;\n")
    return proj


# -- lifecycle ----------------------------------------------------------------------


def test_up_status_down_redo_verify(proj: Path) -> None:
    db = proj / "app.db"
    r = run(proj, "status")
    assert r.code == 0 and r.out.count("pending") == 3, r
    assert not db.exists()  # reading never creates the database
    r = run(proj, "up")
    assert r.code == 0, r
    assert "applied 3 migrations" in r.err + r.out
    assert tables(db) == ["a", "b", "c", "schema_migrations"]
    assert query(db, "SELECT x FROM c") == [("it's; tricky",)]
    assert applied(db) == [V1, V2, V3]
    r = run(proj, "status")
    assert r.code == 0 and r.out.count("applied") == 3, r
    assert run(proj, "verify").code == 0
    r = run(proj, "down")
    assert r.code == 0, r
    assert applied(db) == [V1, V2]
    assert "c" not in tables(db)
    r = run(proj, "redo")
    assert r.code == 0, r
    assert applied(db) == [V1, V2]
    r = run(proj, "down", "--all")
    assert r.code == 0, r
    assert tables(db) == ["schema_migrations"]
    assert applied(db) == []


def test_json_documents(proj: Path) -> None:
    r = run(proj, "--json", "up")
    assert r.code == 0, r
    doc = r.json()
    assert [m["version"] for m in doc["applied"]] == [V1, V2, V3]
    r = run(proj, "--json", "status")
    states = [(m["version"], m["state"]) for m in r.json()["migrations"]]
    assert states == [(V1, "applied"), (V2, "applied"), (V3, "applied")]
    r = run(proj, "--json", "verify")
    assert r.code == 0, r


def test_failing_file_is_rolled_back_with_file_line_statement_and_message(proj: Path) -> None:
    assert run(proj, "up").code == 0
    migration(proj, "20260104000000", "bad",
              "CREATE TABLE half (x INTEGER);\nINSERT INTO half VALUES (1);\n"
              "SELECT nope\n  FROM half;\n")
    db = proj / "app.db"
    r = run(proj, "up")
    assert r.code == 1, r
    no_traceback(r)
    assert "migration 20260104000000_bad failed and was rolled back" in r.err
    assert "migrations/20260104000000_bad.up.sql:3:8" in r.err  # line:column of 'nope'
    assert "statement: 3 of 3" in r.err
    assert "BinderException" in r.err and '"nope"' in r.err
    assert "half" not in tables(db)  # DuckDB's DDL is transactional: all of it undone
    assert applied(db) == [V1, V2, V3]
    r = run(proj, "--json", "up")
    error = r.json()["error"]
    assert error["statement"] == 3 and error["line"] == 3
    assert error["code"] == "BinderException" and error["rolled_back"] is True
    assert "half" not in tables(db)


def test_constraint_violation_rolls_back_earlier_ddl(proj: Path) -> None:
    migration(proj, "20260104000000", "dupe",
              "CREATE TABLE e (id INTEGER PRIMARY KEY);\nCREATE INDEX e_id ON e(id);\n"
              "INSERT INTO e VALUES (1), (1);\n")
    r = run(proj, "up")
    assert r.code == 1, r
    assert "ConstraintException" in r.err and "statement: 3 of 3" in r.err
    db = proj / "app.db"
    assert applied(db) == [V1, V2, V3]
    assert "e" not in tables(db)
    assert query(db, "SELECT count(*) FROM duckdb_indexes() WHERE index_name = 'e_id'") == [(0,)]


def test_no_transaction_file_keeps_what_ran(proj: Path) -> None:
    migration(proj, "20260104000000", "loose",
              "-- migrator: no-transaction\nCREATE TABLE kept (x INTEGER);\n"
              "INSERT INTO kept VALUES (1);\nSELECT broken FROM kept;\n")
    r = run(proj, "up")
    assert r.code == 1, r
    assert "failed part-way" in r.err and "statements 1-2 of 3 ran and stay" in r.err
    db = proj / "app.db"
    assert query(db, "SELECT x FROM kept") == [(1,)]
    assert "20260104000000" not in applied(db)


def test_no_transaction_file_may_hold_its_own_transactions(proj: Path) -> None:
    migration(proj, "20260104000000", "own_tx",
              "-- migrator: no-transaction\nBEGIN;\nCREATE TABLE own (x INTEGER);\nCOMMIT;\n"
              "START TRANSACTION;\nINSERT INTO own VALUES (1);\nABORT;\n")
    assert run(proj, "up").code == 0
    db = proj / "app.db"
    assert query(db, "SELECT count(*) FROM own") == [(0,)]
    migration(proj, "20260105000000", "open_tx",
              "-- migrator: no-transaction\nBEGIN;\nINSERT INTO own VALUES (2);\n")
    r = run(proj, "up")
    assert r.code == 1, r
    assert "the file left a transaction open" in r.err
    assert query(db, "SELECT count(*) FROM own") == [(0,)]
    assert "20260105000000" not in applied(db)


def test_error_column_counts_characters_not_bytes(proj: Path) -> None:
    migration(proj, "20260104000000", "accents",
              "CREATE TABLE café (naïve VARCHAR);\nSELECT 'é', 'ü', missing FROM café;\n")
    r = run(proj, "up")
    assert r.code == 1, r
    assert "20260104000000_accents.up.sql:2:18" in r.err, r.err


def test_single_transaction_rolls_back_every_file(proj: Path) -> None:
    migration(proj, "20260104000000", "bad", "CREATE TABLE e (x INTEGER);\nSELECT nope;\n")
    r = run(proj, "up", "--single-transaction")
    assert r.code == 1, r
    assert "all 4 pending migrations were rolled back together" in r.err
    db = proj / "app.db"
    assert tables(db) == ["schema_migrations"]
    assert applied(db) == []


def test_dry_run_script_runs_on_duckdb(proj: Path) -> None:
    r = run(proj, "up", "--dry-run")
    assert r.code == 0, r
    assert not (proj / "app.db").exists()
    conn = duckdb.connect(str(proj / "by-hand.db"))
    from migrator.backends.duckdb.split import split

    for stmt in split(r.out):
        conn.execute(stmt.sql)
    conn.close()
    db = proj / "by-hand.db"
    assert applied(db) == [V1, V2, V3]
    assert query(db, "SELECT count(*) FROM schema_migrations WHERE applied_at LIKE '20%Z'") \
        == [(3,)]
    r = cli(proj, "-u", "duckdb:///by-hand.db", "verify")
    assert r.code == 0, r


def test_foreign_keys_off_is_refused(proj: Path) -> None:
    migration(proj, "20260104000000", "fk",
              "-- migrator: foreign-keys-off\nCREATE TABLE f (x INTEGER);\n")
    r = run(proj, "up")
    assert r.code == 2, r
    no_traceback(r)
    assert "DuckDB cannot turn foreign-key checks off" in r.err
    assert "f" not in tables(proj / "app.db")
    assert applied(proj / "app.db") == [V1, V2, V3]



def test_rehearse_reports_the_bytes_copied_file_and_wal(migrated: Path) -> None:
    db = migrated / "app.db"
    r = run(migrated, "--json", "rehearse")
    assert r.code == 0, r
    doc = r.json()
    assert doc["ok"] is True and doc["pending"] == ["20260104000000_create_d"]
    assert doc["size_bytes"] == db.stat().st_size > 0
    assert not (migrated / "app.db.wal").exists()
    # a process that dies with a transaction committed only to the WAL leaves it beside
    # the file; a read-only open keeps it there, and the copy takes both
    subprocess.run([sys.executable, "-c",
                    "import duckdb, os\n"
                    "c = duckdb.connect('app.db')\n"
                    "c.execute(\"INSERT INTO c SELECT 'row ' || range FROM range(2000)\")\n"
                    "os._exit(0)"], cwd=migrated, env=clean_env(), check=True, timeout=60)
    wal = migrated / "app.db.wal"
    assert wal.stat().st_size > 0
    sizes = db.stat().st_size + wal.stat().st_size
    migration(migrated, "20260105000000", "count_c",
              "CREATE TABLE c_count AS SELECT count(*) AS n FROM c;\n"
              "SELECT CASE WHEN n = 2001 THEN 1 ELSE error('lost the WAL') END FROM c_count;\n")
    r = run(migrated, "rehearse", "--json")
    assert r.code == 0, r
    assert r.json()["size_bytes"] == sizes
    assert f"({sizes:,} bytes, copied in" in r.err
    assert db.stat().st_size + wal.stat().st_size == sizes  # the source was only read


# -- drift and bad input ------------------------------------------------------------


def test_modified_file_is_drift(migrated: Path) -> None:
    up = migrated / "migrations" / f"{V1}_create_a.up.sql"
    up.write_text(up.read_text() + "-- edited\n")
    r = run(migrated, "up")
    assert r.code == 3, r
    assert "d" not in tables(migrated / "app.db")
    assert run(migrated, "verify").code == 3


def test_foreign_bookkeeping_table_is_refused(proj: Path) -> None:
    conn = duckdb.connect(str(proj / "app.db"))
    conn.execute("CREATE TABLE schema_migrations (version BIGINT, dirty BOOLEAN)")
    conn.close()
    r = run(proj, "up")
    assert r.code == 3, r
    assert "golang-migrate" in r.err
    assert tables(proj / "app.db") == ["schema_migrations"]


@pytest.mark.parametrize(("url", "says"), [
    ("duckdb://host/app.db", "has a host part"),
    ("duckdb:///app.db?threads=2", "query parameters"),
    ("duckdb:///", "names no file"),
    ("duckdb:///missing/app.db", "does not exist"),
])
def test_bad_urls_exit_2(proj: Path, url: str, says: str) -> None:
    r = cli(proj, "-u", url, "up")
    assert r.code == 2, r
    no_traceback(r)
    assert says in r.err


def test_a_file_that_is_not_duckdb_exits_2(proj: Path) -> None:
    (proj / "app.db").write_bytes(b"SQLite format 3\x00" + bytes(4096))
    for command in ("status", "up"):
        r = run(proj, command)
        assert r.code == 2, r
        no_traceback(r)
        assert "cannot open database app.db" in r.err


def test_unterminated_quote_stops_before_anything_runs(proj: Path) -> None:
    migration(proj, "20260104000000", "open", "CREATE TABLE g (x INTEGER);\nSELECT 'oops;\n")
    r = run(proj, "up")
    assert r.code == 2, r
    assert "20260104000000_open.up.sql:2: unterminated string literal" in r.err
    assert not (proj / "app.db").exists()


def test_status_and_help_do_not_import_duckdb(tmp_path: Path) -> None:
    code = ("import sys; from migrator.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('duckdb' in sys.modules)")
    for args in (["--help"], ["-u", "sqlite:///x.db", "status"]):
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path,
                              env=clean_env(), capture_output=True, text=True, timeout=60)
        assert proc.stdout.strip().endswith("False"), proc


# -- the lock -----------------------------------------------------------------------

# A migrator mid-run: stops as statement POINT of VERSION starts, says so and waits.
PAUSE = """
import sys
from migrator import Migrator, Progress
class Pause(Progress):
    def statement_started(self, migration, statement, total):
        if migration.version == sys.argv[2] and statement.index == int(sys.argv[3]):
            print("paused", flush=True)
            sys.stdin.readline()
Migrator(sys.argv[1], "migrations", progress=Pause()).up()
print("done", flush=True)
"""


@pytest.fixture
def paused(migrated: Path) -> Iterator[subprocess.Popen[str]]:
    """A real migrator holding app.db, stopped in the middle of 20260104000000."""
    migration(migrated, "20260105000000", "create_e",
              "CREATE TABLE e (x INTEGER);\nINSERT INTO e VALUES (1);\n", "DROP TABLE e;\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSE, URL, "20260105000000", "2"], cwd=migrated,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env())
    assert proc.stdout is not None and proc.stdout.readline() == "paused\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_second_run_exits_4_naming_the_holder(migrated: Path,
                                              paused: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    r = run(migrated, "up")
    assert r.code == 4, r
    no_traceback(r)
    assert f"pid {paused.pid}" in r.err and "--lock-timeout" in r.err
    # the file is held: even reading waits (5 s at least), then says who holds it
    r = run(migrated, "status")
    assert r.code == 4, r
    assert f"pid {paused.pid}" in r.err and "even to read" in r.err
    r = run(migrated, "--json", "up")
    assert r.code == 4, r
    assert r.json()["error"]["kind"] == "locked"
    assert f"pid {paused.pid}" in r.json()["error"]["message"]
    assert time.monotonic() - started < 60
    assert paused.stdin is not None
    paused.stdin.write("\n")
    paused.stdin.close()
    assert paused.stdout is not None and paused.stdout.read() == "done\n"
    assert paused.wait(timeout=30) == 0
    assert applied(migrated / "app.db")[-2:] == ["20260104000000", "20260105000000"]


def test_waiting_run_goes_on_when_the_holder_finishes(migrated: Path,
                                                      paused: subprocess.Popen[str]) -> None:
    migration(migrated, "20260106000000", "create_f", "CREATE TABLE f (x INTEGER);\n")
    waiter = subprocess.Popen(
        [sys.executable, "-m", "migrator", "-u", URL, "--lock-timeout", "60", "up"],
        cwd=migrated, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        time.sleep(1.0)
        assert waiter.poll() is None  # still waiting for the file
        assert paused.stdin is not None
        paused.stdin.write("\n")
        paused.stdin.close()
        _, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, err
    assert applied(migrated / "app.db")[-1] == "20260106000000"


def test_kill_9_mid_run_leaves_a_boundary_and_no_lock(migrated: Path,
                                                      paused: subprocess.Popen[str]) -> None:
    os.kill(paused.pid, signal.SIGKILL)
    paused.wait(timeout=30)
    db = migrated / "app.db"
    # 20260104000000 committed before the kill; 20260105000000 had run 1 of 2 statements
    assert applied(db)[-1] == "20260104000000"
    assert "e" not in tables(db)
    r = run(migrated, "up")  # no stale lock: the next run goes at once
    assert r.code == 0, r
    assert query(db, "SELECT x FROM e") == [(1,)]


def test_unlock_refuses_a_live_lock_and_clears_a_dead_one(
        migrated: Path, paused: subprocess.Popen[str]) -> None:
    r = run(migrated, "unlock")
    assert r.code == 4, r
    assert f"pid {paused.pid}" in r.err
    os.kill(paused.pid, signal.SIGKILL)
    paused.wait(timeout=30)
    r = run(migrated, "unlock")
    assert r.code == 0, r
    assert "none is ever left behind" in r.out + r.err


@pytest.mark.parametrize("point", ["1", "2", "3", "4", "commit"])
def test_kill_9_at_every_statement_boundary(proj: Path, point: str) -> None:
    db = proj / "app.db"
    assert run(proj, "up", "--to", V2).code == 0
    proc = subprocess.run(
        [sys.executable, str(DRIVERS / "kill_at.py"), URL, "migrations", V3, point],
        cwd=proj, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc
    assert applied(db) == [V1, V2]
    assert "c" not in tables(db)
    assert query(db, "SELECT count(*) FROM duckdb_sequences()") == [(0,)]
    r = run(proj, "up")
    assert r.code == 0, r
    assert applied(db) == [V1, V2, V3]
    assert query(db, "SELECT x FROM c") == [("it's; tricky",)]


def test_threads_of_one_process_wait_for_each_other(proj: Path) -> None:
    """One process shares DuckDB's database instance: its runs and reads queue too."""
    import threading

    from migrator import Migration, Migrator, Progress, Statement

    started, release = threading.Event(), threading.Event()

    class Hold(Progress):
        def statement_started(self, migration: Migration, statement: Statement,
                              total: int) -> None:
            if migration.version == V3:
                started.set()
                release.wait(30)

    url = f"duckdb:///{proj / 'app.db'}"
    errors: list[BaseException] = []

    def first() -> None:
        try:
            Migrator(url, proj / "migrations", progress=Hold()).up()
        except BaseException as exc:
            errors.append(exc)

    runner = threading.Thread(target=first)
    runner.start()
    try:
        assert started.wait(30)
        threading.Timer(1.0, release.set).start()
        entries = Migrator(url, proj / "migrations").status()  # waits for the run to end
        second = Migrator(url, proj / "migrations", lock_timeout=30).up()
    finally:
        release.set()
        runner.join(30)
    assert not errors
    assert [e.state for e in entries] == ["applied"] * 3
    assert second.steps == []


def test_a_full_disk_at_commit_is_reported_and_nothing_applied(proj: Path) -> None:
    """DuckDB writes big transactions at COMMIT; a file size limit fails it there."""
    import resource

    assert run(proj, "up").code == 0
    migration(proj, "20260104000000", "big",
              "CREATE TABLE big (x VARCHAR);\n"
              "INSERT INTO big SELECT repeat('x', 1000) || range FROM range(200000);\n")
    db = proj / "app.db"
    limit = db.stat().st_size + 1_000_000

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([sys.executable, "-m", "migrator", "-u", URL, "up"], cwd=proj,
                          env=clean_env(), capture_output=True, text=True, timeout=120,
                          preexec_fn=small_files)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr
    assert "migration 20260104000000_big failed and was rolled back" in proc.stderr
    assert "the COMMIT failed after all 2 statements ran" in proc.stderr
    assert "free disk space" in proc.stderr
    assert applied(db) == [V1, V2, V3]
    assert "big" not in tables(db)
    r = run(proj, "up")
    assert r.code == 0, r
    assert query(db, "SELECT count(*) FROM big") == [(200000,)]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_a_long_statement_and_rolls_back(proj: Path, signum: int,
                                                        code: int) -> None:
    """Python would run the handler only after the statement; DuckDB is interrupted."""
    migration(proj, "20260104000000", "long",
              "CREATE TABLE early (x INTEGER);\n"
              "SELECT sum(range) FROM range(1000000000000);\n")  # hours of work
    assert run(proj, "up", "--to", V3).code == 0
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "-u", URL, "up"], cwd=proj,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lock = proj / "app.db.migrator-lock"
        deadline = time.monotonic() + 30
        while f"pid {proc.pid}" not in (lock.read_text() if lock.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the long statement
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "interrupted by" in err
    db = proj / "app.db"
    assert applied(db) == [V1, V2, V3]
    assert "early" not in tables(db)


def test_use_and_set_schema_do_not_move_the_bookkeeping(proj: Path) -> None:
    migration(proj, "20260104000000", "elsewhere",
              "CREATE SCHEMA s;\nSET schema = 's';\nCREATE TABLE y (a INTEGER);\n")
    migration(proj, "20260105000000", "other_file",
              "-- migrator: no-transaction\nATTACH 'other.db' AS o;\nUSE o;\n"
              "CREATE TABLE x (a INTEGER);\n")
    r = run(proj, "up")
    assert r.code == 0, r
    db = proj / "app.db"
    assert applied(db)[-2:] == ["20260104000000", "20260105000000"]
    assert query(db, "SELECT schema_name FROM duckdb_tables() WHERE table_name = 'y'") \
        == [("s",)]
    assert tables(proj / "other.db") == ["x"]


def test_a_transactional_file_writing_another_database_is_refused_cleanly(proj: Path) -> None:
    assert run(proj, "up").code == 0
    migration(proj, "20260104000000", "two_dbs",
              "ATTACH 'other.db' AS o;\nUSE o;\nCREATE TABLE x (a INTEGER);\n")
    r = run(proj, "up")
    assert r.code == 1, r
    no_traceback(r)
    assert "one transaction write to one database only" in r.err
    assert "no-transaction" in r.err
    assert applied(proj / "app.db") == [V1, V2, V3]
    assert tables(proj / "other.db") == []


def test_without_the_driver_the_extra_is_named(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['duckdb'] = None\n"  # as if it were not installed
            "from migrator.cli import main\n"
            "sys.exit(main(['-u', 'duckdb:///x.db', 'status']))")
    (tmp_path / "migrations").mkdir()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    assert "pip install 'migrator[duckdb]'" in proc.stderr
