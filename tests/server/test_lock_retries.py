"""``up --lock-retries N --file-lock-timeout S`` on a busy server, with real CLI
subprocesses: a second session holds a lock on the migrated table; the file
times out, is rolled back and retried, and each wait names the holder. The
same for ``down`` and ``redo``, and the policy from MIGRATOR_LOCK_RETRIES /
MIGRATOR_FILE_LOCK_TIMEOUT or migrator.toml (a flag wins, then the environment)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from clihelp import Result, clean_env, cli, start
from serverkit import Server, connect, run_cli, start_cli, with_query

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]
FILE = "ALTER TABLE busy ADD COLUMN note TEXT;\n"


def released_on_first_wait(proc: subprocess.Popen[str], release: Callable[[], object]) -> Result:
    """The started CLI's result; ``release`` runs once it reports its first lock timeout.

    Released on what the run says, not after a fixed time: on a loaded machine the
    process may not even have reached its first lock wait after a second or two.
    """
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        released = False
        for line in proc.stderr:
            lines.append(line)
            if not released and "lock timeout on attempt" in line:
                released = True
                release()
        if not released:
            release()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.wait(timeout=120)
    finally:
        proc.kill()
        reader.join()
    return Result(proc.returncode, out, "".join(lines))


@pytest.fixture
def busy(pg: Server, make_migrations: MakeMigrations) -> Iterator[tuple[Any, Path, int]]:
    """``busy`` applied, then held ACCESS EXCLUSIVE by an open transaction (and its pid)."""
    d = make_migrations({"1_busy.up.sql": "CREATE TABLE busy (id INTEGER);\n"})
    assert run_cli(pg.url, d, "up").code == 0
    make_migrations({"2_note.up.sql": FILE})
    holder = connect("postgres", pg.admin_url)
    pid = int(holder.execute("SELECT pg_backend_pid()").fetchone()[0])
    holder.execute("BEGIN")
    holder.execute(f"LOCK TABLE {pg.ref('busy')} IN ACCESS EXCLUSIVE MODE")
    try:
        yield holder, d, pid
    finally:
        holder.close()


def test_waits_names_the_blocker_and_succeeds_once_it_lets_go(
    pg: Server, busy: tuple[Any, Path, int]
) -> None:
    holder, d, pid = busy
    r = released_on_first_wait(
        start_cli(pg.url, d, "--json", "up", "--lock-retries", "3", "--file-lock-timeout", "0.5"),
        lambda: holder.execute("COMMIT"))
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert f"blocked by pid {pid} (postgres" in r.stderr
    assert "lock timeout on attempt 1 of 4" in r.stderr
    doc = r.json()
    assert [a["version"] for a in doc["applied"]] == ["2"]
    assert doc["retries"], doc
    first = doc["retries"][0]
    assert first["version"] == "2" and first["attempt"] == 1
    assert first["blockers"][0]["pid"] == pid
    assert first["blockers"][0]["user"] == "postgres"
    assert "LOCK TABLE" in first["blockers"][0]["query"]
    assert "note" in pg.columns("busy")
    assert pg.applied_versions() == ["1", "2"]


def test_gives_up_after_the_last_retry_naming_the_blocker(
    pg: Server, busy: tuple[Any, Path, int]
) -> None:
    holder, d, pid = busy
    r = run_cli(pg.url, d, "--json", "up", "--lock-retries", "2", "--file-lock-timeout", "0.3")
    assert r.code == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("lock timeout on attempt") == 2
    assert "failed and was rolled back" in r.stderr
    assert f"blocked by: pid {pid}" in r.stderr and "gave up after 3 attempts" in r.stderr
    error = r.json()["error"]
    assert error["kind"] == "migration-failed" and error["code"] == "55P03"
    assert error["attempts"] == 3
    assert [b["pid"] for b in error["blockers"]] == [pid]
    assert [w["attempt"] for w in error["retries"]] == [1, 2]
    holder.execute("ROLLBACK")
    assert "note" not in pg.columns("busy")
    assert pg.applied_versions() == ["1"]


def test_no_retries_fails_at_the_first_timeout(pg: Server, busy: tuple[Any, Path, int]) -> None:
    _, d, pid = busy
    r = run_cli(pg.url, d, "up", "--lock-retries", "0", "--file-lock-timeout", "0.3")
    assert r.code == 1, r.stderr
    assert "lock timeout on attempt" not in r.stderr
    assert "55P03" in r.stderr and f"blocked by: pid {pid}" in r.stderr
    assert pg.applied_versions() == ["1"]


def test_each_file_runs_under_the_file_lock_timeout(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    seen = "CREATE TABLE {} AS SELECT current_setting('lock_timeout') AS v;\n"
    d = make_migrations({"1_a.up.sql": seen.format("a"), "2_b.up.sql": seen.format("b")})
    r = run_cli(with_query(pg.url, "lock_timeout=7s"), d, "--json", "up",
                "--file-lock-timeout", "0.5")
    assert r.code == 0, r.stderr
    assert r.json()["retries"] == []
    assert pg.query(f"SELECT v FROM {pg.ref('a')} UNION ALL SELECT v FROM {pg.ref('b')}") \
        == [("500ms",), ("500ms",)]


@pytest.mark.parametrize("value", ["-1", "x"])
def test_bad_retry_counts_are_usage_errors(
    pg: Server, make_migrations: MakeMigrations, value: str
) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"})
    r = run_cli(pg.url, d, "up", "--lock-retries", value)
    assert r.code == 2 and "Traceback" not in r.stderr
    r = run_cli(pg.url, d, "up", "--file-lock-timeout", value)
    assert r.code == 2 and "Traceback" not in r.stderr


# -- MySQL/MariaDB: metadata locks (DDL) and InnoDB row locks (DML), error 1205 --------
# MariaDB without the metadata_lock_info plugin names every session with an open
# transaction as a metadata-lock blocker: on a shared server, other tests' sessions
# too, so these tests ask that the holder is among the named, not that it is alone.

MY_CASES = {  # what the holder runs in its open transaction, and the file that waits
    "metadata-lock": ("SELECT * FROM {t}", FILE),
    "row-lock": ("UPDATE {t} SET id = 2", "UPDATE busy SET id = 3;\n"),
}


def _my_holder(my: Server, sql: str) -> tuple[Any, int]:
    holder = connect("mysql", my.admin_url)
    with holder.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        pid = int(cur.fetchone()[0])
        cur.execute("START TRANSACTION")
        cur.execute(sql.format(t=my.ref("busy")))
        cur.fetchall()
    return holder, pid


def _my_busy(my: Server, make_migrations: MakeMigrations, file: str) -> Path:
    d = make_migrations({"1_busy.up.sql": "CREATE TABLE busy (id INTEGER);\n"
                                          "INSERT INTO busy VALUES (1);\n"})
    assert run_cli(my.url, d, "up").code == 0
    make_migrations({"2_note.up.sql": file})
    return d


@pytest.mark.parametrize("case", MY_CASES)
def test_mysql_waits_names_the_blocker_and_succeeds_once_it_lets_go(
    my: Server, make_migrations: MakeMigrations, case: str
) -> None:
    held, file = MY_CASES[case]
    d = _my_busy(my, make_migrations, file)
    holder, pid = _my_holder(my, held)
    try:
        r = released_on_first_wait(
            start_cli(my.url, d, "--json", "up", "--lock-retries", "3",
                      "--file-lock-timeout", "0.5"), holder.commit)
    finally:
        holder.close()
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "blocked by pid " in r.stderr and f"pid {pid} (" in r.stderr
    doc = r.json()
    assert [a["version"] for a in doc["applied"]] == ["2"]
    assert doc["retries"][0]["attempt"] == 1
    assert pid in [b["pid"] for b in doc["retries"][0]["blockers"]]
    assert my.applied_versions() == ["1", "2"]
    status = run_cli(my.url, d, "status")
    assert status.code == 0 and "unfinished" not in status.stdout


@pytest.mark.parametrize("case", MY_CASES)
def test_mysql_gives_up_after_the_last_retry_and_leaves_no_journal_entry(
    my: Server, make_migrations: MakeMigrations, case: str
) -> None:
    held, file = MY_CASES[case]
    d = _my_busy(my, make_migrations, file)
    holder, pid = _my_holder(my, held)
    try:
        r = run_cli(my.url, d, "--json", "up", "--lock-retries", "1",
                    "--file-lock-timeout", "0.5")
    finally:
        holder.rollback()
        holder.close()
    assert r.code == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "blocked by: pid " in r.stderr and f"pid {pid} (" in r.stderr
    assert "gave up after 2 attempts" in r.stderr
    error = r.json()["error"]
    assert error["code"].startswith("1205") and error["rolled_back"] is True
    assert pid in [b["pid"] for b in error["blockers"]]
    assert my.applied_versions() == ["1"]
    # nothing of the file committed, so nothing waits for 'repair': the next run applies it
    assert run_cli(my.url, d, "up").code == 0
    assert my.applied_versions() == ["1", "2"]


def test_mysql_file_whose_ddl_committed_is_not_retried(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = _my_busy(my, make_migrations, "CREATE TABLE other (id INTEGER);\n" + FILE)
    holder, pid = _my_holder(my, MY_CASES["metadata-lock"][0])
    try:
        r = run_cli(my.url, d, "up", "--lock-retries", "3", "--file-lock-timeout", "0.5")
    finally:
        holder.rollback()
        holder.close()
    assert r.code == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "lock timeout on attempt" not in r.stderr
    assert "not retried: statements of this file were already committed" in r.stderr
    assert "blocked by: pid " in r.stderr and f"pid {pid} (" in r.stderr
    assert "other" in my.tables()


def test_no_transaction_files_are_not_retried(pg: Server, busy: tuple[Any, Path, int]) -> None:
    _, d, pid = busy
    (d / "2_note.up.sql").write_text("-- migrator: no-transaction\n" + FILE)
    r = run_cli(pg.url, d, "up", "--lock-retries", "3", "--file-lock-timeout", "0.3")
    assert r.code == 1, r.stderr
    assert "lock timeout on attempt" not in r.stderr
    assert f"blocked by: pid {pid}" in r.stderr
    assert "not retried: a no-transaction file is not rolled back as a whole" in r.stderr


def test_single_transaction_refuses_the_retry_flags(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"})
    r = run_cli(pg.url, d, "up", "--single-transaction", "--lock-retries", "2")
    assert r.code == 2, r.stderr
    assert "do not apply to --single-transaction" in r.stderr and "Traceback" not in r.stderr
    assert "a" not in pg.tables()


def test_a_signal_during_the_retries_exits_as_usual(
    pg: Server, busy: tuple[Any, Path, int]
) -> None:
    _, d, _ = busy
    proc = start_cli(pg.url, d, "--json", "up", "--lock-retries", "9",
                     "--file-lock-timeout", "0.3")
    try:
        time.sleep(1.2)  # in a wait or a pause between attempts: either must end the same way
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert json.loads(stdout)["error"]["kind"] == "interrupted"
    assert pg.applied_versions() == ["1"]


# -- the policy from the environment or migrator.toml; down and redo -------------------

DOWN = "ALTER TABLE busy DROP COLUMN note;\n"


def _run(server: Server, d: Path, *args: str, **env: str) -> Result:
    """The CLI in the migrations' parent directory (where migrator.toml is read)."""
    return cli(d.parent, "-u", server.url, "-d", str(d), *args, env=clean_env(**env))


def _released(release: Callable[[], object], server: Server, d: Path, *args: str,
              **env: str) -> Result:
    """``_run``'s CLI, with the holder letting go once the run reports its first wait."""
    return released_on_first_wait(
        start(d.parent, "-u", server.url, "-d", str(d), *args, env=clean_env(**env)), release)


def test_config_file_gives_the_retry_policy(pg: Server, busy: tuple[Any, Path, int]) -> None:
    holder, d, pid = busy
    (d.parent / "migrator.toml").write_text("lock_retries = 3\nfile_lock_timeout = 0.5\n")
    r = _released(lambda: holder.execute("COMMIT"), pg, d, "--json", "up")
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "lock timeout on attempt 1 of 4" in r.stderr and f"blocked by pid {pid}" in r.stderr
    assert r.json()["retries"][0]["version"] == "2"
    assert pg.applied_versions() == ["1", "2"]


def test_flag_beats_environment_beats_config(pg: Server, busy: tuple[Any, Path, int]) -> None:
    _, d, pid = busy
    (d.parent / "migrator.toml").write_text("lock_retries = 5\nfile_lock_timeout = 0.3\n")
    r = _run(pg, d, "up", MIGRATOR_LOCK_RETRIES="1")
    assert r.code == 1, r.stderr
    assert r.stderr.count("lock timeout on attempt") == 1
    assert "attempt 1 of 2" in r.stderr and "gave up after 2 attempts" in r.stderr
    r = _run(pg, d, "up", "--lock-retries", "0", MIGRATOR_LOCK_RETRIES="1")
    assert r.code == 1, r.stderr
    assert "lock timeout on attempt" not in r.stderr
    assert f"blocked by: pid {pid}" in r.stderr and "pass --lock-retries N" in r.stderr
    r = _run(pg, d, "up", MIGRATOR_FILE_LOCK_TIMEOUT="nope")
    assert r.code == 2 and "Traceback" not in r.stderr
    assert "file_lock_timeout must be a number of seconds" in r.stderr
    assert "$MIGRATOR_FILE_LOCK_TIMEOUT" in r.stderr
    assert pg.applied_versions() == ["1"]


def test_config_policy_does_not_refuse_single_transaction(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"})
    (d.parent / "migrator.toml").write_text("lock_retries = 2\n")
    r = _run(pg, d, "up", "--single-transaction")
    assert r.code == 0, r.stderr
    assert pg.applied_versions() == ["1"]


@pytest.fixture
def busy_applied(pg: Server, busy: tuple[Any, Path, int]) -> tuple[Any, Path, int]:
    """``busy`` with migration 2 (and its down file) applied before the holder locks it."""
    holder, d, pid = busy
    holder.execute("ROLLBACK")
    (d / "2_note.down.sql").write_text(DOWN)
    assert run_cli(pg.url, d, "up").code == 0
    holder.execute("BEGIN")
    holder.execute(f"LOCK TABLE {pg.ref('busy')} IN ACCESS EXCLUSIVE MODE")
    return holder, d, pid


def test_down_retries_the_file_and_names_the_blocker(
    pg: Server, busy_applied: tuple[Any, Path, int]
) -> None:
    holder, d, pid = busy_applied
    r = _released(lambda: holder.execute("COMMIT"), pg, d, "--json", "down",
                  "--lock-retries", "3", "--file-lock-timeout", "0.5")
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "2_note: lock timeout on attempt 1 of 4" in r.stderr
    doc = r.json()
    assert [a["version"] for a in doc["rolled_back"]] == ["2"]
    assert doc["retries"][0]["blockers"][0]["pid"] == pid
    assert "note" not in pg.columns("busy")
    assert pg.applied_versions() == ["1"]


def test_down_gives_up_and_keeps_the_migration(
    pg: Server, busy_applied: tuple[Any, Path, int]
) -> None:
    holder, d, pid = busy_applied
    r = _run(pg, d, "--json", "down", MIGRATOR_LOCK_RETRIES="1",
             MIGRATOR_FILE_LOCK_TIMEOUT="0.3")
    assert r.code == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert f"blocked by: pid {pid}" in r.stderr and "gave up after 2 attempts" in r.stderr
    error = r.json()["error"]
    assert error["code"] == "55P03" and error["attempts"] == 2
    holder.execute("ROLLBACK")
    assert "note" in pg.columns("busy")
    assert pg.applied_versions() == ["1", "2"]


def test_redo_retries_its_files(pg: Server, busy_applied: tuple[Any, Path, int]) -> None:
    holder, d, _ = busy_applied
    r = _released(lambda: holder.execute("COMMIT"), pg, d, "--json", "redo",
                  "--lock-retries", "3", "--file-lock-timeout", "0.5")
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    doc = r.json()
    assert [a["version"] for a in doc["rolled_back"]] == ["2"]
    assert [a["version"] for a in doc["applied"]] == ["2"]
    assert doc["retries"] and doc["retries"][0]["version"] == "2"
    assert "note" in pg.columns("busy")
    assert pg.applied_versions() == ["1", "2"]


MY_DOWN = {"metadata-lock": DOWN, "row-lock": "UPDATE busy SET id = 1;\n"}


@pytest.mark.parametrize("case", MY_CASES)
def test_mysql_down_retries_with_the_policy_from_the_environment(
    my: Server, make_migrations: MakeMigrations, case: str
) -> None:
    held, file = MY_CASES[case]
    d = _my_busy(my, make_migrations, file)
    (d / "2_note.down.sql").write_text(MY_DOWN[case])
    assert run_cli(my.url, d, "up").code == 0
    holder, pid = _my_holder(my, held)
    try:
        r = _released(holder.commit, my, d, "--json", "down", MIGRATOR_LOCK_RETRIES="3",
                      MIGRATOR_FILE_LOCK_TIMEOUT="0.5")
    finally:
        holder.close()
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "blocked by pid " in r.stderr and f"pid {pid} (" in r.stderr
    doc = r.json()
    assert [a["version"] for a in doc["rolled_back"]] == ["2"]
    assert pid in [b["pid"] for b in doc["retries"][0]["blockers"]]
    assert my.applied_versions() == ["1"]


def test_mysql_config_file_gives_the_retry_policy(
    my: Server, make_migrations: MakeMigrations
) -> None:
    held, file = MY_CASES["row-lock"]
    d = _my_busy(my, make_migrations, file)
    (d.parent / "migrator.toml").write_text("lock_retries = 3\nfile_lock_timeout = 0.5\n")
    holder, pid = _my_holder(my, held)
    try:
        r = _released(holder.commit, my, d, "--json", "up")
    finally:
        holder.close()
    assert r.code == 0, r.stderr
    assert "lock timeout on attempt 1 of 4" in r.stderr and f"blocked by pid {pid} (" in r.stderr
    assert r.json()["retries"][0]["attempt"] == 1
    assert my.applied_versions() == ["1", "2"]
