"""A failing statement undoes its whole file, and only its file.

For a file of six statements (DDL and DML mixed) statement k is made to
fail, for every k: the database must afterwards equal the state before the
file exactly, the files before it in the same run stay applied, the error
names file:line and "statement k of 6", and once the file is fixed the next
``up`` finishes without any manual step.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

from migrator import MigrationFailed, Migrator

BASE = {
    "001_base.up.sql": (
        "CREATE TABLE base(id INTEGER PRIMARY KEY, v TEXT NOT NULL);\n"
        "INSERT INTO base VALUES (1, 'one'), (2, 'two');\n"
    ),
}
SECOND = {
    "002_tags.up.sql": (
        "CREATE TABLE tags(id INTEGER PRIMARY KEY, tag TEXT UNIQUE);\n"
        "INSERT INTO tags(tag) VALUES ('x');\n"
    ),
}
TARGET = "003_target.up.sql"
GOOD = [
    "CREATE TABLE items(\n  id INTEGER PRIMARY KEY,\n  name TEXT UNIQUE,\n"
    "  qty INTEGER CHECK (qty >= 0)\n)",
    "INSERT INTO items(name, qty) VALUES ('a', 1), ('b', 2)",
    "ALTER TABLE base ADD COLUMN note TEXT",
    "UPDATE base SET note = 'n' || id",
    "CREATE UNIQUE INDEX items_qty ON items(qty)",
    "INSERT INTO tags(tag) VALUES ('y')",
]
BAD = {
    1: ("CREATE TABLE base(id INTEGER)", "already exists"),
    2: ("INSERT INTO items(name, qty) VALUES ('a', 1), ('a', 2)", "UNIQUE constraint failed"),
    3: ("ALTER TABLE missing ADD COLUMN note TEXT", "no such table"),
    4: ("UPDATE items SET qty = -1 WHERE name = 'b'", "CHECK constraint failed"),
    5: ("CREATE UNIQUE INDEX items_blank ON items(substr(name, 1, 0))",
        "UNIQUE constraint failed"),
    6: ("INSERT INTO nowhere(tag) VALUES ('y')", "no such table"),
}
N = len(GOOD)


def target_text(bad_k: int | None) -> tuple[str, list[int]]:
    """The six-statement file (statement ``bad_k`` swapped for a failing one) and lines."""
    out = ["-- mixed DDL and DML; every statement can be made to fail", ""]
    lines = []
    for k, sql in enumerate(GOOD, start=1):
        if k == bad_k:
            sql = BAD[k][0]
        lines.append(len(out) + 1)
        out.extend((sql + ";").splitlines())
        if k % 2 == 0:
            out.append("")  # uneven spacing so line != statement number
    return "\n".join(out) + "\n", lines


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """001 applied in an earlier run; 002 pending; returns (db, migrations dir)."""
    migrations = h.write_files(tmp_path / "migrations", BASE)
    db = tmp_path / "app.db"
    Migrator(f"sqlite:///{db}", migrations).up()
    h.write_files(migrations, SECOND)
    return db, migrations


def reference_without_target(tmp_path: Path, db: Path) -> dict[str, object]:
    """The state just before 003: the db as it is now, plus 002 only."""
    ref_dir = h.write_files(tmp_path / "ref_migrations", {**BASE, **SECOND})
    ref_db = tmp_path / "ref.db"
    shutil.copy(db, ref_db)
    Migrator(f"sqlite:///{ref_db}", ref_dir).up()
    return h.comparable(ref_db)


def clean_schema(tmp_path: Path) -> list[tuple[object, ...]]:
    text, _ = target_text(None)
    clean_dir = h.write_files(tmp_path / "clean_migrations", {**BASE, **SECOND, TARGET: text})
    clean_db = tmp_path / "clean.db"
    Migrator(f"sqlite:///{clean_db}", clean_dir).up()
    return h.schema(clean_db)


@pytest.mark.parametrize("k", range(1, N + 1))
def test_cli_failure_at_statement_k_rolls_back_the_file(
    tmp_path: Path, project: tuple[Path, Path], k: int
) -> None:
    db, migrations = project
    before_rows = h.snapshot(db)["data"]["schema_migrations"]  # type: ignore[index]
    text, lines = target_text(k)
    h.write_files(migrations, {TARGET: text})
    expected = reference_without_target(tmp_path, db)

    failed = h.run_cli(db, migrations, "--json", "up")

    assert failed.code == 1, failed.stderr
    assert h.comparable(db) == expected
    # 001's row is untouched byte for byte; 002 (same run, earlier file) stays applied
    rows = h.snapshot(db)["data"]["schema_migrations"]  # type: ignore[index]
    assert [r for r in rows if r[0] == "001"] == before_rows
    assert h.applied_versions(db) == ["001", "002"]
    doc = json.loads(failed.stdout)
    assert h.versions_in(doc["applied"]) == ["002"]
    assert doc["error"]["statement"] == k
    assert doc["error"]["line"] == lines[k - 1]
    assert doc["error"]["file"] == f"migrations/{TARGET}"
    assert BAD[k][1] in doc["error"]["message"]
    err = failed.stderr
    assert f"migrations/{TARGET}:{lines[k - 1]}" in err
    assert re.search(rf"statement:?\s+{k} of {N}\b", err), err
    assert "rolled back" in err
    assert BAD[k][1] in err
    assert "Traceback" not in err

    fixed, _ = target_text(None)
    h.write_files(migrations, {TARGET: fixed})
    rerun = h.run_cli(db, migrations, "--json", "up")
    assert rerun.code == 0, rerun.stderr
    assert h.versions_in(json.loads(rerun.stdout)["applied"]) == ["003"]
    assert h.schema(db) == clean_schema(tmp_path)
    assert h.applied_versions(db) == ["001", "002", "003"]
    assert h.integrity_ok(db)


@pytest.mark.parametrize("k", range(1, N + 1))
def test_api_failure_carries_info_and_completed(
    tmp_path: Path, project: tuple[Path, Path], k: int
) -> None:
    db, migrations = project
    text, lines = target_text(k)
    h.write_files(migrations, {TARGET: text})
    expected = reference_without_target(tmp_path, db)

    with pytest.raises(MigrationFailed) as caught:
        Migrator(f"sqlite:///{db}", migrations).up()

    info = caught.value.info
    assert (info.version, info.statement, info.total) == ("003", k, N)
    assert info.line == lines[k - 1]
    assert info.file.endswith(TARGET)
    assert info.transactional is True
    assert BAD[k][1] in info.db_error.message
    assert [s.version for s in caught.value.completed] == ["002"]
    assert h.comparable(db) == expected

    fixed, _ = target_text(None)
    h.write_files(migrations, {TARGET: fixed})
    result = Migrator(f"sqlite:///{db}", migrations).up()
    assert [s.version for s in result.done] == ["003"]
    assert h.schema(db) == clean_schema(tmp_path)


# -- no-transaction files -------------------------------------------------------------

NO_TX = "-- migrator: no-transaction\n"


def test_no_transaction_file_runs_vacuum_and_journal_mode(tmp_path: Path) -> None:
    migrations = h.write_files(tmp_path / "migrations", {
        **BASE,
        "002_maintenance.up.sql": NO_TX + "VACUUM;\nPRAGMA journal_mode=WAL;\n",
        "003_after.up.sql": "INSERT INTO base VALUES (3, 'three');\n",
    })
    db = tmp_path / "app.db"

    result = h.run_cli(db, migrations, "up")

    assert result.code == 0, result.stderr
    assert h.applied_versions(db) == ["001", "002", "003"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT count(*) FROM base").fetchone() == (3,)
    conn.close()


NO_TX_GOOD = [
    "CREATE TABLE nt1(x)",
    "INSERT INTO nt1 VALUES (1)",
    "CREATE TABLE nt2(y)",
    "INSERT INTO nt2 VALUES (2)",
]


