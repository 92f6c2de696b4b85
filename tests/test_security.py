"""What a user types never becomes anything but what it says.

A table name or URL never reaches SQL unquoted, a migration file is SQL text
and nothing else, a password never reaches the screen, and the files migrator
writes (lock, dump, scratch copies) are made safely and cleaned up. Real
``python -m migrator`` processes on real SQLite files.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
        umask: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, env={**h.clean_env(), **(env or {})},
        capture_output=True, text=True, timeout=h.TIMEOUT, check=False,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),  # type: ignore[misc]
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A database with one applied migration and one pending, in ``tmp_path``."""
    h.write_files(tmp_path / "migrations", {"001_a.up.sql": "CREATE TABLE a(x);\n"})
    assert cli(tmp_path, "-u", "sqlite:///app.db", "up").returncode == 0
    h.write_files(tmp_path / "migrations", {"002_b.up.sql": "CREATE TABLE b(x);\n"})
    return tmp_path


# -- the bookkeeping table name ----------------------------------------------------------

INJECTIONS = [
    'x"; DROP TABLE a; --',
    "x'; DROP TABLE a; --",
    "x; DROP TABLE a",
    "a.b.c",
    "x]",
    "x`",
    "tbl\n",
]


@pytest.mark.parametrize("name", INJECTIONS)
@pytest.mark.parametrize("where", ["flag", "env", "migrator.toml", "pyproject.toml"])
def test_table_name_injection_is_refused_everywhere(project: Path, name: str, where: str) -> None:
    before = h.snapshot(project / "app.db")
    args = ["-u", "sqlite:///app.db"]
    env: dict[str, str] = {}
    if where == "flag":
        args += ["--migrations-table", name]
    elif where == "env":
        env["MIGRATIONS_TABLE"] = name
    else:
        quoted = json.dumps(name)  # a TOML basic string accepts JSON's escapes
        text = f"migrations_table = {quoted}\n"
        if where == "pyproject.toml":
            text = "[tool.migrator]\n" + text
        (project / where).write_text(text)
    for command in ("up", "status", "baseline", "down"):
        extra = ["1"] if command == "baseline" else []
        result = cli(project, *args, command, *extra, env=env)
        assert result.returncode == 2, (command, result.stderr)
        assert "invalid migrations table name" in result.stderr
        assert "Traceback" not in result.stderr
    assert h.snapshot(project / "app.db") == before


@pytest.mark.parametrize("name", ["order", "main.select", "tbl$x", "Ünïcode_no"])
def test_legal_but_awkward_table_names_are_quoted(project: Path, name: str) -> None:
    result = cli(project, "-u", "sqlite:///app.db", "--migrations-table", name, "up")
    if name == "Ünïcode_no":  # letters, digits and '_' are ASCII here: refused, not mangled
        assert result.returncode == 2, result.stderr
        return
    # A new, empty table: the migrations run again and 001 collides with table a.
    assert result.returncode == 1, result.stderr
    assert "table a already exists" in result.stderr
    bare = name.split(".")[-1]
    assert bare in h.user_tables(project / "app.db")
    assert h.applied_versions(project / "app.db", bare) == []


# -- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize("url, file_name", [
    ("sqlite:///it's.db", "it's.db"),
    ('sqlite:///a"b.db', 'a"b.db'),
    ("sqlite:///sp ace.db", "sp ace.db"),
    ("sqlite:///pct%3Fx.db", "pct?x.db"),
    ("sqlite:///pct%23x.db", "pct#x.db"),
    ("sqlite:///pct%2541.db", "pct%41.db"),
    # File names, not SQLite URIs (Debian's SQLite reads 'file:' names as URIs even
    # without uri=True): the second used to migrate an in-memory database, exit 0.
    ("sqlite:///file:uri.db", "file:uri.db"),
    ("sqlite:///file:x.db%3Fmode=memory", "file:x.db?mode=memory"),
    ("sqlite:///x.db;DROP TABLE a", "x.db;DROP TABLE a"),
])
def test_odd_sqlite_paths_name_exactly_that_file(project: Path, url: str, file_name: str) -> None:
    up = cli(project, "-u", url, "up")
    assert up.returncode == 0, up.stderr
    assert h.applied_versions(project / file_name) == ["001", "002"]
    # status opens read-only through an SQLite URI built from the path: the same file.
    status = cli(project, "-u", url, "--json", "status")
    assert status.returncode == 0, status.stderr
    assert [m["state"] for m in json.loads(status.stdout)["migrations"]] == ["applied"] * 2
    assert h.applied_versions(project / "app.db") == ["001"]
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(file_name)) == [
        file_name, file_name + ".migrator-lock"]


@pytest.mark.parametrize("url", [
    "sqlite:///q?mode=memory", "sqlite:///h#frag", "sqlite:///%00x.db",
    "sqlite://host/x.db", "sqlite:///",
])
def test_malformed_sqlite_urls_are_usage_errors(project: Path, url: str) -> None:
    """A NUL byte (%00) used to end in a traceback from sqlite3.connect."""
    for command in ("up", "status"):
        result = cli(project, "-u", url, command)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: ")
    assert sorted(p.name for p in project.iterdir()) == [
        "app.db", "app.db.migrator-lock", "migrations"]


# -- migration files are SQL text --------------------------------------------------------


def test_shell_dot_commands_in_a_file_are_just_bad_sql(tmp_path: Path) -> None:
    h.write_files(tmp_path / "migrations", {
        "1_x.up.sql": ".read /etc/passwd\nCREATE TABLE t(x);\n",
        "2_y.up.sql": ".shell touch pwned\n",
    })
    result = cli(tmp_path, "-u", "sqlite:///app.db", "up")
    assert result.returncode == 1, result.stderr
    assert "SQLITE_ERROR" in result.stderr and "syntax error" in result.stderr
    assert "root:" not in result.stdout + result.stderr  # /etc/passwd was not read
    assert not (tmp_path / "pwned").exists()
    assert h.user_tables(tmp_path / "app.db") == ["schema_migrations"]


def test_attach_behaves_as_sqlite_does(tmp_path: Path) -> None:
    """ATTACH is plain SQL: it joins the file's transaction, so a failure undoes both files."""
    h.write_files(tmp_path / "migrations", {
        "1_x.up.sql": "ATTACH DATABASE 'other.db' AS o;\nCREATE TABLE o.t(x);\n"
                      "CREATE TABLE main.t(x);\nSELECT no_such_function();\n",
    })
    result = cli(tmp_path, "-u", "sqlite:///app.db", "up")
    assert result.returncode == 1, result.stderr
    assert "no such function" in result.stderr
    assert h.user_tables(tmp_path / "other.db") == []
    assert h.user_tables(tmp_path / "app.db") == ["schema_migrations"]

    (tmp_path / "migrations" / "1_x.up.sql").write_text(
        "ATTACH DATABASE 'other.db' AS o;\nCREATE TABLE o.t(x);\n")
    result = cli(tmp_path, "-u", "sqlite:///app.db", "up")
    assert result.returncode == 0, result.stderr
    assert h.user_tables(tmp_path / "other.db") == ["t"]  # relative to the working directory
    assert h.applied_versions(tmp_path / "app.db") == ["1"]


def test_load_extension_is_not_allowed(tmp_path: Path) -> None:
    h.write_files(tmp_path / "migrations", {
        "1_x.up.sql": "SELECT load_extension('/nonexistent/evil');\n",
    })
    result = cli(tmp_path, "-u", "sqlite:///app.db", "up")
    assert result.returncode == 1, result.stderr
    assert "not authorized" in result.stderr
    assert h.applied_versions(tmp_path / "app.db") == []


def test_shell_metacharacters_in_the_migrations_path(tmp_path: Path) -> None:
    folder = "$(touch pwned1);`touch pwned2`|&<>*?"
    h.write_files(tmp_path / folder, {"1_x.up.sql": "CREATE TABLE t(x);\n"})
    result = cli(tmp_path, "-u", "sqlite:///app.db", "-d", folder, "up")
    assert result.returncode == 0, result.stderr
    assert folder in result.stderr or "1_x" in result.stderr
    assert not list(tmp_path.glob("pwned*"))
    assert h.applied_versions(tmp_path / "app.db") == ["1"]


# -- passwords ---------------------------------------------------------------------------

SECRET = "Hunter2Secret"
URLS = [
    f"postgres://admin:{SECRET}@127.0.0.1:1/db",
    f"postgresql://admin:{SECRET}@127.0.0.1:1/db?sslmode=disable&connect_timeout=5",
    f"postgres://admin:p@ss{SECRET}@127.0.0.1:1/db",  # an unescaped '@' in the password
    f"postgres://127.0.0.1:1/db?user=admin&password={SECRET}",
    f"mysql://root:{SECRET}@127.0.0.1:1/db",
    f"mariadb://root:{SECRET}@127.0.0.1:1/db",
    f"mysql://root:{SECRET}@127.0.0.1:1/",  # names no database
    f"postgres://admin:{SECRET}@[::1/db",  # used to be a traceback (urllib ValueError)
    f"mysql://root:{SECRET}@[::1/db",
    f"mysql://root:{SECRET}@127.0.0.1:notaport/db",
    f"mysql://root:{SECRET}@127.0.0.1:99999/db",
    f"mysql://root:{SECRET}@127.0.0.1:1/db?connect_timeout=soon",
    f"postgres://admin:{SECRET}@127.0.0.1:1/db?schema=a&search_path=b",
    f"oracle://admin:{SECRET}@127.0.0.1:1/db",
    f"sqlite://admin:{SECRET}@host/x.db",  # used to be echoed whole
    f"sqlite:///x.db?password={SECRET}",
]


@pytest.mark.parametrize("url", URLS)
def test_password_is_never_printed(tmp_path: Path, url: str) -> None:
    h.write_files(tmp_path / "migrations", {"1_x.up.sql": "CREATE TABLE t(x);\n"})
    runs = [
        (["-u", url, "up"], {}),
        (["-u", url, "--json", "up"], {}),
        (["-u", url, "-v", "status"], {}),
        (["--json", "status"], {"DATABASE_URL": url}),
        (["-v", "--json", "verify"], {"DATABASE_URL": url}),
        (["-u", url, "wait", "--timeout", "0"], {}),
        (["-u", url, "--json", "unlock"], {}),
    ]
    for args, env in runs:
        result = cli(tmp_path, *args, env=env)
        shown = result.stdout + result.stderr
        assert SECRET not in shown, (args, shown)
        assert "Traceback" not in shown, (args, shown)
        assert result.returncode in (1, 2), (args, result.returncode, shown)
        if "--json" in args:
            assert "error" in json.loads(result.stdout)


def test_password_from_the_config_file_is_not_printed(tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text(
        f'url = "postgres://admin:{SECRET}@127.0.0.1:1/db"\nmigrations_dir = "m"\n')
    (tmp_path / "m").mkdir()
    for args in (["-v", "up"], ["--json", "status"]):
        result = cli(tmp_path, *args)
        assert result.returncode in (1, 2)
        assert SECRET not in result.stdout + result.stderr
        assert "admin:***@" in result.stdout + result.stderr


# -- the lock file -----------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o000, 0o644), (0o022, 0o644), (0o077, 0o600)])
def test_lock_file_is_never_world_writable_and_honours_umask(
    project: Path, umask: int, mode: int
) -> None:
    lock = project / "app.db.migrator-lock"
    lock.unlink()
    result = cli(project, "-u", "sqlite:///app.db", "up", umask=umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(lock.stat().st_mode) == mode


def test_hard_link_in_place_of_the_lock_file_is_not_written(project: Path) -> None:
    """O_NOFOLLOW stops a symbolic link only; a hard link had its content overwritten."""
    victim = project / "victim.conf"
    victim.write_text("precious\n")
    lock = project / "app.db.migrator-lock"
    lock.unlink()
    os.link(victim, lock)

    result = cli(project, "-u", "sqlite:///app.db", "up")

    assert result.returncode == 2, result.stderr
    assert "hard link" in result.stderr
    assert victim.read_text() == "precious\n"
    assert h.applied_versions(project / "app.db") == ["001"]

    removed = cli(project, "-u", "sqlite:///app.db", "unlock")
    assert removed.returncode == 0, removed.stderr
    assert not lock.exists()
    assert victim.read_text() == "precious\n"
    assert cli(project, "-u", "sqlite:///app.db", "up").returncode == 0
    assert victim.read_text() == "precious\n"
    assert h.applied_versions(project / "app.db") == ["001", "002"]


def test_symlink_to_a_file_elsewhere_keeps_that_file_unchanged_through_every_command(
    project: Path,
) -> None:
    elsewhere = project.parent / f"{project.name}-elsewhere.txt"
    elsewhere.write_text("do not touch\n")
    lock = project / "app.db.migrator-lock"
    lock.unlink()
    lock.symlink_to(elsewhere)
    try:
        for command in (["up"], ["down"], ["redo"], ["baseline", "2"], ["status"], ["verify"]):
            result = cli(project, "-u", "sqlite:///app.db", *command)
            assert "Traceback" not in result.stderr
            if command[0] not in ("status", "verify"):
                assert result.returncode == 2, (command, result.stderr)
                assert "symbolic link" in result.stderr
            assert elsewhere.read_text() == "do not touch\n"
            assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644
        assert h.applied_versions(project / "app.db") == ["001"]
    finally:
        elsewhere.unlink()


# -- temporary files of the DBA commands -------------------------------------------------


def scratch(tmpdir: Path) -> list[str]:
    return sorted(p.name for p in tmpdir.iterdir())


@pytest.mark.parametrize("failing", [False, True], ids=["success", "failure"])
def test_dba_commands_clean_their_scratch_files(project: Path, failing: bool) -> None:
    tmpdir = project / "tmp"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir)}
    h.write_files(project / "migrations", {
        "001_a.down.sql": "DROP TABLE a;\n", "002_b.down.sql": "DROP TABLE b;\n",
    })
    if failing:
        h.write_files(project / "migrations", {"003_c.up.sql": "CREATE TABLE nope(;\n"})
    runs = [["rehearse"], ["test"], ["test", "--from-db", "sqlite:///app.db"]]
    if not failing:
        runs.append(["squash", "--to", "2", "--name", "base"])
    for args in runs:
        result = cli(project, "-u", "sqlite:///app.db", *args, env=env)
        assert result.returncode == (1 if failing else 0), (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert scratch(tmpdir) == [], args
    assert h.applied_versions(project / "app.db") == ["001"]  # rehearsals touch a copy


def test_rehearsal_copy_is_private_and_removed_on_sigterm(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    gate = tmp_path / "gate.db"
    migrations = h.gated_migrations(tmp_path / "migrations", gate)
    db = h.make_db(tmp_path / "app.db")
    with h.WriteHolder(gate):
        proc = subprocess.Popen(
            [sys.executable, "-m", "migrator", "-u", f"sqlite:///{db}", "-d", str(migrations),
             "rehearse", "--lock-timeout", "120"],
            cwd=tmp_path, env={**h.clean_env(), "TMPDIR": str(tmpdir)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            h.wait_for(lambda: proc.poll() is not None or any(
                (d / "app.db").exists() for d in tmpdir.iterdir()), what="the rehearsal copy")
            assert proc.poll() is None, proc.communicate()
            (copy_dir,) = list(tmpdir.iterdir())
            assert stat.S_IMODE(copy_dir.stat().st_mode) == 0o700
            h.wait_until_handling_signals(proc)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=h.TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 143, err
    assert scratch(tmpdir) == []
    assert h.user_tables(db) == ["app_marker"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_dump_file_honours_the_umask_and_leaves_no_temp_file(
    project: Path, umask: int, mode: int
) -> None:
    out = project / "schema.sql"
    result = cli(project, "-u", "sqlite:///app.db", "dump", "-o", "schema.sql", umask=umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert "CREATE TABLE a" in out.read_text()
    (project / "adir.sql").mkdir()
    failed = cli(project, "-u", "sqlite:///app.db", "dump", "-o", "adir.sql", umask=umask)
    assert failed.returncode != 0
    assert "Traceback" not in failed.stderr
    assert not [p for p in project.iterdir() if p.name.startswith(".")]
