"""MySQL/MariaDB: SIGINT/SIGTERM during a long statement stop it on the server
(KILL QUERY from a second connection), free GET_LOCK and exit 130/143 at once,
so the next run neither waits for the statement nor finds the lock held."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from serverkit import Server, run_cli, start_cli

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]

SLEEP = "INSERT INTO t SELECT SLEEP(60) + 5"


def _running(my: Server, text: str) -> list[tuple[object, ...]]:
    return my.query("SELECT id FROM information_schema.processlist "
                    "WHERE info LIKE %s AND id <> CONNECTION_ID()", (text + "%",))


def _wait_until_running(my: Server, text: str, proc: object) -> None:
    deadline = time.monotonic() + 30
    while not _running(my, text):
        assert time.monotonic() < deadline, "the statement never started"
        time.sleep(0.05)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_kills_the_statement_on_the_server(
    my: Server, make_migrations: MakeMigrations, signum: int, code: int
) -> None:
    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER) ENGINE=InnoDB;\n",
                         "2_slow.up.sql": f"INSERT INTO t VALUES (1);\n{SLEEP};\n"})
    proc = start_cli(my.url, d, "up", "--json")
    _wait_until_running(my, SLEEP, proc)
    sent = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert '"kind": "interrupted"' in stdout
    assert _running(my, SLEEP) == []  # not left running on the server
    assert my.query("SELECT IS_USED_LOCK(%s)", (f"migrator:{my.namespace}.schema_migrations",)) \
        == [(None,)]
    assert my.rows("t") == []  # the run was rolled back with its session
    assert my.query("SELECT * FROM schema_migrations_state") == []  # nothing to repair

    (d / "2_slow.up.sql").write_text("INSERT INTO t VALUES (1);\n")
    again = run_cli(my.url, d, "up")
    assert again.code == 0, again.stderr
    assert my.rows("t") == [(1,)]


def test_a_signal_during_ddl_leaves_the_journal_entry(
    my: Server, make_migrations: MakeMigrations
) -> None:
    slow = "CREATE TABLE s AS SELECT SLEEP(60) AS x"
    d = make_migrations({"1_slow.up.sql": f"{slow};\n"})
    proc = start_cli(my.url, d, "up")
    _wait_until_running(my, slow, proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 143, stderr
    assert _running(my, slow) == []
    after = run_cli(my.url, d, "up")  # not exit 4: the lock is free; the entry stops it
    assert after.code == 1
    assert "1_slow (up) was running (its process stopped) at statement 1 of 1" in after.stderr
