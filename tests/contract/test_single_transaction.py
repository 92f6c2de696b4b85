"""``up --single-transaction`` on every backend: all pending files commit together or none.

MySQL/MariaDB commits every DDL statement on its own, so there the flag is
refused (exit 2) before anything runs.
"""

from __future__ import annotations

from clihelp import MakeMigrations

from contract.backends import Backend, Db
from contract.kit import migrator

GOOD = {
    "001_a.up.sql": "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n",
    "002_b.up.sql": "CREATE TABLE b (x INTEGER);\nINSERT INTO b VALUES (2);\n",
}
BAD_THIRD = {"003_c.up.sql": "CREATE TABLE c (x INTEGER);\nINSERT INTO nowhere VALUES (3);\n"}


def refused(backend: Backend, db: Db, done_code: int, stderr: str) -> bool:
    """Where DDL is not transactional the flag is refused and nothing changes."""
    if backend.atomic_ddl:
        return False
    assert done_code == 2, stderr
    assert "--single-transaction needs transactional DDL" in stderr
    assert "nothing was run" in stderr
    assert db.applied_versions() == []
    return True


def test_failure_in_third_of_three_leaves_nothing_applied(
    backend: Backend, db: Db, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({**GOOD, **BAD_THIRD})
    done = migrator(db, migrations, "up", "--single-transaction")
    if refused(backend, db, done.code, done.stderr):
        assert not {"a", "b", "c"} & db.tables()
        return
    assert done.code == 1, done.stderr
    assert "003_c" in done.stderr and "none of them is applied" in done.stderr
    assert db.applied_versions() == []
    assert not {"a", "b", "c"} & db.tables()


def test_without_the_flag_the_first_two_stay(db: Db, make_migrations: MakeMigrations) -> None:
    """The contrast that makes the test above meaningful."""
    migrations = make_migrations({**GOOD, **BAD_THIRD})
    assert migrator(db, migrations, "up").code == 1
    assert db.applied_versions() == ["001", "002"]


def test_success_applies_all_and_reports_each(
    backend: Backend, db: Db, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({**GOOD, "003_c.up.sql": "CREATE TABLE c (x INTEGER);\n"})
    done = migrator(db, migrations, "--json", "up", "--single-transaction")
    if refused(backend, db, done.code, done.stderr):
        assert done.json()["error"]["message"]
        return
    assert done.code == 0, done.stderr
    assert [s["version"] for s in done.json()["applied"]] == ["001", "002", "003"]
    assert db.applied_versions() == ["001", "002", "003"]
    again = migrator(db, migrations, "up", "--single-transaction")
    assert again.code == 0 and "nothing to apply" in again.stderr


def test_only_pending_ones_join_the_group(
    backend: Backend, db: Db, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({"001_a.up.sql": GOOD["001_a.up.sql"]})
    assert migrator(db, migrations, "up").code == 0
    make_migrations({"002_b.up.sql": GOOD["002_b.up.sql"], **BAD_THIRD})
    done = migrator(db, migrations, "up", "--single-transaction")
    if backend.atomic_ddl:
        assert done.code == 1, done.stderr
    else:
        assert done.code == 2, done.stderr
    assert db.applied_versions() == ["001"]
    assert "b" not in db.tables()


def test_no_transaction_file_is_refused_before_anything_runs(
    backend: Backend, db: Db, make_migrations: MakeMigrations
) -> None:
    migrations = make_migrations({
        **GOOD, "003_v.up.sql": "-- migrator: no-transaction\nSELECT 1;\n",
    })
    done = migrator(db, migrations, "up", "--single-transaction")
    assert done.code == 2
    if backend.atomic_ddl:
        assert "no-transaction" in done.stderr and "003_v.up.sql" in done.stderr
    assert db.applied_versions() == []
    assert not {"a", "b"} & db.tables()
