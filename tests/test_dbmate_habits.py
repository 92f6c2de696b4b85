"""dbmate's create, drop, load and schema_file on the embedded databases (SQLite, DuckDB).

Every test runs the real CLI in a subprocess on real files; the drop prompt
runs on a real pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from clihelp import VERSIONS, applied, clean_env, cli, migration, three, write

from migrator.lock import file_lock, lock_path_for

SQLITE_HEADER = b"SQLite format 3\x00"


def _is_db(kind: str, path: Path) -> bool:
    head = path.read_bytes()[:16]
    return head == SQLITE_HEADER if kind == "sqlite" else head[8:12] == b"DUCK"


KINDS = {"sqlite": ("sqlite:///app.db", ("-wal", "-shm", "-journal")),
         "duckdb": ("duckdb:///app.db", (".wal",))}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "duckdb":
        pytest.importorskip("duckdb")
    return str(request.param)


def _two(root: Path) -> None:
    """Tables with rows, an index and a view, in SQL both SQLite and DuckDB run."""
    migration(root, "20260101000000", "create_a",
              "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL DEFAULT 'x');\n"
              "INSERT INTO a VALUES (1, 'one'), (2, 'it''s; tricky');\n"
              "CREATE INDEX a_v ON a (v);\n",
              "DROP INDEX a_v;\nDROP TABLE a;\n")
    migration(root, "20260102000000", "view", "CREATE VIEW av AS SELECT id, v FROM a;\n",
              "DROP VIEW av;\n")


TWO = ["20260101000000", "20260102000000"]


# ---------------------------------------------------------------------------- create


def test_create_makes_an_empty_database_and_says_when_it_exists(tmp_path: Path,
                                                                   kind: str) -> None:
    url, _ = KINDS[kind]
    r = cli(tmp_path, "-u", url, "create")
    assert (r.code, r.out) == (0, f"created {'SQLite' if kind == 'sqlite' else 'DuckDB'} "
                                  "database app.db\n"), r
    assert _is_db(kind, tmp_path / "app.db")
    again = cli(tmp_path, "-u", url, "create")
    assert again.code == 0, again
    assert again.out.endswith("database app.db already exists\n"), again
    (tmp_path / "migrations").mkdir()
    assert cli(tmp_path, "-u", url, "status").code == 0


def test_create_needs_the_directory_and_leaves_other_files_alone(tmp_path: Path,
                                                                  kind: str) -> None:
    scheme = KINDS[kind][0].split(":")[0]
    r = cli(tmp_path, "-u", f"{scheme}:///missing/app.db", "create")
    assert r.code == 2, r
    assert "the directory missing does not exist" in r.err and "Traceback" not in r.err, r
    assert not (tmp_path / "missing").exists()
    notes = write(tmp_path / "notes.txt", "not a database\n")
    r = cli(tmp_path, "-u", f"{scheme}:///notes.txt", "create")
    assert r.code == 2 and "notes.txt is not a" in r.err, r
    assert notes.read_text() == "not a database\n"


def test_create_and_drop_refuse_an_in_memory_database(tmp_path: Path) -> None:
    for command in ("create", "drop"):
        r = cli(tmp_path, "-u", "sqlite:///:memory:", command, "--force"
                if command == "drop" else "--quiet")
        assert r.code == 2 and "in-memory" in r.err and "Traceback" not in r.err, r


def test_create_and_drop_speak_json(tmp_path: Path) -> None:
    r = cli(tmp_path, "--json", "-u", "sqlite:///app.db", "create")
    assert (r.code, r.json()) == (0, {"message": "created SQLite database app.db"}), r
    r = cli(tmp_path, "--json", "-u", "sqlite:///app.db", "drop", "--force")
    assert (r.code, r.json()) == (0, {"dropped": True,
                                      "message": "dropped SQLite database app.db"}), r


# ------------------------------------------------------------------------------ drop


def test_drop_force_removes_the_file_its_sidecars_and_the_lock_only(tmp_path: Path,
                                                                     kind: str) -> None:
    url, sidecars = KINDS[kind]
    _two(tmp_path)
    assert cli(tmp_path, "-u", url, "up").code == 0
    for suffix in sidecars:
        write(tmp_path / f"app.db{suffix}", b"")
    assert lock_path_for(tmp_path / "app.db").exists()
    keep = [write(tmp_path / name, b"x") for name in ("app.db.bak", "app.dbx", "other.db")]
    r = cli(tmp_path, "-u", url, "drop", "--force")
    assert r.code == 0, r
    assert r.out.startswith("dropped ") and "app.db" in r.out, r
    left = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert left == sorted(p.name for p in keep), left
    gone = cli(tmp_path, "-u", url, "drop", "--force")
    assert gone.code == 0 and gone.out.endswith("does not exist; nothing to drop\n"), gone


def test_drop_without_a_terminal_needs_force(tmp_path: Path, kind: str) -> None:
    url, _ = KINDS[kind]
    assert cli(tmp_path, "-u", url, "create").code == 0
    r = cli(tmp_path, "-u", url, "drop")  # stdin is /dev/null
    assert r.code == 2, r
    assert "stdin is not a terminal" in r.err and "--force" in r.err, r
    assert _is_db(kind, tmp_path / "app.db")


def test_drop_refuses_a_file_that_is_not_such_a_database(tmp_path: Path, kind: str) -> None:
    scheme = KINDS[kind][0].split(":")[0]
    source = write(tmp_path / "main.py", "print('keep me')\n")
    r = cli(tmp_path, "-u", f"{scheme}:///main.py", "drop", "--force")
    assert r.code == 2 and "main.py is not a" in r.err, r
    assert source.read_text() == "print('keep me')\n"
    (tmp_path / "dir.db").mkdir()
    r = cli(tmp_path, "-u", f"{scheme}:///dir.db", "drop", "--force")
    assert r.code == 2 and "not a regular file" in r.err, r
    assert (tmp_path / "dir.db").is_dir()


def test_drop_waits_for_no_run_a_held_lock_is_exit_4(tmp_path: Path) -> None:
    three(tmp_path)
    assert cli(tmp_path, "-u", "sqlite:///app.db", "up").code == 0
    with file_lock(lock_path_for(tmp_path / "app.db"), 0, "test"):
        r = cli(tmp_path, "-u", "sqlite:///app.db", "drop", "--force")
    assert r.code == 4 and "locked by another migrator" in r.err, r
    assert applied(tmp_path / "app.db") == VERSIONS


def _drop_on_terminal(tmp_path: Path, url: str, answer: bytes) -> tuple[int, str]:
    """``migrator drop`` with stdin and stderr on a pseudo-terminal; answers the prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "-u", url, "drop"],
                            cwd=tmp_path, env=clean_env(NO_COLOR="1"), stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        while b"[y/N] " not in seen:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, f"no prompt within 60 s: {seen!r}"
            seen += os.read(master, 4096)
        os.write(master, answer)
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, "no end within 60 s"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        assert proc.stdout is not None
        out = proc.stdout.read().decode()
        proc.stdout.close()
        code = proc.wait(timeout=60)
    return code, seen.decode() + out


def test_drop_asks_on_a_terminal_and_only_yes_drops(tmp_path: Path, kind: str) -> None:
    url, _ = KINDS[kind]
    assert cli(tmp_path, "-u", url, "create").code == 0
    size = (tmp_path / "app.db").stat().st_size
    what = f"{'SQLite' if kind == 'sqlite' else 'DuckDB'} database app.db ({size} bytes)"
    code, text = _drop_on_terminal(tmp_path, url, b"n\n")
    assert code == 1, text
    assert f"drop {what}? [y/N] " in text and "was not dropped" in text, text
    assert _is_db(kind, tmp_path / "app.db")
    code, text = _drop_on_terminal(tmp_path, url, b"\n")  # the default is no
    assert code == 1 and (tmp_path / "app.db").exists(), text
    code, text = _drop_on_terminal(tmp_path, url, b"y\n")
    assert code == 0, text
    assert "dropped" in text and not (tmp_path / "app.db").exists(), text


# ------------------------------------------------------------------------------ load


def test_load_rebuilds_the_dumped_database_byte_for_byte(tmp_path: Path, kind: str) -> None:
    url, _ = KINDS[kind]
    fresh = url.replace("app.db", "fresh.db")
    _two(tmp_path)
    assert cli(tmp_path, "-u", url, "up").code == 0
    assert cli(tmp_path, "-u", url, "dump", "-o", "schema.sql").code == 0
    original = (tmp_path / "schema.sql").read_bytes()
    assert cli(tmp_path, "-u", fresh, "create").code == 0
    r = cli(tmp_path, "-u", fresh, "load", "schema.sql")
    assert r.code == 0, r
    assert r.out.startswith(f"loaded schema.sql into {fresh} ("), r
    again = cli(tmp_path, "-u", fresh, "dump")
    assert again.code == 0 and again.out.encode() == original, again
    status = cli(tmp_path, "-u", fresh, "--json", "status").json()
    assert [m["version"] for m in status["migrations"] if m["state"] == "applied"] == \
        TWO, status
    up = cli(tmp_path, "-u", fresh, "up")
    assert up.code == 0 and "nothing to apply" in up.err, up


def test_load_refuses_a_database_that_is_not_empty(tmp_path: Path, kind: str) -> None:
    url, _ = KINDS[kind]
    _two(tmp_path)
    assert cli(tmp_path, "-u", url, "up").code == 0
    assert cli(tmp_path, "-u", url, "dump", "-o", "schema.sql").code == 0
    before = cli(tmp_path, "-u", url, "dump").out
    r = cli(tmp_path, "-u", url, "load", "schema.sql")
    assert r.code == 2 and "is not empty" in r.err, r
    assert cli(tmp_path, "-u", url, "dump").out == before


def test_a_failed_load_names_file_line_statement_and_loads_nothing(tmp_path: Path,
                                                                    kind: str) -> None:
    url, _ = KINDS[kind]
    write(tmp_path / "bad.sql", "CREATE TABLE a (id INTEGER);\n\nINSERT INTO nowhere VALUES (1);\n")
    r = cli(tmp_path, "-u", url, "load", "bad.sql")
    assert r.code == 1, r
    assert "bad.sql:3: statement 2 failed:" in r.err and "nowhere" in r.err, r
    assert "nothing was loaded" in r.err and "Traceback" not in r.err, r
    assert cli(tmp_path, "-u", url, "dump", "-o", "after.sql").code == 0
    assert "CREATE TABLE" not in (tmp_path / "after.sql").read_text().split("-- applied")[0]


def test_load_reports_unreadable_and_empty_files_with_exit_2(tmp_path: Path) -> None:
    r = cli(tmp_path, "-u", "sqlite:///app.db", "load", "missing.sql")
    assert r.code == 2 and "cannot read missing.sql" in r.err, r
    write(tmp_path / "empty.sql", "-- nothing\n")
    r = cli(tmp_path, "-u", "sqlite:///app.db", "load", "empty.sql")
    assert r.code == 2 and "holds no SQL statement" in r.err, r
    write(tmp_path / "latin1.sql", b"SELECT '\xe9';\n")
    r = cli(tmp_path, "-u", "sqlite:///app.db", "load", "latin1.sql")
    assert r.code == 2 and "is not UTF-8" in r.err, r


def test_load_reads_stdin_and_speaks_json(tmp_path: Path) -> None:
    three(tmp_path)
    assert cli(tmp_path, "-u", "sqlite:///app.db", "up").code == 0
    text = cli(tmp_path, "-u", "sqlite:///app.db", "dump").out
    proc = subprocess.run([sys.executable, "-m", "migrator", "--json", "-u",
                           "sqlite:///copy.db", "load", "-"], cwd=tmp_path, env=clean_env(),
                          input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = proc.stdout
    assert '"file": "stdin"' in doc and '"statements": ' in doc, doc
    assert applied(tmp_path / "copy.db") == VERSIONS


# ----------------------------------------------------------------------- schema_file


def test_schema_file_is_rewritten_after_every_successful_run(tmp_path: Path) -> None:
    three(tmp_path)
    write(tmp_path / "migrator.toml", 'url = "sqlite:///app.db"\nschema_file = "db/schema.sql"\n')
    (tmp_path / "db").mkdir()
    schema = tmp_path / "db" / "schema.sql"

    def current() -> str:
        return cli(tmp_path, "dump").out

    for args in (("up",), ("down",), ("redo",), ("rollback", "--all"), ("migrate",)):
        r = cli(tmp_path, *args)
        assert r.code == 0, r
        assert "wrote schema dump to db/schema.sql" in r.err, r
        assert schema.read_text() == current(), args
    schema.unlink()
    r = cli(tmp_path, "down", "--dump", "one-off.sql")  # the flag wins for one run
    assert r.code == 0 and not schema.exists(), r
    assert (tmp_path / "one-off.sql").read_text() == current()
    r = cli(tmp_path, "up", "--dry-run")
    assert r.code == 0 and not schema.exists(), r


def test_schema_file_from_the_environment_and_not_after_a_failure(tmp_path: Path) -> None:
    three(tmp_path)
    env = clean_env(MIGRATOR_SCHEMA_FILE="env-schema.sql")
    r = cli(tmp_path, "-u", "sqlite:///app.db", "up", "--to", VERSIONS[0], env=env)
    assert r.code == 0 and (tmp_path / "env-schema.sql").exists(), r
    before = (tmp_path / "env-schema.sql").read_text()
    migration(tmp_path, "20260109000000", "broken", "CREATE TABLE broken (;\n")
    r = cli(tmp_path, "-u", "sqlite:///app.db", "up", env=env)
    assert r.code == 1, r
    assert (tmp_path / "env-schema.sql").read_text() == before


def test_schema_file_must_be_a_path(tmp_path: Path) -> None:
    write(tmp_path / "migrator.toml", 'url = "sqlite:///app.db"\nschema_file = 1\n')
    r = cli(tmp_path, "status")
    assert r.code == 2 and "schema_file must be a file path" in r.err, r


# ------------------------------------------------------------------------------ help


@pytest.mark.parametrize("command", ["create", "drop", "load"])
def test_help_shows_examples_and_exit_codes(tmp_path: Path, command: str) -> None:
    r = cli(tmp_path, command, "--help")
    assert r.code == 0, r
    assert "examples:\n  migrator " in r.out and "exit codes:\n  0 " in r.out, r
    bash = cli(tmp_path, "completion", "bash").out
    commands = next(line for line in bash.splitlines() if line.strip().startswith('"")'))
    assert f" {command} " in commands, commands
