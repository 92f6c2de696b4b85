"""A failing file on every backend: what is left, and what the error says.

Where DDL is transactional a failing file leaves nothing and the next ``up``
after the fix just runs; on MySQL/MariaDB every statement commits on its own,
so the file is recorded as failed, the error says which statements ran, and
runs stop until ``repair`` says what the database now holds.
"""

from __future__ import annotations

import re

import pytest
from clihelp import MakeMigrations

from contract.backends import Backend, Db
from contract.kit import migrator, no_traceback


def test_failure_reports_statement_and_keeps_earlier_migrations(
    db: Db, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_ok.up.sql": "CREATE TABLE a (id INTEGER);\n",
        "2_bad.up.sql": "INSERT INTO a VALUES (1);\n\n-- the broken one\n"
                        "INSERT INTO no_such_table VALUES (1);\nINSERT INTO a VALUES (2);\n",
    })
    result = migrator(db, d, "up", "--json")
    assert result.code == 1
    error = result.json()["error"]
    assert (error["version"], error["statement"], error["statements"], error["line"]) == \
        ("2", 2, 3, 4)
    assert db.no_such_table("no_such_table") in error["message"]
    assert "2_bad.up.sql:4" in result.stderr
    assert [s["version"] for s in result.json()["applied"]] == ["1"]
    assert db.applied_versions() == ["1"]
    # a file of DML is atomic everywhere (on MySQL: one transaction, no DDL to commit it)
    assert error["rolled_back"] is True
    assert db.rows("a") == []
    assert "as it was before this file" in result.stderr


# -- failure at every statement of a six-statement file ------------------------------

BASE = {"001_base.up.sql": "CREATE TABLE base (id INTEGER PRIMARY KEY, v VARCHAR(20));\n"
                           "INSERT INTO base VALUES (1, 'one'), (2, 'two');\n"}
SECOND = {"002_tags.up.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY, tag VARCHAR(20));\n"
                             "INSERT INTO tags VALUES (1, 'x');\n"}
TARGET = "003_target.up.sql"
GOOD = [
    "CREATE TABLE items (\n  id INTEGER PRIMARY KEY,\n  name VARCHAR(20) UNIQUE,\n"
    "  qty INTEGER\n)",
    "INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2)",
    "ALTER TABLE base ADD COLUMN note VARCHAR(20)",
    "UPDATE base SET note = 'n'",
    "CREATE UNIQUE INDEX items_qty ON items (qty)",
    "INSERT INTO tags VALUES (2, 'y')",
]
BAD = {
    1: "CREATE TABLE base (id INTEGER)",
    2: "INSERT INTO items VALUES (1, 'a', 1), (1, 'b', 2)",
    3: "ALTER TABLE missing ADD COLUMN note VARCHAR(20)",
    4: "UPDATE base SET nope = 'n'",
    5: "CREATE UNIQUE INDEX items_qty ON items (nope)",
    6: "INSERT INTO nowhere VALUES (2, 'y')",
}
N = len(GOOD)


def target_text(bad_k: int | None) -> tuple[str, list[int]]:
    """The six-statement file (statement ``bad_k`` swapped for a failing one) and lines."""
    out = ["-- mixed DDL and DML; every statement can be made to fail", ""]
    lines = []
    for k, sql in enumerate(GOOD, start=1):
        if k == bad_k:
            sql = BAD[k]
        lines.append(len(out) + 1)
        out.extend((sql + ";").splitlines())
        if k % 2 == 0:
            out.append("")  # uneven spacing so line != statement number
    return "\n".join(out) + "\n", lines


@pytest.mark.parametrize("k", range(1, N + 1))
def test_failure_at_statement_k(backend: Backend, db: Db, make_migrations: MakeMigrations,
                                k: int) -> None:
    d = make_migrations(BASE)
    assert migrator(db, d, "up").code == 0
    base_before = db.rows("base")
    text, lines = target_text(k)
    make_migrations({**SECOND, TARGET: text})

    failed = migrator(db, d, "--json", "up")

    assert failed.code == 1, failed
    no_traceback(failed)
    doc = failed.json()
    assert [s["version"] for s in doc["applied"]] == ["002"]  # same run, earlier file: kept
    assert db.applied_versions() == ["001", "002"]
    error = doc["error"]
    assert (error["statement"], error["statements"]) == (k, N)
    assert error["line"] == lines[k - 1]
    assert error["file"] == f"migrations/{TARGET}"
    assert error["message"] and error["message"] in failed.stderr  # the database's words
    assert f"migrations/{TARGET}:{lines[k - 1]}" in failed.stderr
    assert re.search(rf"statement:?\s+{k} of {N}\b", failed.stderr), failed.stderr
    fixed, _ = target_text(None)
    make_migrations({TARGET: fixed})
    if backend.atomic_ddl:
        assert error["rolled_back"] is True and "rolled back" in failed.stderr
        assert db.tables() - backend.bookkeeping == {"base", "tags"}
        assert db.columns("base") == ["id", "v"] and db.rows("base") == base_before
        assert db.rows("tags") == [(1, "x")]
        rerun = migrator(db, d, "--json", "up")
        assert rerun.code == 0, rerun
        assert [s["version"] for s in rerun.json()["applied"]] == ["003"]
        assert db.applied_versions() == ["001", "002", "003"]
        assert db.rows("items") == [(1, "a", 1), (2, "b", 2)]
    else:  # the journal stops every run until someone says what the database holds
        assert error["rolled_back"] is False
        rerun = migrator(db, d, "up")
        assert rerun.code == 1, rerun
        assert f"statement {k} of {N}" in rerun.stderr and "repair" in rerun.stderr
        assert db.applied_versions() == ["001", "002"]


# -- no-transaction files ----------------------------------------------------------------

NO_TX = "-- migrator: no-transaction\n"
NO_TX_GOOD = [
    "CREATE TABLE nt1 (x INTEGER)",
    "INSERT INTO nt1 VALUES (1)",
    "CREATE TABLE nt2 (y INTEGER)",
    "INSERT INTO nt2 VALUES (2)",
]


@pytest.mark.parametrize("k", range(1, len(NO_TX_GOOD) + 1))
def test_no_transaction_failure_reports_what_ran(
    backend: Backend, db: Db, make_migrations: MakeMigrations, k: int
) -> None:
    statements = list(NO_TX_GOOD)
    statements[k - 1] = "INSERT INTO missing_table VALUES (1)"
    d = make_migrations({**BASE, "002_notx.up.sql": NO_TX + "".join(s + ";\n" for s in statements)})

    result = migrator(db, d, "up")

    assert result.code == 1, result.stderr
    err = result.stderr
    total = len(NO_TX_GOOD)
    assert f"migrations/002_notx.up.sql:{k + 1}" in err
    assert re.search(rf"statement:?\s+{k} of {total}\b", err), err
    if k == 1:
        assert "no statement had run" in err
    elif k == 2 and not backend.atomic_ddl:  # the journal's wording for one statement
        assert f"statement 1 of {total} ran" in err
    else:
        assert f"statements 1-{k - 1} of {total} ran" in err
    assert db.no_such_table("missing_table") in err
    assert db.applied_versions() == ["001"]  # nothing recorded for 002
    # what ran before statement k stays; nothing from k on exists
    expected_tables = {"base"}
    if k > 1:
        expected_tables.add("nt1")
    if k > 3:
        expected_tables.add("nt2")
    assert db.tables() - backend.bookkeeping == expected_tables
    assert "schema_migrations" in db.tables()
    if k > 2:
        assert db.rows("nt1") == [(1,)]
    elif k == 2:
        assert db.rows("nt1") == []


def test_failed_no_transaction_file_json(db: Db, make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_partial.up.sql": NO_TX + "CREATE TABLE p (x INTEGER);\n"
                                                     "CREATE TABLE p (x INTEGER);\n"})
    result = migrator(db, d, "up", "--json")
    assert result.code == 1, result
    doc = result.json()
    assert doc["applied"] == []
    assert doc["error"]["statement"] == 2 and doc["error"]["line"] == 3
    assert "already exists" in doc["error"]["message"]
    assert db.applied_versions() == []  # the row is written only after the last one
