"""``up --single-transaction`` on SQLite: directives inside the group, and progress.

The contract itself (a failure in the third of three files leaves none of
them applied; a no-transaction file is refused before anything runs) is
checked on every backend in tests/contract/test_single_transaction.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from clihelp import MakeMigrations, Result, applied, cli

from migrator import output
from migrator.api import Migrator

GOOD = {
    "001_a.up.sql": "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n",
    "002_b.up.sql": "CREATE TABLE b (x INTEGER);\nINSERT INTO b VALUES (2);\n",
}


def migrator(db: Path, migrations: Path, *args: str) -> Result:
    return cli(migrations.parent, "--url", f"sqlite:///{db}", "-d", str(migrations), *args)


def test_success_applies_all_and_reports_each(
    tmp_path: Path, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({
        **GOOD, "003_c.up.sql": "-- migrator: foreign-keys-off\nCREATE TABLE c (x INTEGER);\n",
    })
    db = tmp_path / "app.db"
    done = migrator(db, migrations, "--json", "up", "--single-transaction")
    assert done.code == 0, done.stderr
    assert [s["version"] for s in done.json()["applied"]] == ["001", "002", "003"]
    assert applied(db) == ["001", "002", "003"]
    again = migrator(db, migrations, "up", "--single-transaction")
    assert again.code == 0 and "nothing to apply" in again.stderr


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
