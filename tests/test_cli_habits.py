"""What users hit first (issue 14, CLI side), run as a user runs it: a real subprocess.

``status --exit-code`` says why it did not exit 0; dbmate's habits (``migrate``,
``rollback``, a ``.env`` file, ``up --wait``); every command's ``--help``
teaches with examples and its exit codes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clihelp import VERSIONS, applied, clean_env, cli, no_traceback, run, tables, three, write

COMMANDS = ["new", "hash", "rebase", "up", "migrate", "down", "rollback", "redo", "status",
            "verify", "baseline", "unlock", "repair", "wait", "check", "test", "rehearse", "dump",
            "adopt", "convert", "squash", "check-order", "completion"]


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    three(tmp_path)
    return tmp_path


# -- status --exit-code says why ------------------------------------------------------


def test_status_exit_code_names_pending_migrations_on_stderr(proj: Path) -> None:
    r = run(proj, "status", "--exit-code")
    assert (r.code, r.err) == (1, "3 pending migrations: run 'migrator up'\n"), r
    assert run(proj, "up", "--to", VERSIONS[1]).code == 0
    r = run(proj, "status", "--exit-code")
    assert (r.code, r.err) == (1, "1 pending migration: run 'migrator up'\n"), r


def test_status_exit_code_is_silent_when_up_to_date(proj: Path) -> None:
    assert run(proj, "up").code == 0
    r = run(proj, "status", "--exit-code")
    assert (r.code, r.err) == (0, ""), r
    assert r.out.count(" applied ") == 3


def test_status_exit_code_names_drift_on_stderr(proj: Path) -> None:
    assert run(proj, "up").code == 0
    first = proj / "migrations" / f"{VERSIONS[0]}_create_a.up.sql"
    first.write_text(first.read_text() + "-- edited\n")
    (proj / "migrations" / f"{VERSIONS[2]}_create_c.up.sql").unlink()
    (proj / "migrations" / f"{VERSIONS[2]}_create_c.down.sql").unlink()
    r = run(proj, "status", "--exit-code")
    assert (r.code, r.err) == (3, "drift: 1 modified, 1 missing (see above)\n"), r
    r = run(proj, "status", "--exit-code", "--json")
    assert (r.code, r.err) == (3, "drift: 1 modified, 1 missing (see the JSON)\n"), r
    assert [m["state"] for m in r.json()["migrations"]] == ["modified", "applied", "missing"]


def test_status_exit_code_reason_survives_quiet_and_a_makefile(proj: Path) -> None:
    """``make`` shows only "Error 1" unless the command itself says why."""
    write(proj / "Makefile", "db-check:\n\tmigrator -q -u sqlite:///app.db status --exit-code "
                             ">/dev/null\n")
    bindir = Path(sys.executable).parent
    env = clean_env(PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    if not (bindir / "migrator").exists():
        pytest.skip("the migrator console script is not installed next to this Python")
    proc = subprocess.run(["make", "-s", "db-check"], cwd=proj, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "3 pending migrations: run 'migrator up'" in proc.stderr, proc.stderr


# -- dbmate's names -------------------------------------------------------------------


def test_migrate_and_rollback_are_up_and_down(proj: Path) -> None:
    r = run(proj, "migrate", "--to", VERSIONS[1])
    assert r.code == 0, r
    assert "applied 2 migrations in" in r.err
    assert applied(proj / "app.db") == VERSIONS[:2]
    r = run(proj, "rollback", "--json")
    assert r.code == 0, r
    assert [m["version"] for m in r.json()["rolled_back"]] == [VERSIONS[1]]
    assert applied(proj / "app.db") == VERSIONS[:1]
    r = run(proj, "migrate", "--dry-run")
    assert r.code == 0 and "-- migrator up --dry-run" in r.out, r


@pytest.mark.parametrize(("alias", "command"), [("migrate", "up"), ("rollback", "down")])
def test_aliases_share_the_help_and_usage_errors(tmp_path: Path, alias: str,
                                                 command: str) -> None:
    a, c = cli(tmp_path, alias, "--help"), cli(tmp_path, command, "--help")
    assert a.code == c.code == 0
    assert a.out == c.out
    r = cli(tmp_path, "--json", alias, "--bogus")
    assert r.code == 2
    assert r.json() == {"error": {"kind": "usage", "message": "unrecognized arguments: --bogus"}}


# -- .env -----------------------------------------------------------------------------


def test_dotenv_in_the_working_directory_sets_the_url(proj: Path) -> None:
    write(proj / ".env", "# settings for this checkout\nexport DATABASE_URL=sqlite:///fromenv.db\n")
    r = cli(proj, "up")
    assert r.code == 0, r
    assert applied(proj / "fromenv.db") == VERSIONS


def test_environment_wins_over_dotenv(proj: Path) -> None:
    write(proj / ".env", "DATABASE_URL=sqlite:///fromenv.db\nMIGRATIONS_TABLE=env_table\n")
    r = cli(proj, "up", env=clean_env(DATABASE_URL="sqlite:///real.db"))
    assert r.code == 0, r
    assert not (proj / "fromenv.db").exists()
    assert applied(proj / "real.db", table="env_table") == VERSIONS  # the rest still counts


def test_flag_wins_over_dotenv(proj: Path) -> None:
    write(proj / ".env", "DATABASE_URL=sqlite:///fromenv.db\n")
    assert cli(proj, "-u", "sqlite:///flag.db", "up").code == 0
    assert tables(proj / "flag.db") == ["a", "b", "c", "schema_migrations"]
    assert not (proj / "fromenv.db").exists()


def test_env_file_option_and_no_env_file(proj: Path) -> None:
    write(proj / ".env", "DATABASE_URL=sqlite:///default.db\n")
    write(proj / "deploy" / "prod.env", 'DATABASE_URL="sqlite:///prod.db"  # the copy\n')
    assert cli(proj, "--env-file", "deploy/prod.env", "up").code == 0
    assert applied(proj / "prod.db") == VERSIONS
    assert not (proj / "default.db").exists()
    r = cli(proj, "status", "--no-env-file")
    assert r.code == 2, r
    assert "no database URL: pass --url, set DATABASE_URL" in r.err


def test_named_env_file_must_exist(proj: Path) -> None:
    r = cli(proj, "--json", "--env-file", "missing.env", "status")
    assert r.code == 2, r
    assert r.json()["error"] == {"kind": "config",
                                 "message": "env file missing.env not found (--env-file)"}
    assert "error: env file missing.env not found (--env-file)" in r.err


def test_bad_dotenv_line_names_file_and_line_but_not_the_secret(proj: Path) -> None:
    write(proj / ".env", "DATABASE_URL=sqlite:///app.db\n\npostgres://u:hunter2@db/x\n")
    r = cli(proj, "status")
    assert r.code == 2, r
    assert ".env:3: expected NAME=value" in r.err
    assert "hunter2" not in r.err + r.out
    no_traceback(r)


def test_dotenv_can_set_no_color(proj: Path) -> None:
    """Read before any output is set up, so every variable in it counts."""
    write(proj / ".env", "NO_COLOR=1\nDATABASE_URL=sqlite:///app.db\n")
    r = cli(proj, "status")
    assert r.code == 0 and "\033[" not in r.out + r.err, r


# -- up --wait ------------------------------------------------------------------------


def test_up_wait_on_sqlite_is_immediate(proj: Path) -> None:
    r = run(proj, "up", "--wait", "--wait-timeout", "5")
    assert r.code == 0, r
    assert r.err.splitlines()[0].startswith("database is ready (waited 0.")
    assert applied(proj / "app.db") == VERSIONS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_up_wait_gives_up_after_the_timeout(proj: Path) -> None:
    url = f"postgres://postgres@127.0.0.1:{_free_port()}/test"
    started = time.monotonic()
    r = cli(proj, "-u", url, "--json", "up", "--wait", "--wait-timeout", "1")
    waited = time.monotonic() - started
    assert r.code == 2, r
    assert r.json()["error"]["kind"] == "unavailable"
    assert "still unreachable after" in r.err
    assert waited >= 1.0
    no_traceback(r)


PG_URL = os.environ.get("MIGRATOR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres() -> Iterator[tuple[str, str]]:
    """``host:port`` of a PostgreSQL server and a fresh schema, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_URL.replace("postgres://", "postgresql://", 1),
                               autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"LOUD SKIP: no PostgreSQL server answers at {PG_URL}: {exc}")
    schema = f"cli_wait_{os.getpid()}"
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.execute(f'CREATE SCHEMA "{schema}"')
    info = conn.info
    try:
        yield f"{info.host}:{info.port}", schema
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def _forward(listener: socket.socket, target: tuple[str, int]) -> None:
    """Accept connections and pipe each to ``target``: a server that starts late."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(target)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def test_up_wait_waits_for_a_server_that_starts_late(
    tmp_path: Path, postgres: tuple[str, str]
) -> None:
    hostport, schema = postgres
    host, port = hostport.rsplit(":", 1)
    write(tmp_path / "migrations" / "1_t.up.sql", "CREATE TABLE t (id integer);\n")
    late = _free_port()
    path = PG_URL.rsplit("/", 1)[1].split("?", 1)[0]
    url = f"postgres://postgres@127.0.0.1:{late}/{path}?options=-csearch_path%3D{schema}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", "-u", url,
         "--migrations-table", f"{schema}.schema_migrations", "up", "--wait",
         "--wait-timeout", "30"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    time.sleep(1.5)
    assert proc.poll() is None, proc.communicate()  # still waiting: nothing listens yet
    listener = socket.create_server(("127.0.0.1", late))
    threading.Thread(target=_forward, args=(listener, (host, int(port))), daemon=True).start()
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        listener.close()
    assert proc.returncode == 0, err
    assert err.startswith("database is ready (waited "), err
    assert float(err.split("waited ", 1)[1].split("s)", 1)[0]) >= 1.0
    assert "applied 1 migration in" in err


# -- help that teaches ----------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_examples_and_exit_codes(tmp_path: Path, command: str) -> None:
    r = cli(tmp_path, command, "--help")
    assert r.code == 0, r
    epilog = r.out.split("\nexamples:\n", 1)[1]
    examples, codes = epilog.split("\n\nexit codes:\n", 1)
    assert examples.splitlines() and all(
        line.startswith("  ") and "migrator" in line for line in examples.splitlines())
    listed = [line.split()[0] for line in codes.splitlines()]
    assert "0" in listed and "2" in listed, codes
    assert listed == sorted(listed)
    assert max(map(len, r.out.splitlines())) <= 100


def test_top_level_help_points_to_command_help_and_completion(tmp_path: Path) -> None:
    r = cli(tmp_path, "--help")
    assert r.code == 0, r
    text = " ".join(r.out.split())
    assert "'migrator COMMAND --help' shows examples and that command's exit codes" in text
    assert "'migrator completion bash' prints shell completion" in text
    for command in COMMANDS:
        assert command in r.out


def test_json_usage_error_is_still_one_document(tmp_path: Path) -> None:
    r = cli(tmp_path, "--json", "up", "--wait-timeout", "soon")
    assert r.code == 2, r
    assert r.json() == {"error": {"kind": "usage",
                                  "message": "argument --wait-timeout: invalid float value: "
                                             "'soon'"}}
    assert json.loads(r.out) == r.json()
