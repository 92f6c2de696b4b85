"""Out-of-order migrations on every backend: the opt-in directive, ``check-order`` and
``up --prove-order``, which replay both orders on scratch spaces and compare schemas."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clihelp import migration

from contract.backends import Backend, Db
from contract.kit import migrator, no_traceback

FIRST, LATE, NEWEST = "20260101000000", "20260102000000", "20260103000000"
LATE_UP = f"migrations/{LATE}_late.up.sql"


def late_pair(db: Db, root: Path, newest: str, late: str) -> Path:
    """Table a, then ``newest`` applied; ``late`` written afterwards with an older version."""
    migration(root, FIRST, "create_a", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n")
    migration(root, NEWEST, "newest", newest)
    d = root / "migrations"
    r = migrator(db, d, "up")
    assert r.code == 0, r
    migration(root, LATE, "late", late)
    return d


# Each pair: what the newest (applied) migration does, what the late one does.
INDEPENDENT = ("CREATE TABLE c (id INTEGER);\n", "CREATE TABLE b (id INTEGER);\n")
# Each dependent pair also names the column the difference must show.
DEPENDENT = {
    # the late one copies a table whose column the newer one added
    "copies-a-column": ("ALTER TABLE a ADD COLUMN x INTEGER;\n",
                        "CREATE TABLE a_copy AS SELECT * FROM a;\n", "x"),
    # both add a column to one table: the columns' order differs
    "column-order": ("ALTER TABLE a ADD COLUMN y INTEGER;\n",
                     "ALTER TABLE a ADD COLUMN x INTEGER;\n", "y"),
}


def test_independent_pair_is_proven_and_applied(db: Db, tmp_path: Path) -> None:
    d = late_pair(db, tmp_path, *INDEPENDENT)
    before = db.snapshot()
    r = migrator(db, d, "check-order")
    assert r.code == 0, r
    assert r.stdout.startswith(f"order does not matter: applying {LATE}_late"), r
    doc = migrator(db, d, "--json", "check-order").json()
    assert doc["ok"] is True and doc["difference"] is None and doc["compared"] == "schema"
    assert doc["applied"] == [FIRST, NEWEST]
    assert doc["out_of_order"] == [{"version": LATE, "name": "late", "file": LATE_UP}]
    assert db.snapshot() == before  # the proof only reads the database
    assert migrator(db, d, "up").code == 3  # without the proof, still refused
    r = migrator(db, d, "up", "--prove-order")
    assert r.code == 0, r
    assert "order does not matter" in r.stderr
    assert db.applied_versions() == [FIRST, LATE, NEWEST]
    assert "b" in db.tables()
    r = migrator(db, d, "check-order")
    assert r.code == 0 and "nothing to prove" in r.stdout, r


@pytest.mark.parametrize("pair", list(DEPENDENT), ids=list(DEPENDENT))
def test_dependent_pair_is_refused_with_the_difference(db: Db, tmp_path: Path,
                                                       pair: str) -> None:
    newest, late, column = DEPENDENT[pair]
    d = late_pair(db, tmp_path, newest, late)
    before = db.snapshot()
    r = migrator(db, d, "check-order")
    assert r.code == 3, r
    no_traceback(r)
    assert r.stdout.startswith(f"order matters: applying {LATE}_late"), r
    assert "--- schema: all in version order" in r.stdout
    assert "+++ schema: applied, then the out-of-order ones" in r.stdout
    changed = [ln for ln in r.stdout.splitlines() if ln[:1] in "+-" and ln[:3] not in
               ("+++", "---")]
    assert any(re.search(rf"\b{column}\b", ln) for ln in changed), r.stdout
    doc = migrator(db, d, "--json", "check-order")
    assert doc.code == 3 and doc.json()["ok"] is False and doc.json()["difference"]
    r = migrator(db, d, "up", "--prove-order")
    assert r.code == 3, r
    no_traceback(r)
    assert "order matters" in r.stderr and "nothing was run" in r.stderr
    assert db.snapshot() == before
    r = migrator(db, d, "--json", "up", "--prove-order")
    assert r.code == 3, r
    error = r.json()["error"]
    assert error["kind"] == "drift"
    assert error["problems"] == [{"version": LATE, "file": LATE_UP, "kind": "out-of-order"}]
    assert migrator(db, d, "up", "--prove-order", "--dry-run").code == 3
    assert db.snapshot() == before


def test_late_file_that_fails_after_the_applied_ones(db: Db, tmp_path: Path) -> None:
    d = late_pair(db, tmp_path, "CREATE TABLE IF NOT EXISTS c (id INTEGER);\n",
                  "CREATE TABLE c (id INTEGER, y INTEGER);\n")
    r = migrator(db, d, "check-order")
    assert r.code == 3, r
    no_traceback(r)
    assert f"{LATE}_late fails after the applied ones" in r.stdout, r


def test_directive_lets_a_late_file_run_without_the_flag(db: Db, tmp_path: Path) -> None:
    d = late_pair(db, tmp_path, "CREATE TABLE c (id INTEGER);\n",
                  "-- migrator: out-of-order-ok -- a new table, nothing else\n"
                  "CREATE TABLE b (id INTEGER);\n")
    r = migrator(db, d, "status")
    assert "out of order, allowed by its out-of-order-ok directive" in r.stdout, r
    r = migrator(db, d, "status", "--exit-code")
    assert r.code == 1, r  # pending, not drift
    r = migrator(db, d, "up")
    assert r.code == 0, r
    assert db.applied_versions() == [FIRST, LATE, NEWEST]


def test_missing_applied_file_is_drift(db: Db, tmp_path: Path) -> None:
    d = late_pair(db, tmp_path, *INDEPENDENT)
    (d / f"{FIRST}_create_a.up.sql").unlink()
    for args in (["check-order"], ["check-order", "--allow-modified"], ["up", "--prove-order"]):
        r = migrator(db, d, *args)
        assert r.code == 3, (args, r)
        no_traceback(r)
        assert f"{FIRST}_create_a" in r.stderr and "missing" in r.stderr, r


def test_view_over_star_follows_the_dialect(backend: Backend, db: Db, tmp_path: Path) -> None:
    """PostgreSQL and MySQL expand ``*`` when the view is made, so the late view misses the
    newer column only in version order; SQLite and DuckDB expand it when it is read."""
    d = late_pair(db, tmp_path, "ALTER TABLE a ADD COLUMN x INTEGER;\n",
                  "CREATE VIEW v AS SELECT * FROM a;\n")
    r = migrator(db, d, "check-order")
    no_traceback(r)
    expands_when_made = backend.name in ("postgres", "mysql")
    assert r.code == (3 if expands_when_made else 0), r
    if expands_when_made:
        assert "-- view v" in r.stdout and re.search(r"^\+.*\bx\b", r.stdout, re.M), r.stdout
