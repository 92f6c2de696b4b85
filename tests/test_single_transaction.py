"""``up --single-transaction``: every pending migration in one transaction.

Real SQLite files and the real CLI in a subprocess: a failure in the third
of three files must leave none of them applied, and a no-transaction file
is refused (exit 2) before the database is touched.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from migrator import output
from migrator.api import Migrator
from tests.conftest import MakeMigrations

GOOD = {
    "001_a.up.sql": "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n",
    "002_b.up.sql": "CREATE TABLE b (x INTEGER);\nINSERT INTO b VALUES (2);\n",
}
BAD_THIRD = {"003_c.up.sql": "CREATE TABLE c (x INTEGER);\nINSERT INTO nowhere VALUES (3);\n"}


def migrator(db: Path, migrations: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", "--url", f"sqlite:///{db}", "-d", str(migrations),
         *args],
        capture_output=True, text=True, timeout=120,
    )


def tables(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def applied(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        if "schema_migrations" not in tables(db):
            return []
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    finally:
        conn.close()


def test_failure_in_third_of_three_leaves_nothing_applied(
    tmp_path: Path, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({**GOOD, **BAD_THIRD})
    db = tmp_path / "app.db"
    done = migrator(db, migrations, "up", "--single-transaction")
    assert done.returncode == 1, done.stderr
    assert "003_c" in done.stderr and "none of them is applied" in done.stderr
    assert applied(db) == []
    assert not {"a", "b", "c"} & tables(db)


def test_without_the_flag_the_first_two_stay(
    tmp_path: Path, make_migrations: MakeMigrations
) -> None:
    """The contrast that makes the test above meaningful."""
    migrations = make_migrations({**GOOD, **BAD_THIRD})
    db = tmp_path / "app.db"
    assert migrator(db, migrations, "up").returncode == 1
    assert applied(db) == ["001", "002"]


def test_success_applies_all_and_reports_each(
    tmp_path: Path, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({
        **GOOD, "003_c.up.sql": "-- migrator: foreign-keys-off\nCREATE TABLE c (x INTEGER);\n",
    })
    db = tmp_path / "app.db"
    done = migrator(db, migrations, "--json", "up", "--single-transaction")
    assert done.returncode == 0, done.stderr
    assert [s["version"] for s in json.loads(done.stdout)["applied"]] == ["001", "002", "003"]
    assert applied(db) == ["001", "002", "003"]
    again = migrator(db, migrations, "up", "--single-transaction")
    assert again.returncode == 0 and "nothing to apply" in again.stderr


def test_only_pending_ones_join_the_group(
    tmp_path: Path, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({"001_a.up.sql": GOOD["001_a.up.sql"]})
    db = tmp_path / "app.db"
    assert migrator(db, migrations, "up").returncode == 0
    make_migrations({"002_b.up.sql": GOOD["002_b.up.sql"], **BAD_THIRD})
    assert migrator(db, migrations, "up", "--single-transaction").returncode == 1
    assert applied(db) == ["001"]
    assert "b" not in tables(db)


def test_no_transaction_file_is_refused_before_anything_runs(
    tmp_path: Path, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({
        **GOOD, "003_v.up.sql": "-- migrator: no-transaction\nVACUUM;\n",
    })
    db = tmp_path / "app.db"
    done = migrator(db, migrations, "up", "--single-transaction")
    assert done.returncode == 2
    assert "no-transaction" in done.stderr and "003_v.up.sql" in done.stderr
    assert not db.exists() or applied(db) == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_progress_counter_only_on_a_terminal(
    tmp_path: Path, make_migrations: MakeMigrations, monkeypatch: pytest.MonkeyPatch, tty: bool
) -> None:
    """The live counter for long files draws on a TTY and stays silent in logs and pipes."""
    monkeypatch.setattr(output, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(output, "PROGRESS_EVERY", 0.0)
    inserts = "".join(f"INSERT INTO a VALUES ({i});\n" for i in range(300))
    migrations = make_migrations({"001_a.up.sql": "CREATE TABLE a (x INTEGER);\n" + inserts})
    stream = _Terminal() if tty else io.StringIO()
    reporter = output.Reporter(stream, verbosity=1, colour=False)
    m = Migrator(f"sqlite:///{tmp_path / 'app.db'}", migrations, progress=reporter)
    assert [s.version for s in m.up(single_transaction=True).done] == ["001"]
    text = stream.getvalue()
    assert ("statement 301/301" in text) is tty
    assert ("\r" in text) is tty
    assert "applied 001_a" in text
