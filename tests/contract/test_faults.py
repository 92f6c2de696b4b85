"""The fault sweep: every writing command x every backend x every fault we can cause.

Faults: the server not started (nothing listens on the port, no socket file;
for SQLite/DuckDB files the directory that should hold the database is
missing), the server restarted while the command runs (a private PostgreSQL or
MariaDB of this session's own, never the shared ones), the command's
connection dropped from another session (``pg_terminate_backend``, ``KILL
CONNECTION``), a full disk where the database is local (RLIMIT_FSIZE on the
CLI process), and a bad URL. Each cell checks the documented exit code, that
no traceback is shown, that the database is at a migration boundary, and that
running the command again completes.

A cell that cannot apply is skipped saying why (``why_not``); the README's
"Faults" table under "Safety guarantees" summarises the outcomes.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from clihelp import Result, clean_env, cli_args, finish, write

from contract.backends import Backend, Db, ServerDb, with_query
from contract.dbs import MysqlDb, PostgresDb, connect
from contract.kit import migrator, no_traceback, start_migrator
from contract.servers import PrivateMariadb, PrivatePostgres, PrivateServer, free_port

COMMANDS = ("up", "down", "redo", "baseline", "unlock", "repair", "squash", "adopt", "load",
            "create", "drop")
FAULTS = ("not-started", "restarted", "dropped", "disk-full", "bad-url")
LOCAL = ("sqlite", "duckdb")

ARGS = {
    "up": ("up",), "down": ("down",), "redo": ("redo",), "baseline": ("baseline", "2"),
    "unlock": ("unlock",), "repair": ("repair", "2", "--applied"),
    "squash": ("squash", "--to", "2", "--history-only"), "adopt": ("adopt", "--from", "goose"),
    "load": ("load", "dump.sql"), "create": ("create",), "drop": ("drop", "--force"),
}
# The applied versions each command starts from, and the ones it leaves when done.
BEFORE_AFTER = {
    "up": (["1"], ["1", "2"]), "down": (["1", "2"], ["1"]), "redo": (["1", "2"], ["1", "2"]),
    "baseline": (["1"], ["1", "2"]), "repair": (["1"], ["1", "2"]),
    "squash": (["1", "2"], ["2"]), "adopt": ([], ["1", "2"]), "load": ([], []),
}
# The migration boundaries a struck command may leave: before or after its work, and
# for redo also between its down and its up.
BOUNDARIES = {c: list(ba) for c, ba in BEFORE_AFTER.items()}
BOUNDARIES["redo"].append(["1"])
# Commands whose files run: a long statement in one is where the fault strikes.
RUN_FILES = ("up", "down", "redo", "load")
# Commands that only record: the fault strikes while they wait for the run lock.
RECORD_ONLY = ("baseline", "repair", "squash", "adopt")
# The JSON error kind of a struck command: a file's failure, else 'database'.
FAILED_KIND = {"up": "migration-failed", "down": "migration-failed",
               "redo": "migration-failed", "load": "load-failed"}
# The database's words for a connection that went away under a command.
LOST_WORDS = ("lost the connection", "terminating connection", "server closed the connection",
              "Lost connection", "gone away", "57P01", "57P02", "57P03", "08006")


def why_not(backend: str, command: str, fault: str) -> str | None:
    """Why a cell of the matrix cannot apply, or None."""
    local = backend in LOCAL
    if fault in ("restarted", "dropped"):
        if local:
            return (f"{backend} has no server to restart or session to end: the analogue, the "
                    "process killed mid-file, is tests/contract/test_kill.py")
        if command in ("unlock", "create", "drop"):
            return (f"{command} runs one short statement and waits for nothing: there is no "
                    "moment to strike; not-started and bad-url cover its connection")
    if fault == "disk-full":
        if not local:
            return ("the server writes its own files: RLIMIT_FSIZE on migrator limits only "
                    "the client")
        if command in ("unlock", "drop") or (command, backend) == ("create", "sqlite"):
            return (f"{command} writes no data here (an empty SQLite file, or deletes): "
                    "nothing grows to fill a disk")
    return None


CELLS = [pytest.param(c, f, id=f"{c}-{f}") for f in FAULTS for c in COMMANDS]


@pytest.fixture(scope="session")
def private_servers() -> Iterator[Callable[[str], PrivateServer]]:
    """A private server of each kind, started on first use and stopped at the end."""
    started: dict[str, PrivateServer] = {}
    failed: dict[str, str] = {}

    def get(kind: str) -> PrivateServer:
        if kind in failed:
            pytest.skip(failed[kind])
        if kind not in started:
            try:
                server: PrivateServer = PrivatePostgres() if kind == "postgres" \
                    else PrivateMariadb()
            except (FileNotFoundError, RuntimeError, OSError, subprocess.SubprocessError) as e:
                failed[kind] = f"no private {kind} server to restart here: {e}"
                pytest.skip(failed[kind])
            started[kind] = server  # closed at the end, even if it never started
            server.start()
        return started[kind]

    yield get
    for server in started.values():
        server.close()


@pytest.mark.parametrize(("command", "fault"), CELLS)
def test_fault(backend: Backend, command: str, fault: str, tmp_path: Path,
               request: pytest.FixtureRequest) -> None:
    reason = why_not(backend.name, command, fault)
    if reason:
        pytest.skip(reason)
    if fault == "restarted":
        server = request.getfixturevalue("private_servers")(backend.name)
        with private_db(server) as db:
            mid_run(backend, db, tmp_path, command, lambda proc: _restart(server, db))
        return
    db = request.getfixturevalue("db")
    if fault == "not-started":
        not_started(backend, db, tmp_path, command)
    elif fault == "bad-url":
        bad_url(backend, db, tmp_path, command)
    elif fault == "dropped":
        mid_run(backend, db, tmp_path, command, lambda proc: _terminate(backend, db, proc))
    else:
        disk_full(backend, db, tmp_path, command)


# -- the project each command works on ----------------------------------------------------

SLOW_SECONDS = 60  # never waited for: the fault ends it within a second or two


def files(root: Path) -> Path:
    """1_a and 2_b, reversible (tables a and b); the migrations directory."""
    d = root / "migrations"
    write(d / "1_a.up.sql", "CREATE TABLE a (id INTEGER);\n")
    write(d / "1_a.down.sql", "DROP TABLE a;\n")
    write(d / "2_b.up.sql", "CREATE TABLE b (id INTEGER);\n")
    write(d / "2_b.down.sql", "DROP TABLE b;\n")
    return d


def prepare(db: Db, root: Path, command: str, slow: str = "", *, apply: bool = True) -> Path:
    """The project and database state ``command`` starts from (BEFORE_AFTER); with
    ``slow``, the statement the command's file (or dump) is busy with when struck.
    Without ``apply``, only the files: a command that cannot connect changes nothing."""
    d = files(root)
    write(root / "dump.sql", "CREATE TABLE a (id INTEGER);\n" + slow
          + "CREATE TABLE b (id INTEGER);\n")
    before = BEFORE_AFTER.get(command, (["1"], ["1"]))[0] if apply else []
    # The setup runs in this process, through the library: the CLI runs are the
    # command under test and its rerun (a process costs a tenth of a second here).
    from migrator import Migrator

    if command == "adopt" and apply:  # goose applied both; migrator knows nothing yet
        prep = root / "prep"
        write(prep / "1_goose.up.sql",
              "CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n"
              "CREATE TABLE goose_db_version (id INTEGER, version_id BIGINT, "
              "is_applied BOOLEAN);\n"
              "INSERT INTO goose_db_version VALUES (1, 0, TRUE), (2, 1, TRUE), (3, 2, TRUE);\n")
        Migrator(db.url, prep, table="prep_migrations").up()
    elif before:
        Migrator(db.url, d).up(to=before[-1])
    elif command == "load" and apply and isinstance(db, ServerDb):
        from migrator.backends import admin, dialect_of_url

        admin(dialect_of_url(db.url)).create(db.url)  # dbmate's order: create, then load
    if command == "squash":  # the files squashed after the database applied them
        write(d / "2_squashed.up.sql", "-- squash of migrations 1_a, 2_b; the originals are "
              "in squashed/\nCREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n")
        (d / "squashed").mkdir()
        for name in ("1_a.up.sql", "1_a.down.sql", "2_b.up.sql", "2_b.down.sql"):
            (d / name).rename(d / "squashed" / name)
    if slow:  # after the setup ran the quick version
        if command in ("up", "redo"):
            write(d / "2_b.up.sql", slow + "CREATE TABLE b (id INTEGER);\n")
        elif command == "down":
            write(d / "2_b.down.sql", slow + "DROP TABLE b;\n")
    assert db.applied_versions() == before
    return d


def ok(result: Result) -> Result:
    assert result.code == 0, result
    return result


def user_tables(db: Db) -> set[str]:
    return {t for t in db.tables() if t in ("a", "b")}


def at_boundary(db: Db, command: str, atomic: bool) -> list[str]:
    """The applied versions, asserting they are a boundary the command may leave, and
    (where DDL is atomic) that the tables are exactly those the versions made."""
    applied = db.applied_versions()
    assert applied in BOUNDARIES[command], (command, applied)
    if atomic and command in ("up", "down", "redo"):
        made = {{"1": "a", "2": "b"}[v] for v in applied}
        assert user_tables(db) == made, (applied, db.tables())
    if atomic and command == "load":
        assert user_tables(db) == set(), db.tables()  # one transaction: nothing loaded
    return applied


# A struck session may take a moment to end on the server (its lock with it): a rerun
# waits that long, and a lock that stayed held would still fail it (exit 4).
RERUN_WAIT = ("--lock-timeout", "10")


def rerun_completes(backend: Backend, db: Db, d: Path, command: str) -> None:
    """Running again finishes the job (after 'repair' where MySQL's journal asks for it)."""
    quick = files(d.parent) if command != "squash" else d
    if command == "load":
        if user_tables(db):  # MySQL kept the statements before the lost one
            for t in sorted(user_tables(db)):
                db.query(f"DROP TABLE {db.ref(t)}")
        write(d.parent / "dump.sql", "CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n")
        ok(migrator(db, quick, *RERUN_WAIT, "load", "dump.sql"))
        assert user_tables(db) == {"a", "b"}
        return
    if not backend.atomic_ddl and command in RUN_FILES:
        status = migrator(db, quick, "status")
        if "unfinished" in status.stdout:  # the journal kept the file that was running
            direction_done = "--applied" if command == "down" else "--rolled-back"
            ok(migrator(db, quick, *RERUN_WAIT, "repair", "2", direction_done))
    again = ("up",) if command == "redo" else ARGS[command]
    ok(migrator(db, quick, *RERUN_WAIT, *again))
    assert db.applied_versions() == BEFORE_AFTER[command][1]


# -- server not started (the local analogue: the database's directory is missing) ---------


def not_started(backend: Backend, db: Db, tmp_path: Path, command: str) -> None:
    d = prepare(db, tmp_path, command, apply=False)
    before = db.snapshot()
    if backend.name in LOCAL:
        missing = tmp_path / "missing"
        ext = "db" if backend.name == "sqlite" else "duckdb"
        r = migrator_at(f"{backend.name}:///{missing}/app.{ext}", d, *ARGS[command])
        no_traceback(r)
        if command == "drop":  # documented: a database that does not exist is exit 0
            assert r.code == 0 and "does not exist" in r.stderr + r.stdout, r
        else:
            assert r.code == 2, r
            assert "missing" in r.stderr, r
        assert not missing.exists()
        return
    parts = urlsplit(db.url)
    user = parts.username or ("postgres" if backend.name == "postgres" else "root")
    port = free_port()  # bound, then released: nothing listens there now
    name = "/migrator_fault_nodb"  # should a server appear on that port, a name it lacks
    tcp = urlunsplit((parts.scheme, f"{user}@127.0.0.1:{port}", name, "", ""))
    if backend.name == "postgres":
        sock = f"postgres://{user}@{name}?host={tmp_path / 'nosock'}"
    else:
        sock = f"mysql://{user}@localhost{name}?unix_socket={tmp_path / 'no.sock'}"
    words = ("Connection refused", "No such file or directory")
    started = time.monotonic()
    urls = [with_query(tcp, "connect_timeout=3"), with_query(sock, "connect_timeout=3")]
    for url, r in at_once(rotated(urls, command, 1), d, *ARGS[command], "--json", timeout=60):
        no_traceback(r)
        assert r.code == 2, (url, r)
        assert "cannot connect" in r.stderr and any(w in r.stderr for w in words), (url, r)
        assert r.json()["error"]["kind"] in ("unavailable", "config"), (url, r)
    assert time.monotonic() - started < 30, "the connect timeout was not honoured"
    assert db.snapshot() == before


def test_a_server_that_accepts_and_never_answers_is_exit_2_within_connect_timeout(
    backend: Backend, tmp_path: Path
) -> None:
    """A hung server (or a forwarded port with nothing behind it): connect_timeout holds."""
    if backend.name in LOCAL:
        pytest.skip(f"{backend.name} has no server to hang")
    import socket

    d = files(tmp_path)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        user = "postgres" if backend.name == "postgres" else "root"
        url = f"{backend.name}://{user}@127.0.0.1:{port}/db?connect_timeout=2"
        started = time.monotonic()
        procs = [start_migrator_at(url, d, *ARGS[command]) for command in ("up", "create")]
        runs = [finish(proc, timeout=60) for proc in procs]
        for r in runs:
            no_traceback(r)
            assert r.code == 2, r
            assert "cannot connect" in r.stderr, r
        assert time.monotonic() - started < 40, runs


def migrator_at(url: str, d: Path, *args: str, timeout: float = 120) -> Result:
    return at_once([url], d, *args, timeout=timeout)[0][1]


def rotated(cases: list[str], command: str, count: int) -> list[str]:
    """``count`` of ``cases`` for ``command``, taken in turn along COMMANDS so that every
    case meets several commands; create and drop, which parse URLs in code of their own
    (the dialect's admin module), get every case."""
    if command in ("create", "drop"):
        return cases
    first = COMMANDS.index(command)
    return [cases[(first + k) % len(cases)] for k in range(min(count, len(cases)))]


def start_migrator_at(url: str, d: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(cli_args("-u", url, "-d", d.name, *args), cwd=d.parent,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)


def at_once(urls: list[str], d: Path, *args: str,
            timeout: float = 120) -> list[tuple[str, Result]]:
    """The same command on each URL, the processes run side by side (each one's result)."""
    procs = [(url, start_migrator_at(url, d, *args)) for url in urls]
    return [(url, finish(proc, timeout=timeout)) for url, proc in procs]


# -- a bad URL ------------------------------------------------------------------------------


def bad_urls(backend: Backend, db: Db, tmp_path: Path) -> list[str]:
    """Malformed URLs, an unknown and a bad documented parameter, all naming ``db``
    (the unknown scheme: ``test_an_unknown_scheme_is_exit_2_for_every_command``)."""
    urls = []
    if backend.name in LOCAL:
        ext = "db" if backend.name == "sqlite" else "duckdb"
        urls += [f"{backend.name}://somehost/{tmp_path}/app.{ext}",
                 f"{backend.name}:///{tmp_path}/app.{ext}?no_such_parameter=1"]
        return urls
    parts = urlsplit(db.url)
    host = parts.hostname or "127.0.0.1"
    malformed = urlunsplit((parts.scheme, f"{parts.username}@{host}:notaport", parts.path,
                            parts.query, ""))
    urls += [malformed, urlunsplit((parts.scheme, f"{parts.username}@[{host}", parts.path,
                                    parts.query, "")),
             with_query(db.url, "no_such_parameter=1")]
    if backend.name == "postgres":
        urls.append(with_query(db.url, "lock_timeout=xyz"))
    else:
        urls.append(with_query(db.url, "connect_timeout=soon"))
    return urls


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_scheme_is_exit_2_for_every_command(command: str, tmp_path: Path) -> None:
    """Whichever backend was meant: no dialect claims the scheme, nothing is written."""
    d = files(tmp_path)
    write(tmp_path / "dump.sql", "SELECT 1;\n")
    listing = sorted(p.name for p in tmp_path.iterdir())
    urls = rotated(["nosuch://host/db", "://nothing", "postgres//missing-colon"], command, 1)
    for url, r in at_once(urls, d, *ARGS[command]):
        no_traceback(r)
        assert r.code == 2, (url, r)
        assert r.stderr.startswith("error:"), (url, r)
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def bad_url(backend: Backend, db: Db, tmp_path: Path, command: str) -> None:
    d = prepare(db, tmp_path, command, apply=False)
    before, listing = db.snapshot(), sorted(p.name for p in tmp_path.iterdir())
    urls = rotated(bad_urls(backend, db, tmp_path), command, 1 if backend.name in LOCAL else 2)
    for url, r in at_once(urls, d, *ARGS[command], "--json"):
        no_traceback(r)
        assert r.code == 2, (url, r)
        assert r.stderr.startswith("error:"), (url, r)
        assert r.json()["error"]["kind"] == "config", (url, r)
    assert db.snapshot() == before  # nothing written, nothing dropped
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no file created


# -- the server restarted, or the command's session ended, while it runs ------------------


@contextlib.contextmanager
def private_db(server: PrivateServer) -> Iterator[Db]:
    """A fresh schema (PostgreSQL) or database (MariaDB) on a private server."""
    name = f"mt_{uuid.uuid4().hex[:12]}"
    if server.kind == "postgres":
        admin = server.url("postgres")
        db: Db = PostgresDb(with_query(admin, f"search_path={name}"), kind="postgres",
                            namespace=name, admin_url=admin)
    else:
        conn = connect("mysql", server.url("mysql"))
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        conn.close()
        db = MysqlDb(server.url(name), kind="mysql", namespace=name, admin_url=server.url(name))
    try:
        yield db
    finally:
        _forget_connection(db)


def _forget_connection(db: Db) -> None:
    with contextlib.suppress(Exception):
        db.close()  # type: ignore[attr-defined]
    db._conn = None  # type: ignore[attr-defined]


def _restart(server: PrivateServer, db: Db) -> None:
    server.restart(hard=True)
    _forget_connection(db)  # it died with the server


def _terminate(backend: Backend, db: Db, proc: subprocess.Popen[str]) -> None:
    """End the command's own sessions, and only those, from a second connection."""
    if backend.name == "postgres":
        ended = db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name LIKE %s", (f"migrator % pid {proc.pid}",))
    else:
        ended = _mysql_busy(db)
        for row in ended:
            db.query(f"KILL CONNECTION {int(row[0])}")
    assert ended, "no session of the command to end"


def _mysql_busy(db: Db) -> list[tuple[Any, ...]]:
    """This test database's sessions running the slow statement or waiting for the lock."""
    return db.query("SELECT id FROM information_schema.processlist WHERE db = %s "
                    "AND id <> CONNECTION_ID() AND (info LIKE %s OR info LIKE %s)",
                    (db.namespace, "%SLEEP(%", "SELECT GET_LOCK%"))  # type: ignore[attr-defined]


def _struck_point(backend: Backend, db: Db, proc: subprocess.Popen[str], command: str) -> None:
    """Wait until the command is inside its long statement, or waiting for the lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, finish(proc)
        if backend.name == "postgres":  # this process's session, not another test's
            statement = "%pg_sleep%" if command in RUN_FILES else "SELECT pg_try_advisory_lock%"
            if db.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s "
                        "AND query LIKE %s", (f"migrator % pid {proc.pid}", statement)):
                return
        elif _mysql_busy(db):  # this test's database only
            return
        time.sleep(0.05)
    pytest.fail(f"{command} never reached the point to strike")


@contextlib.contextmanager
def lock_held(db: Db, d: Path) -> Iterator[None]:
    """Migrator's run lock on ``db``, held by this process (as a live run holds it)."""
    from migrator import Migrator

    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(Migrator(db.url, d)._backend(readonly=False))
        stack.enter_context(backend.run_lock(0))
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a restart took its connection
                stack.close()


def mid_run(backend: Backend, db: Db, tmp_path: Path, command: str,
            strike: Callable[[subprocess.Popen[str]], None]) -> None:
    slow = db.sleep_sql(SLOW_SECONDS) + "\n" if command in RUN_FILES else ""
    d = prepare(db, tmp_path, command, slow)
    with lock_held(db, d) if command in RECORD_ONLY else contextlib.nullcontext():
        args = ARGS[command] + ("--json",) + (
            ("--lock-timeout", "60") if command in RECORD_ONLY else ())
        proc = start_migrator(db, d, *args)
        _struck_point(backend, db, proc, command)
        strike(proc)
        r = finish(proc, timeout=60)
    no_traceback(r)
    assert r.code == 1, r
    assert any(w in r.stderr for w in LOST_WORDS), r
    error = r.json()["error"]  # and one JSON document on stdout
    assert error["kind"] == FAILED_KIND.get(command, "database"), error
    if error["kind"] == "database":
        assert error["lost"] is True, error
    if command in ("up", "down", "redo") and backend.atomic_ddl:
        assert "run 'migrator" in r.stderr and "not a fault of the file" in r.stderr, r
    at_boundary(db, command, backend.atomic_ddl)
    if not backend.atomic_ddl and command in ("up", "down", "redo"):
        status = migrator(db, d, "status")  # the journal shows the file that stopped
        assert status.code == 0 and "unfinished" in status.stdout, status
    rerun_completes(backend, db, d, command)


# -- a full disk (local databases): RLIMIT_FSIZE on the CLI --------------------------------


def grow_sql(backend: Backend) -> str:
    """About 4 MB of rows into table g: the file grows far past the limit."""
    if backend.name == "duckdb":
        return "INSERT INTO g SELECT range, repeat('x', 200) FROM range(20000);\n"
    return ("INSERT INTO g WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
            "WHERE i < 20000) SELECT i, printf('%.200c', 'x') FROM c;\n")


def limited(db: Db, d: Path, limit: int, *args: str) -> Result:
    """The CLI unable to write any file past ``limit`` bytes (SIGXFSZ ignored: EFBIG)."""
    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(cli_args("-u", db.url, "-d", d.name, *args), cwd=d.parent,
                          env=clean_env(), capture_output=True, text=True, timeout=120,
                          preexec_fn=cap, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def disk_full(backend: Backend, db: Db, tmp_path: Path, command: str) -> None:
    if command == "create":  # DuckDB writes its header: a file begun is not left behind
        d = prepare(db, tmp_path, command, apply=False)
        r = limited(db, d, 16, "create", "--json")
        no_traceback(r)
        assert r.code == 1 and r.json()["error"]["kind"] == "database", r
        assert "File too large" in r.stderr, r
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.sql", "migrations"]
        ok(migrator(db, d, "create"))
        ok(migrator(db, d, "up"))
        return
    d = prepare(db, tmp_path, command)
    grows = ""
    if command == "up":  # a data migration that grows the file past the limit
        grows = "CREATE TABLE g (i INTEGER, v VARCHAR(300));\n" + grow_sql(backend)
        write(d / "2_b.up.sql", "CREATE TABLE b (id INTEGER);\n" + grows)
        limit = db.path.stat().st_size + 64 * 1024  # type: ignore[attr-defined]
    else:  # the disk is full already: the first page written (or the WAL) fails
        limit = 1024 if backend.name == "sqlite" else 16
    before = db.snapshot()
    r = limited(db, d, limit, *ARGS[command], "--json")
    no_traceback(r)
    assert r.code == 1, r
    # a new DuckDB file cannot even be begun: 'database', before any statement of the dump
    kinds = {FAILED_KIND.get(command, "database")} | ({"database"} if command == "load" else set())
    assert r.json()["error"]["kind"] in kinds, r
    words = ("SQLITE_FULL", "SQLITE_IOERR") if backend.name == "sqlite" else (
        "File too large", "No space left")
    assert any(w in r.stderr for w in words), r
    if command == "load":  # into a new database: at most an empty file is left
        assert db.tables() == set(), db.tables()
    else:
        assert db.snapshot() == before  # the journal (or WAL) undid every byte of it
    assert not list(tmp_path.glob("*-journal")), "a hot journal was left behind"
    if grows:
        ok(migrator(db, d, "up"))
        assert db.applied_versions() == ["1", "2"] and "g" in db.tables()
        return
    rerun_completes(backend, db, d, command)


def test_a_connection_lost_during_commit_says_the_outcome_is_unknown(
    backend: Backend, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The COMMIT may have reached the server before the connection went: the report
    must not claim a rollback, and the rerun must not apply the file twice."""
    if backend.name != "postgres":
        pytest.skip("only PostgreSQL runs a statement of the file's at COMMIT for long "
                    "(a deferred constraint trigger) while another session can end it")
    db = request.getfixturevalue("db")
    d = files(tmp_path)
    from migrator import Migrator

    Migrator(db.url, d).up(to="1")
    write(d / "2_b.up.sql",
          "CREATE TABLE b (id INTEGER);\n"
          "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n"
          "BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;\n"
          "CREATE CONSTRAINT TRIGGER b_slow AFTER INSERT ON b DEFERRABLE INITIALLY DEFERRED\n"
          "  FOR EACH ROW EXECUTE FUNCTION slow_commit();\n"
          "INSERT INTO b VALUES (1);\n")
    proc = start_migrator(db, d, "up")
    deadline = time.monotonic() + 60
    pattern = f"migrator % pid {proc.pid}"
    while not db.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s "
                       "AND query = 'COMMIT' AND state = 'active'", (pattern,)):
        assert proc.poll() is None and time.monotonic() < deadline, finish(proc)
        time.sleep(0.05)
    _terminate(backend, db, proc)
    r = finish(proc, timeout=60)
    no_traceback(r)
    assert r.code == 1, r
    assert "lost during the COMMIT" in r.stderr and "'migrator status'" in r.stderr, r
    assert "were rolled back" not in r.stderr, r
    assert db.applied_versions() == ["1"] and "b" not in db.tables()  # here: not committed
    files(tmp_path)  # 2_b without the trigger
    ok(migrator(db, d, *RERUN_WAIT, "up"))
    assert db.applied_versions() == ["1", "2"]


@pytest.mark.parametrize("command", ["up", "baseline", "load", "drop"])
def test_a_disk_without_a_free_byte(backend: Backend, command: str, tmp_path: Path,
                                    request: pytest.FixtureRequest) -> None:
    """Not even the lock file's note of its holder can be written: the lock (a flock)
    holds all the same, a write fails with the database's words, and drop, which
    only deletes, still works."""
    if backend.name not in LOCAL:
        pytest.skip("the server writes its own files: RLIMIT_FSIZE limits only the client")
    db = request.getfixturevalue("db")
    d = prepare(db, tmp_path, command)
    before = db.snapshot()
    r = limited(db, d, 0, *ARGS[command], "--json")
    no_traceback(r)
    if command == "drop":
        assert r.code == 0, r
        assert not db.path.exists()
        return
    assert r.code == 1, r
    assert r.json()["error"]["kind"] in ("database", "migration-failed", "load-failed"), r
    if command == "load":
        assert db.tables() == set()
    else:
        assert db.snapshot() == before
    rerun_completes(backend, db, d, command)


def test_connect_timeout_does_not_bound_a_long_statement(
    backend: Backend, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The handshake is bounded by connect_timeout (above); a statement never is."""
    if backend.name not in ("mysql", "postgres"):
        pytest.skip(f"{backend.name} has no connect timeout")
    db = request.getfixturevalue("db")
    d = files(tmp_path)
    write(d / "2_b.up.sql", db.sleep_sql(3) + "\nCREATE TABLE b (id INTEGER);\n")
    url = with_query(db.url, "connect_timeout=2")  # libpq's minimum is 2 s
    ok(migrator_at(url, d, "up"))
    assert db.applied_versions() == ["1", "2"]
