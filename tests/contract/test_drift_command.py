"""``migrator drift`` on every backend: the live schema against its applied migrations.

(tests/contract/test_drift.py is about checksum drift of the files.)
"""

from __future__ import annotations

from pathlib import Path

from contract.backends import Db
from contract.difftools import hand_made, need_differ, one_migration
from contract.kit import migrator, no_traceback


def test_drift_is_zero_when_equal_and_three_with_both_ways_out(db: Db, tmp_path: Path) -> None:
    need_differ(db)
    d = one_migration(tmp_path)
    (d / "20260102000000_pending.up.sql").write_text("CREATE TABLE pending (x INTEGER);\n")
    assert migrator(db, d, "up", "--to", "20260101000000").code == 0
    r = migrator(db, d, "drift")
    assert r.code == 0 and "no drift" in r.stderr, r
    hand_made(db, "ALTER TABLE {a} ADD COLUMN hotfix INTEGER")
    before = db.snapshot()
    r = migrator(db, d, "drift")
    assert r.code == 3, r
    no_traceback(r)
    assert "hotfix" in r.stdout
    back, keep = r.stdout.split("-- to bring the live database back:")[1].split(
        "-- to keep the live change as a migration (up file):")
    assert "hotfix" in back and "hotfix" in keep
    doc = migrator(db, d, "--json", "drift").json()
    assert doc["drift"] is True and doc["applied"] == ["20260101000000"]
    assert doc["difference"] and "hotfix" in doc["keep"]
    assert db.snapshot() == before  # only read


def test_drift_with_an_applied_file_missing_exits_3(db: Db, tmp_path: Path) -> None:
    need_differ(db)
    d = one_migration(tmp_path)
    assert migrator(db, d, "up").code == 0
    for p in d.iterdir():
        p.unlink()
    r = migrator(db, d, "drift")
    assert r.code == 3, r
    no_traceback(r)
    assert "20260101000000" in r.stderr and "missing" in r.stderr
