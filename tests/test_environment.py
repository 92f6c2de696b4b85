"""The environment around the database: permissions, mounts, paths, a full disk.

Real files and real ``python -m migrator`` processes. The suite runs as root,
who writes a chmod 444 file anyway, so read-only cases also run as user
``nobody`` (setpriv) and under a read-only bind mount in a private mount
namespace (unshare -m); each skips where the machine does not allow it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def migrator(
    db: Path, migrations: Path, *args: str, prefix: Sequence[str] = (),
    cwd: Path | None = None, preexec: object = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m migrator`` with an absolute URL, optionally behind a command prefix."""
    cmd = [*prefix, sys.executable, "-m", "migrator", "--url", f"sqlite:///{db}",
           "-d", str(migrations), *args]
    return subprocess.run(cmd, cwd=cwd or migrations.parent, env=h.clean_env(),
                          capture_output=True, text=True, timeout=h.TIMEOUT, check=False,
                          preexec_fn=preexec)  # type: ignore[arg-type]


def two_migrations(root: Path) -> tuple[Path, Path]:
    migrations = h.write_files(root / "migrations", {
        "001_first.up.sql": "CREATE TABLE first(x);\nINSERT INTO first VALUES (1);\n",
    })
    db = root / "app.db"
    assert migrator(db, migrations, "up").returncode == 0
    h.write_files(migrations, {"002_second.up.sql": "CREATE TABLE second(x);\n"})
    return db, migrations


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def as_nobody() -> list[str]:
    """The prefix that runs a command as nobody, if nobody can import migrator here."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to switch to user nobody")
    if not _probe([*NOBODY, sys.executable, "-c", "import migrator"]):
        pytest.skip("user nobody cannot run this Python or import migrator")
    return NOBODY


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory nobody can reach (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="migrator-env-"))
    path.chmod(0o777)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


def read_only_mount(directory: Path) -> list[str]:
    """A prefix running the command with ``directory`` bound read-only, in its own namespace."""
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(directory)]


@pytest.fixture(scope="module")
def can_mount(tmp_path_factory: pytest.TempPathFactory) -> None:
    probe = tmp_path_factory.mktemp("mount-probe")
    if shutil.which("unshare") is None or not _probe([*read_only_mount(probe), "true"]):
        pytest.skip("no private mount namespace here (needs CAP_SYS_ADMIN)")


# -- a database that cannot be written ---------------------------------------------------


def test_root_writes_a_chmod_444_file_as_sqlite_does(tmp_path: Path) -> None:
    """Documents what root can test: mode bits do not stop root, nor SQLite run by root."""
    if os.geteuid() != 0:
        pytest.skip("runs as root only")
    db, migrations = two_migrations(tmp_path)
    db.chmod(0o444)
    result = migrator(db, migrations, "up")
    assert result.returncode == 0, result.stderr
    assert h.applied_versions(db) == ["001", "002"]


def test_read_only_file_for_its_user_exits_2_naming_it(
    open_dir: Path, as_nobody: list[str]
) -> None:
    db, migrations = two_migrations(open_dir)
    h.lock_path(db).unlink()  # root's; nobody makes its own
    db.chmod(0o444)
    before = h.snapshot(db)

    result = migrator(db, migrations, "up", prefix=as_nobody)

    # It used to run the file, fail on SQLITE_READONLY and say "fix 002_second.up.sql".
    assert result.returncode == 2, result.stderr
    assert f"database {db} is read-only" in result.stderr
    assert "not writable" in result.stderr
    assert "002_second" not in result.stderr
    assert "Traceback" not in result.stderr
    assert h.snapshot(db) == before
    status = migrator(db, migrations, "status", prefix=as_nobody)  # reading still works
    assert status.returncode == 0, status.stderr
    assert "pending" in status.stdout


def test_read_only_directory_with_the_lock_file_present_exits_2(
    open_dir: Path, as_nobody: list[str]
) -> None:
    """The lock file exists and is writable, but SQLite's journal cannot be created."""
    folder = open_dir / "data"
    folder.mkdir()
    db, migrations = two_migrations(folder)
    h.lock_path(db).touch()
    for path in (db, h.lock_path(db)):
        path.chmod(0o666)
    folder.chmod(0o555)
    before = h.snapshot(db)

    result = migrator(db, migrations, "up", prefix=as_nobody)

    assert result.returncode == 2, result.stderr
    assert f"directory {folder} is not writable" in result.stderr
    assert "002_second" not in result.stderr
    assert h.snapshot(db) == before
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["app.db", "app.db.migrator-lock", "migrations"]


def test_read_only_directory_lock_cannot_be_created_exits_2_naming_it(
    open_dir: Path, as_nobody: list[str]
) -> None:
    folder = open_dir / "data"
    folder.mkdir()
    db, migrations = two_migrations(folder)
    h.lock_path(db).unlink()
    db.chmod(0o666)
    folder.chmod(0o555)
    before = h.snapshot(db)

    result = migrator(db, migrations, "up", prefix=as_nobody)

    assert result.returncode == 2, result.stderr
    assert "cannot create lock file" in result.stderr
    assert f"the directory {folder} holding the database must be writable" in result.stderr
    assert h.snapshot(db) == before
    assert sorted(p.name for p in folder.iterdir()) == ["app.db", "migrations"]


def test_lock_file_of_another_user_is_named_as_such(
    open_dir: Path, as_nobody: list[str]
) -> None:
    """A lock file root left (0644) in a writable directory: not 'directory must be writable'."""
    db, migrations = two_migrations(open_dir)
    db.chmod(0o666)
    result = migrator(db, migrations, "up", prefix=as_nobody)
    assert result.returncode == 2, result.stderr
    assert "cannot open lock file" in result.stderr
    assert "migrator unlock" in result.stderr
    assert h.applied_versions(db) == ["001"]


def test_read_only_mount_even_root_gets_exit_2(tmp_path: Path, can_mount: None) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db, migrations = two_migrations(folder)
    before = h.snapshot(db)

    result = migrator(db, migrations, "up", prefix=read_only_mount(folder))
    assert result.returncode == 2, result.stderr
    assert "Read-only file system" in result.stderr
    assert str(folder) in result.stderr
    assert h.snapshot(db) == before

    status = migrator(db, migrations, "--json", "status", prefix=read_only_mount(folder))
    assert status.returncode == 0, status.stderr
    states = [m["state"] for m in json.loads(status.stdout)["migrations"]]
    assert states == ["applied", "pending"]


def test_read_only_mount_with_the_lock_file_present(tmp_path: Path, can_mount: None) -> None:
    """Past the lock, root on a read-only mount is refused before any SQL runs."""
    folder = tmp_path / "data"
    folder.mkdir()
    db, migrations = two_migrations(folder)
    assert h.lock_path(db).exists()
    before = h.snapshot(db)

    result = migrator(db, migrations, "up", prefix=read_only_mount(folder))

    assert result.returncode == 2, result.stderr
    assert "Read-only file system" in result.stderr or "is read-only" in result.stderr
    assert "002_second" not in result.stderr
    assert h.snapshot(db) == before


def test_database_directory_that_does_not_exist(tmp_path: Path) -> None:
    migrations = h.write_files(tmp_path / "migrations", {"001_a.up.sql": "CREATE TABLE a(x);\n"})
    db = tmp_path / "no such dir" / "app.db"
    for command in ("up", "status"):
        result = migrator(db, migrations, command)
        assert result.returncode == 2, result.stderr
        assert f"directory {db.parent} does not exist" in result.stderr
    assert not db.parent.exists()


# -- paths -------------------------------------------------------------------------------


def test_symlinked_migrations_dir_and_file(tmp_path: Path) -> None:
    real = h.write_files(tmp_path / "real", {"001_a.up.sql": "CREATE TABLE a(x);\n"})
    (tmp_path / "shared.sql").write_text("CREATE TABLE b(x);\n")
    (real / "002_b.up.sql").symlink_to(tmp_path / "shared.sql")
    link = tmp_path / "migrations"
    link.symlink_to(real, target_is_directory=True)
    db = tmp_path / "app.db"
    result = migrator(db, link, "up")
    assert result.returncode == 0, result.stderr
    assert h.applied_versions(db) == ["001", "002"]
    verify = migrator(db, link, "verify")
    assert verify.returncode == 0, verify.stderr


def test_fifo_and_link_loops_among_migrations_are_errors_not_a_hang(tmp_path: Path) -> None:
    """Reading a FIFO named like a migration blocked forever; a link loop raised a traceback."""
    migrations = h.write_files(tmp_path / "migrations", {"001_a.up.sql": "CREATE TABLE a(x);\n"})
    os.mkfifo(migrations / "002_fifo.up.sql")
    (migrations / "003_loop.up.sql").symlink_to("003_loop.up.sql")
    (migrations / "004_dangling.up.sql").symlink_to("nowhere.sql")
    db = tmp_path / "app.db"

    result = migrator(db, migrations, "up")

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "002_fifo.up.sql: not a regular file" in result.stderr
    assert "003_loop.up.sql: cannot read: Too many levels of symbolic links" in result.stderr
    assert "004_dangling.up.sql: cannot read: No such file" in result.stderr
    assert not db.exists() or h.applied_versions(db) == []


@pytest.mark.parametrize("folder", ["with space", "dossier créé ü", "a'b \"c\" $HOME; `x`"])
def test_paths_with_spaces_non_ascii_and_shell_characters(tmp_path: Path, folder: str) -> None:
    base = tmp_path / folder
    migrations = h.write_files(base / "migr ations é", {
        "001_a.up.sql": "CREATE TABLE a(x);\n", "001_a.down.sql": "DROP TABLE a;\n",
    })
    db = base / "dätä base.db"
    assert migrator(db, migrations, "up").returncode == 0
    assert h.applied_versions(db) == ["001"]
    status = migrator(db, migrations, "--json", "status")
    assert json.loads(status.stdout)["migrations"][0]["state"] == "applied"
    down = migrator(db, migrations, "down")
    assert down.returncode == 0, down.stderr
    assert h.applied_versions(db) == []
    assert sorted(p.name for p in base.iterdir()) == [
        "dätä base.db", "dätä base.db.migrator-lock", "migr ations é"]


def test_migration_name_with_unicode_letters_is_accepted(tmp_path: Path) -> None:
    migrations = h.write_files(tmp_path / "migrations", {
        "20260101000000_créer_table.up.sql": "CREATE TABLE t(x);\n",
        "20260102000000_добавить-индекс/up.sql": "CREATE INDEX i ON t(x);\n",
    })
    db = tmp_path / "app.db"
    result = migrator(db, migrations, "--json", "up")
    assert result.returncode == 0, result.stderr
    names = [a["name"] for a in json.loads(result.stdout)["applied"]]
    assert names == ["créer_table", "добавить-индекс"]

    made = migrator(db, migrations, "new", "ajouter_clé")
    assert made.returncode == 0, made.stderr
    assert any(p.name.endswith("_ajouter_clé.up.sql") for p in migrations.iterdir())


@pytest.mark.parametrize("name", ["two words", "semi;colon", "dot.name", "x\n", "quote'"])
def test_migration_names_with_spaces_or_punctuation_are_refused(
    tmp_path: Path, name: str
) -> None:
    migrations = h.write_files(tmp_path / "migrations", {})
    result = migrator(tmp_path / "app.db", migrations, "new", name)
    assert result.returncode == 2, result.stderr
    assert "invalid migration name" in result.stderr
    assert list(migrations.iterdir()) == []


def test_file_names_with_a_trailing_newline_or_other_digits_are_not_migrations(
    tmp_path: Path,
) -> None:
    """'$' let '1_x.up.sql\\n' through; int() read Arabic-Indic digits as a version."""
    migrations = h.write_files(tmp_path / "migrations", {"1_x.up.sql\n": "CREATE TABLE a(x);\n"})
    result = migrator(tmp_path / "app.db", migrations, "up")
    assert result.returncode == 0, result.stderr
    assert h.user_tables(tmp_path / "app.db") == ["schema_migrations"]

    migrations = h.write_files(tmp_path / "other", {"\u0661_x.up.sql": "CREATE TABLE a(x);\n"})
    result = migrator(tmp_path / "app2.db", migrations, "up")
    assert result.returncode == 2, result.stderr
    assert "not a migration file name" in result.stderr


# -- a full disk -------------------------------------------------------------------------


def _file_size_limit(limit: int) -> object:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


BIG = ("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) "
       "INSERT INTO big SELECT randomblob(1000) FROM c;\n")


@pytest.mark.parametrize("directive", ["", "-- migrator: no-transaction\n"],
                         ids=["transactional", "no-transaction"])
def test_file_size_limit_mid_migration_rolls_back_and_the_next_run_succeeds(
    tmp_path: Path, directive: str
) -> None:
    db, migrations = two_migrations(tmp_path)
    h.write_files(migrations, {"003_big.up.sql": f"{directive}CREATE TABLE big(x);\n{BIG}"})

    result = migrator(db, migrations, "up", preexec=_file_size_limit(db.stat().st_size + 40_000))

    assert result.returncode == 1, result.stderr
    assert "SQLITE_IOERR" in result.stderr or "SQLITE_FULL" in result.stderr
    assert "disk is full" in result.stderr
    assert "free disk space" in result.stderr  # the next step does not blame the file
    assert "Traceback" not in result.stderr
    # The file itself is whole again, not only after some later reader replays the
    # journal: no hot journal is left beside it.
    assert not Path(f"{db}-journal").exists()
    assert h.integrity_ok(db)
    assert h.applied_versions(db) == ["001", "002"]
    if directive:  # its CREATE TABLE committed on its own, as no-transaction files do
        assert "statement 2" in result.stderr or "2 of 2" in result.stderr
        return
    assert sorted(h.user_tables(db)) == ["first", "schema_migrations", "second"]
    again = migrator(db, migrations, "up")
    assert again.returncode == 0, again.stderr
    assert h.applied_versions(db) == ["001", "002", "003"]
    assert h.integrity_ok(db)


def test_full_tmpfs_mid_migration(tmp_path: Path, can_mount: None) -> None:
    """A real ENOSPC on a 512 KiB tmpfs: SQLITE_FULL, rolled back, file whole, no journal."""
    db, migrations = two_migrations(tmp_path / "src")
    h.write_files(migrations, {"003_big.up.sql": f"CREATE TABLE big(x);\n{BIG}"})
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    script = (
        'mount -t tmpfs -o size=512k tmpfs "$0" && cp "$1" "$0/app.db" && '
        '"$2" -m migrator --url "sqlite:///$0/app.db" -d "$3" up 2>"$4/stderr"; '
        'echo $? >"$4/rc"; cp -a "$0/." "$4/"'
    )
    subprocess.run(["unshare", "-m", "sh", "-c", script, str(mnt), str(db), sys.executable,
                    str(migrations), str(out)], env=h.clean_env(), timeout=h.TIMEOUT,
                   check=True, cwd=tmp_path)
    stderr = (out / "stderr").read_text()
    assert (out / "rc").read_text().strip() == "1", stderr
    assert "SQLITE_FULL" in stderr, stderr
    assert "disk is full" in stderr
    assert not (out / "app.db-journal").exists()
    assert h.integrity_ok(out / "app.db")
    assert h.applied_versions(out / "app.db") == ["001", "002"]
    assert "big" not in h.user_tables(out / "app.db")
    result = migrator(out / "app.db", migrations, "up")
    assert result.returncode == 0, result.stderr
    assert h.applied_versions(out / "app.db") == ["001", "002", "003"]


# -- WAL with a concurrent reader --------------------------------------------------------

READER = r"""
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
def look():
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
    return {"tables": tables, "rows": conn.execute("SELECT count(*) FROM first").fetchone()[0]}
print(json.dumps(look()), flush=True)
sys.stdin.readline()
print(json.dumps(look()), flush=True)
conn.execute("COMMIT")
print(json.dumps(look()), flush=True)
"""


def test_wal_reader_keeps_its_snapshot_while_migrator_applies(tmp_path: Path) -> None:
    h.make_db(tmp_path / "app.db", "wal")
    db, migrations = two_migrations(tmp_path)
    h.write_files(migrations, {"003_more.up.sql": "INSERT INTO first VALUES (2);\n"})
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], env=h.clean_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        first = json.loads(reader.stdout.readline())

        result = migrator(db, migrations, "up")  # must not wait on the reader

        assert result.returncode == 0, result.stderr
        reader.stdin.write("go\n")
        reader.stdin.flush()
        during = json.loads(reader.stdout.readline())
        after = json.loads(reader.stdout.readline())
        reader.wait(timeout=h.TIMEOUT)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert first == during  # the open read transaction still sees the old snapshot
    assert "second" not in during["tables"] and during["rows"] == 1
    assert "second" in after["tables"] and after["rows"] == 2
    assert h.applied_versions(db) == ["001", "002", "003"]
    conn = h.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
    conn.close()
    assert h.integrity_ok(db)


def test_lock_file_honours_the_umask(tmp_path: Path) -> None:
    db, migrations = two_migrations(tmp_path)
    for umask, mode in ((0o000, 0o644), (0o077, 0o600)):
        h.lock_path(db).unlink()
        result = migrator(db, migrations, "up", "--to", "1",
                          preexec=lambda u=umask: os.umask(u))  # type: ignore[misc]
        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(h.lock_path(db).stat().st_mode) == mode
