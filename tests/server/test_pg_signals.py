"""Signals and kill -9 during a long PostgreSQL statement, with a real subprocess:
the statement is cancelled on the server, the file rolled back, the lock freed."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from serverkit import Server, run_cli, start_cli

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]
SLOW = "SELECT pg_sleep(60);"


def wait_for_statement(pg: Server, pid: int, sql: str) -> None:
    """Until the server runs ``sql`` for the migrator process ``pid``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pg.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s "
                    "AND query = %s AND state = 'active'", (f"migrator % pid {pid}", sql)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{sql} never started")


def still_running(pg: Server, pid: int) -> bool:
    return bool(pg.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s",
                         (f"migrator % pid {pid}",)))


SLOW_COMMIT = """CREATE TABLE slow (id INTEGER);
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER slow_check AFTER INSERT ON slow DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION slow();
INSERT INTO slow VALUES (1);
"""
CASES = {  # the file, and the statement the server is running when the signal comes
    "transactional": (f"CREATE TABLE slow (id INTEGER);\n{SLOW}\n", SLOW),
    "no-transaction": (f"-- migrator: no-transaction\nCREATE TABLE slow (id INTEGER);\n"
                       f"{SLOW}\n", SLOW),
    "deferred-trigger-at-commit": (SLOW_COMMIT, "COMMIT"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_the_running_statement_on_the_server(
    pg: Server, make_migrations: MakeMigrations, signum: int, code: int, case: str
) -> None:
    text, running = CASES[case]
    d = make_migrations({"1_slow.up.sql": text})
    proc = start_cli(pg.url, d, "up")
    try:
        wait_for_statement(pg, proc.pid, running)
        sent = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert took < 2, f"exited {took:.1f}s after the signal"
    assert "Traceback" not in stderr and "interrupted by" in stderr
    # cancelled and closed at once: well before client_connection_check_interval's 1 s
    deadline = time.monotonic() + 0.5
    while still_running(pg, proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not still_running(pg, proc.pid), "the server still runs the statement"
    if case != "no-transaction":
        assert "slow" not in pg.tables()
    assert pg.applied_versions() == []
    make_migrations({"1_slow.up.sql": "CREATE TABLE IF NOT EXISTS slow (id INTEGER);\n"})
    assert run_cli(pg.url, d, "up", "--lock-timeout", "0").code == 0  # the lock is free


def test_after_kill_9_the_lock_is_free_within_seconds(
    pg: Server, make_migrations: MakeMigrations, tmp_path: Path
) -> None:
    d = make_migrations({"1_slow.up.sql": f"CREATE TABLE slow (id INTEGER);\n{SLOW}\n"})
    proc = start_cli(pg.url, d, "up")
    try:
        wait_for_statement(pg, proc.pid, SLOW)
    finally:
        proc.kill()
        proc.communicate()
    other = tmp_path / "other"
    other.mkdir()
    (other / "2_quick.up.sql").write_text("CREATE TABLE quick (id INTEGER);\n")
    started = time.monotonic()
    result = run_cli(pg.url, other, "up", "--lock-timeout", "30")
    waited = time.monotonic() - started
    assert result.code == 0, result.stderr
    # client_connection_check_interval (1s) ends the orphaned session; the statement
    # alone would hold the lock for the rest of its 60 seconds
    assert waited < 10, f"waited {waited:.1f}s for the lock"
    assert "slow" not in pg.tables()
