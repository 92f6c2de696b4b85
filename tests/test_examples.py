"""Everything under examples/ runs for real, so the README never shows a stale example.

The Makefile goes through make, the CI script through bash, the blog schema
through the CLI; all against SQLite files in tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO = ROOT / "migrations"
BLOG = EXAMPLES / "blog" / "migrations"
MIGRATOR = f"{sys.executable} -m migrator"
TIMEOUT = 120


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "MIGRATIONS_DIR", "MIGRATIONS_TABLE",
                             "MIGRATOR_LOCK_TIMEOUT", "MAKEFLAGS", "MFLAGS")}
    full_env.update(env or {})
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=TIMEOUT)


def applied_versions(db: Path) -> list[str]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def demo_versions() -> list[str]:
    return sorted(p.name.split("_", 1)[0] for p in DEMO.iterdir()
                  if p.is_dir() or p.name.endswith(".up.sql"))


# -- Makefile -----------------------------------------------------------------

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(tmp_path: Path, target: str, *assignments: str) -> subprocess.CompletedProcess[str]:
    return run(
        ["make", "--no-print-directory", "-f", str(EXAMPLES / "Makefile"), target,
         f"MIGRATOR={MIGRATOR}", f"DATABASE_URL=sqlite:///{tmp_path / 'app.db'}",
         f"MIGRATIONS_DIR={DEMO}", "LOCK_TIMEOUT=5", *assignments],
        cwd=tmp_path,
    )


@needs_make
def test_makefile_check_migrate_status_rollback(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    check = make(tmp_path, "db-check")
    assert check.returncode != 0
    assert "pending migrations; run 'make db-migrate'" in check.stderr

    migrate = make(tmp_path, "db-migrate")
    assert migrate.returncode == 0, migrate.stderr
    assert applied_versions(db) == demo_versions()

    check = make(tmp_path, "db-check")
    assert check.returncode == 0, check.stderr
    assert "database is up to date" in check.stdout

    status = make(tmp_path, "db-status")
    assert status.returncode == 0
    assert status.stdout.count(" applied ") == len(demo_versions())

    rollback = make(tmp_path, "db-rollback")
    assert rollback.returncode == 0, rollback.stderr
    assert applied_versions(db) == demo_versions()[:-1]
    rollback = make(tmp_path, "db-rollback", "STEPS=2")
    assert rollback.returncode == 0, rollback.stderr
    assert applied_versions(db) == demo_versions()[:-3]
    assert make(tmp_path, "db-check").returncode != 0


@needs_make
def test_makefile_check_reports_drift(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(DEMO, migrations)
    args = (f"MIGRATIONS_DIR={migrations}",)
    assert make(tmp_path, "db-migrate", *args).returncode == 0
    first = sorted(migrations.glob("*.up.sql"))[0]
    first.write_text(first.read_text() + "\nCREATE TABLE edited (id);\n")
    check = make(tmp_path, "db-check", *args)
    assert check.returncode != 0
    assert "applied migrations differ from their files" in check.stderr


@needs_make
def test_makefile_new(tmp_path: Path) -> None:
    created = make(tmp_path, "db-new", "NAME=add_users_email", "MIGRATIONS_DIR=db/migrations")
    assert created.returncode == 0, created.stderr
    files = sorted(p.name for p in (tmp_path / "db" / "migrations").iterdir())
    assert len(files) == 2
    assert files[0].endswith("_add_users_email.down.sql")
    assert files[1].endswith("_add_users_email.up.sql")
    assert len(files[0].split("_", 1)[0]) == 14

    as_dir = make(tmp_path, "db-new", "NAME=orders", "LAYOUT=dir", "MIGRATIONS_DIR=db/migrations")
    assert as_dir.returncode == 0, as_dir.stderr
    [folder] = [p for p in (tmp_path / "db" / "migrations").iterdir() if p.is_dir()]
    assert sorted(p.name for p in folder.iterdir()) == ["down.sql", "up.sql"]

    missing = make(tmp_path, "db-new")
    assert missing.returncode != 0
    assert "usage: make db-new NAME=" in missing.stderr


# -- CI script ----------------------------------------------------------------


def ci(tmp_path: Path, migrations: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ci.db'}",
        "MIGRATIONS_DIR": str(migrations),
        "MIGRATOR": MIGRATOR,
        "PYTHON": sys.executable,
        "WAIT_SECONDS": "1",
    }
    base.update(env)
    return run(["bash", str(EXAMPLES / "ci-migrate.sh")], cwd=tmp_path, env=base)


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(DEMO, target)
    return target


def test_ci_script_applies_then_reports_up_to_date(tmp_path: Path, migrations: Path) -> None:
    first = ci(tmp_path, migrations)
    assert first.returncode == 0, first.stderr
    assert f"ci-migrate: ok: applied {len(demo_versions())} migration(s)" in first.stderr
    assert applied_versions(tmp_path / "ci.db") == demo_versions()
    second = ci(tmp_path, migrations)
    assert second.returncode == 0, second.stderr
    assert "ci-migrate: ok: database is up to date" in second.stderr


def test_ci_script_runs_as_the_readme_shows_without_migrator_variable(
    tmp_path: Path, migrations: Path
) -> None:
    """The README runs the script with no MIGRATOR: the command is found on PATH.

    A shell function named like the command once called itself forever here.
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "migrator"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m migrator "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "MIGRATOR"}
    env.update({
        "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        "DATABASE_URL": "sqlite:///app.db",
        "MIGRATIONS_DIR": "migrations",
    })
    for key in ("MIGRATIONS_TABLE", "MIGRATOR_LOCK_TIMEOUT"):
        env.pop(key, None)
    result = subprocess.run(["bash", str(EXAMPLES / "ci-migrate.sh")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"ci-migrate: ok: applied {len(demo_versions())} migration(s)" in result.stderr
    assert applied_versions(tmp_path / "app.db") == demo_versions()


def test_ci_script_exit_1_names_the_failed_statement(tmp_path: Path, migrations: Path) -> None:
    (migrations / "20261201000000_broken.up.sql").write_text(
        "CREATE TABLE fine (id INTEGER);\n\nINSERT INTO no_such_table VALUES (1);\n"
    )
    result = ci(tmp_path, migrations)
    assert result.returncode == 1
    assert "migration 20261201000000_broken failed at" in result.stderr
    assert "20261201000000_broken.up.sql:3 (statement 2)" in result.stderr
    assert "database said: no such table: no_such_table" in result.stderr
    assert "that file was rolled back" in result.stderr
    assert "applied before it in this run, and still applied:" in result.stderr
    assert applied_versions(tmp_path / "ci.db") == demo_versions()


def test_ci_script_exit_1_part_way(tmp_path: Path, migrations: Path) -> None:
    (migrations / "20261201000000_loose.up.sql").write_text(
        "-- migrator: no-transaction\n"
        "CREATE TABLE kept (id INTEGER);\n"
        "INSERT INTO nope VALUES (1);\n"
    )
    result = ci(tmp_path, migrations)
    assert result.returncode == 1
    assert "that file stopped part-way: the statements before it stay" in result.stderr
    conn = sqlite3.connect(tmp_path / "ci.db")
    try:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        conn.close()


@pytest.mark.skipif(not os.environ.get("MIGRATOR_TEST_MYSQL_URL"),
                    reason="MIGRATOR_TEST_MYSQL_URL is not set: no MySQL server")
def test_ci_script_on_mysql_stops_until_repair(tmp_path: Path) -> None:
    pymysql = pytest.importorskip("pymysql")
    from urllib.parse import urlsplit

    url = os.environ["MIGRATOR_TEST_MYSQL_URL"]
    tag = f"ci_ex_{os.getpid()}"
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20261201000000_half.up.sql").write_text(
        f"CREATE TABLE {tag}_a (id INT);\nINSERT INTO {tag}_nope VALUES (1);\n"
    )
    env = {"DATABASE_URL": url, "MIGRATIONS_TABLE": f"{tag}_migrations"}
    try:
        first = ci(tmp_path, migrations, **env)
        assert first.returncode == 1, first.stderr
        assert "that file stopped part-way" in first.stderr
        second = ci(tmp_path, migrations, **env)
        assert second.returncode == 1, second.stderr
        assert "ci-migrate: an earlier run stopped part-way (MySQL); nothing was run" in (
            second.stderr)
    finally:
        u = urlsplit(url)
        conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                               password=u.password or "", database=u.path.lstrip("/"))
        try:
            with conn.cursor() as cur:
                for suffix in ("a", "migrations", "migrations_state", "migrations_lock"):
                    cur.execute(f"DROP TABLE IF EXISTS {tag}_{suffix}")
        finally:
            conn.close()


def test_ci_script_exit_2_on_bad_files_or_settings(tmp_path: Path, migrations: Path) -> None:
    (migrations / "20261201000000_bad name.up.sql").write_text("SELECT 1;\n")
    (migrations / "20261201000001_tx.up.sql").write_text("SELECT 1;\nCOMMIT;\n")
    result = ci(tmp_path, migrations)
    assert result.returncode == 2
    assert "ci-migrate: invalid migration files; nothing was run:" in result.stderr
    assert "bad name.up.sql: error: not a migration file name" in result.stderr
    assert "20261201000001_tx.up.sql:2: error: statement 2 is transaction control" in (
        result.stderr)
    assert not (tmp_path / "ci.db").exists()

    (migrations / "20261201000000_bad name.up.sql").unlink()
    (migrations / "20261201000001_tx.up.sql").unlink()
    bad_table = ci(tmp_path, migrations, MIGRATIONS_TABLE="no such;table")
    assert bad_table.returncode == 2
    assert "configuration error; nothing was run" in bad_table.stderr
    assert "invalid migrations table name" in bad_table.stderr

    no_url = ci(tmp_path, migrations, DATABASE_URL="")
    assert no_url.returncode == 2
    assert "set DATABASE_URL" in no_url.stderr


def test_ci_script_waits_for_the_database_directory(tmp_path: Path, migrations: Path) -> None:
    later = tmp_path / "volume"
    url = f"sqlite:///{later / 'app.db'}"
    gone = ci(tmp_path, migrations, DATABASE_URL=url, WAIT_SECONDS="0")
    assert gone.returncode == 2
    assert f"directory '{later}' for the database did not appear within 0s" in gone.stderr

    helper = subprocess.Popen(
        [sys.executable, "-c",
         f"import pathlib, time; time.sleep(1); pathlib.Path({str(later)!r}).mkdir()"]
    )
    try:
        waited = ci(tmp_path, migrations, DATABASE_URL=url, WAIT_SECONDS="60")
    finally:
        helper.wait(timeout=TIMEOUT)
    assert waited.returncode == 0, waited.stderr
    assert f"waiting for directory '{later}'" in waited.stderr
    assert applied_versions(later / "app.db") == demo_versions()


def test_ci_script_waits_for_a_server_then_gives_up(tmp_path: Path, migrations: Path) -> None:
    pytest.importorskip("psycopg")
    # check now reads files in the URL's dialect: the demo's SQLite triggers are not
    # PostgreSQL, so this set is one PostgreSQL accepts.
    shutil.rmtree(migrations)
    migrations.mkdir()
    (migrations / "001_t.up.sql").write_text("CREATE TABLE t (id integer PRIMARY KEY);\n")
    started = time.monotonic()
    result = ci(tmp_path, migrations, DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
                WAIT_SECONDS="2")
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started >= 2
    assert "ci-migrate: database not reachable: still unreachable after" in result.stderr


def test_ci_script_exit_3_on_drift(tmp_path: Path, migrations: Path) -> None:
    assert ci(tmp_path, migrations).returncode == 0
    up = sorted(migrations.glob("*.up.sql"))[0]
    up.write_text(up.read_text() + "\n-- edited after it was applied\n")
    result = ci(tmp_path, migrations)
    assert result.returncode == 3
    assert "drift: the database's history does not match" in result.stderr
    assert f"modified: {up}" in result.stderr


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another real process holding the OS lock migrator uses beside ci.db."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "os.write(fd, b'host ci-test, pid %d' % os.getpid())\n"
         "print('locked', flush=True)\n"
         "time.sleep(300)\n",
         str(tmp_path / "ci.db.migrator-lock")],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=TIMEOUT)


def test_ci_script_exit_4_when_locked(
    tmp_path: Path, migrations: Path, held_lock: subprocess.Popen[str]
) -> None:
    started = time.monotonic()
    result = ci(tmp_path, migrations, WAIT_SECONDS="1")
    assert result.returncode == 4, result.stderr
    assert time.monotonic() - started >= 1  # it waited for the lock first
    assert "another migrator still holds the lock after 1s" in result.stderr
    assert f"pid {held_lock.pid}" in result.stderr
    assert applied_versions(tmp_path / "ci.db") == []


# -- blog schema ----------------------------------------------------------------


def blog(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = run([sys.executable, "-m", "migrator", "--url", f"sqlite:///{db}", "-d", str(BLOG),
                  *args], cwd=db.parent)
    assert result.returncode == 0, result.stderr
    return result


def schema(db: Path) -> list[tuple[str, str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return sorted(conn.execute(
            "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name <> 'schema_migrations'"
        ).fetchall())
    finally:
        conn.close()


def fts5_available() -> bool:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(a)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


needs_fts5 = pytest.mark.skipif(not fts5_available(), reason="SQLite built without FTS5")


@needs_fts5
def test_blog_search_view_and_tags(tmp_path: Path) -> None:
    db = tmp_path / "blog.db"
    blog(db, "up")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        with conn:
            conn.execute("INSERT INTO authors (id, name, email) VALUES (1, 'Ann', 'ann@x.org')")
            conn.execute(
                "INSERT INTO posts (id, author_id, slug, title, body, status, published_at) "
                "VALUES (1, 1, 'hello', 'Hello', 'Running migrations by hand', 'published', "
                "'2026-11-01'), (2, 1, 'draft', 'Draft', 'unfinished thoughts', 'draft', NULL)"
            )
            conn.execute('INSERT INTO tags (id, name, "order") VALUES (1, \'sql\', 2), '
                         "(2, 'intro', 1)")
            conn.execute("INSERT INTO post_tags VALUES (1, 1), (1, 2)")

        def search(term: str) -> list[int]:
            return [r[0] for r in conn.execute(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rank", (term,))]

        assert search("migration") == [1]  # porter stemming: migrations -> migration
        assert search("thoughts") == [2]
        assert conn.execute("SELECT slug, tags FROM published_posts").fetchall() == [
            ("hello", "intro, sql")
        ]
        with conn:
            conn.execute("UPDATE posts SET body = 'Rolling back' WHERE id = 1")
        assert search("migration") == []
        assert search("rolling") == [1]
        with conn:
            conn.execute("DELETE FROM posts WHERE id = 1")
        assert search("rolling") == []
        assert conn.execute("SELECT count(*) FROM post_tags").fetchone()[0] == 0
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE posts SET status = 'published' WHERE id = 2")
    finally:
        conn.close()


@needs_fts5
def test_blog_indexes_rows_that_existed_before_search(tmp_path: Path) -> None:
    db = tmp_path / "blog.db"
    blog(db, "up", "--to", "20261110081000")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO authors VALUES (1, 'Ann', 'ann@x.org')")
        conn.execute("INSERT INTO posts (id, author_id, slug, title) VALUES (7, 1, 'old', 'Old')")
    conn.close()
    blog(db, "up")
    conn = sqlite3.connect(db)
    try:
        hits = conn.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'old'").fetchall()
        assert hits == [(7,)]
    finally:
        conn.close()


@needs_fts5
def test_blog_every_down_restores_the_previous_schema(tmp_path: Path) -> None:
    db = tmp_path / "blog.db"
    versions = sorted(p.name.split("_", 1)[0] for p in BLOG.iterdir()
                      if p.is_dir() or p.name.endswith(".up.sql"))
    assert len(versions) >= 4
    before = []
    for version in versions:
        before.append(schema(db) if db.exists() else [])
        blog(db, "up", "--to", version)
    for expected in reversed(before):
        blog(db, "down")
        assert schema(db) == expected
    doc = json.loads(blog(db, "--json", "status").stdout)
    assert {m["state"] for m in doc["migrations"]} == {"pending"}


# -- README ---------------------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def help_text(*args: str) -> str:
    result = run([sys.executable, "-m", "migrator", *args, "--help"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def commands() -> list[str]:
    listing = help_text().split("COMMAND", 2)[-1]
    return re.findall(r"^    ([a-z][a-z-]*)\s", listing, re.MULTILINE)


def test_readme_starts_with_the_install_and_test_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    install, tests = blocks[0].strip(), blocks[1].strip()
    assert README.index("```sh") < README.index("\n## ")  # before any section
    assert install.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'")
    assert install.endswith(".venv/bin/migrator --url sqlite:///demo.db up")
    assert tests == ".venv/bin/python -m pytest -q"
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_documents_every_command() -> None:
    found = commands()
    assert {"new", "up", "down", "redo", "status", "verify", "baseline", "unlock"} <= set(found)
    missing = [c for c in found if f"`{c}" not in README and f"migrator {c}" not in README]
    assert missing == [], (
        f"commands missing from README.md: {missing}; add each to the Commands table "
        "or to a section of its own"
    )


def test_every_flag_in_the_readme_exists() -> None:
    """A flag the README mentions but no --help knows is stale documentation."""
    known = set(re.findall(r"--[a-z][a-z-]*", help_text()))
    for command in commands():
        known |= set(re.findall(r"--[a-z][a-z-]*", help_text(command)))
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z](?![\w:-])", README))
    assert sorted(mentioned - known) == []


def test_readme_lists_every_exit_code() -> None:
    from migrator.errors import ExitCode

    table = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ExitCode:
        assert re.search(rf"^\| [0-9, ]*\b{int(code)}\b", table, re.MULTILINE), code
