"""``migrator diff`` on every backend: a proven migration, written only when safe."""

from __future__ import annotations

from pathlib import Path

from contract.backends import Db
from contract.difftools import DESIRED, hand_made, need_differ, one_migration, written
from contract.kit import migrator, no_traceback


def test_diff_writes_a_migration_that_up_applies_and_down_reverts(db: Db,
                                                                   tmp_path: Path) -> None:
    need_differ(db)
    d = one_migration(tmp_path)
    (tmp_path / "desired.sql").write_text(DESIRED)
    r = migrator(db, d, "diff", "--to", "desired.sql", "--name", "evolve")
    assert r.code == 0, r
    no_traceback(r)
    files = written(d)
    assert [p.name.split("_", 1)[1] for p in files] == ["evolve.down.sql", "evolve.up.sql"]
    assert "proven" in files[1].read_text()
    assert migrator(db, d, "up").code == 0
    assert "w" in db.columns("a") and "b" in db.tables()
    again = migrator(db, d, "diff", "--to", "desired.sql")
    assert again.code == 0 and "no difference" in again.stderr, again
    assert written(d) == files
    assert migrator(db, d, "down").code == 0
    assert "w" not in db.columns("a") and "b" not in db.tables()


def test_destructive_steps_need_the_flag_and_are_marked(db: Db, tmp_path: Path) -> None:
    need_differ(db)
    d = one_migration(tmp_path)
    (tmp_path / "desired.sql").write_text("CREATE TABLE a (id INTEGER PRIMARY KEY);\n")
    r = migrator(db, d, "diff", "--to", "desired.sql")
    assert r.code == 2, r
    no_traceback(r)
    assert "--allow-destructive" in r.stderr
    assert written(d) == []
    doc = migrator(db, d, "--json", "diff", "--to", "desired.sql").json()
    assert doc["error"]["kind"] == "destructive"
    assert any("v" in why for why in doc["error"]["destructive"])  # the column is named
    r = migrator(db, d, "diff", "--to", "desired.sql", "--allow-destructive")
    assert r.code == 0, r
    up = next(p for p in written(d) if p.name.endswith(".up.sql")).read_text()
    assert "-- destructive:" in up


def test_equal_schemas_write_nothing_and_dry_run_prints(db: Db, tmp_path: Path) -> None:
    need_differ(db)
    d = one_migration(tmp_path)
    (tmp_path / "same.sql").write_text(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR(20));\n")
    r = migrator(db, d, "diff", "--to", "same.sql")
    assert r.code == 0 and "no difference" in r.stderr, r
    (tmp_path / "desired.sql").write_text(DESIRED)
    r = migrator(db, d, "--json", "diff", "--to", "desired.sql", "--dry-run")
    assert r.code == 0, r
    doc = r.json()
    assert doc["proof"] == "passed" and doc["written"] is False and doc["warnings"] == []
    assert doc["up"] and doc["down"] and doc["steps"]["up"] >= 2  # MySQL: index inside CREATE
    assert written(d) == []


def test_a_dump_of_the_database_is_a_desired_schema(db: Db, tmp_path: Path) -> None:
    """`migrator dump` names the namespace it read (a PostgreSQL dump qualifies every
    name with its schema): as --to FILE it must still build in the scratch space,
    and the live database must be left alone."""
    need_differ(db)
    d = one_migration(tmp_path)
    assert migrator(db, d, "up").code == 0
    hand_made(db, "ALTER TABLE {a} ADD COLUMN w INTEGER")
    dumped = migrator(db, d, "dump")
    assert dumped.code == 0, dumped
    (tmp_path / "dump.sql").write_text(dumped.stdout)
    before = db.snapshot()
    r = migrator(db, d, "diff", "--to", "dump.sql", "--name", "diff_keep_w")
    assert r.code == 0, r
    no_traceback(r)
    up = next(p for p in written(d) if p.name.endswith(".up.sql")).read_text()
    assert "ADD" in up.upper() and "w" in up, up
    assert db.snapshot() == before
