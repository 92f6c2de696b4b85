"""Drift on every backend: modified, missing and out-of-order files exit 3, changing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.backends import Db
from contract.kit import A_UP, B_UP, VERSIONS, D, fourth, migrator, no_traceback, three


@pytest.fixture
def migrated(db: Db, tmp_path: Path) -> Path:
    """``three`` applied, a fourth migration pending; the migrations directory."""
    d = three(tmp_path)
    r = migrator(db, d, "up")
    assert r.code == 0, r
    fourth(tmp_path)
    return d


def test_modified_file_stops_up_and_changes_nothing(db: Db, migrated: Path) -> None:
    root = migrated.parent
    (root / A_UP).write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\n")
    before = db.snapshot()
    r = migrator(db, migrated, "up")
    assert r.code == 3, r
    no_traceback(r)
    assert A_UP in r.stderr and "--allow-modified" in r.stderr
    assert db.snapshot() == before
    for cmd in (["up", "--dry-run"], ["down", "--all"]):
        r = migrator(db, migrated, *cmd)
        assert r.code == 3, (cmd, r)
        assert A_UP in r.stderr
        assert db.snapshot() == before
    s = migrator(db, migrated, "status")
    assert s.code == 0, s
    assert [ln.split()[2] for ln in s.stdout.splitlines()[1:]] == [
        "modified", "applied", "applied", "pending"]
    assert migrator(db, migrated, "status", "--exit-code").code == 3
    v = migrator(db, migrated, "verify")
    assert v.code == 3, v
    assert A_UP in v.stdout and "modified" in v.stdout
    # --allow-modified runs the pending one and leaves the modified one as it is
    r = migrator(db, migrated, "up", "--allow-modified")
    assert r.code == 0, r
    assert db.applied_versions() == [*VERSIONS, D]
    assert "w" not in db.columns("a")


def test_down_of_modified_file_needs_allow_modified(db: Db, migrated: Path) -> None:
    (migrated / "20260103000000_create_c.up.sql").write_text("CREATE TABLE c (y INTEGER);\n")
    before = db.snapshot()
    r = migrator(db, migrated, "down")
    assert r.code == 3, r
    assert "20260103000000_create_c.up.sql" in r.stderr
    assert db.snapshot() == before
    r = migrator(db, migrated, "down", "--allow-modified")
    assert r.code == 0, r
    assert db.applied_versions() == VERSIONS[:2]


def test_missing_file_stops_up(db: Db, migrated: Path) -> None:
    b_dir = (migrated.parent / B_UP).parent
    for p in b_dir.iterdir():
        p.unlink()
    b_dir.rmdir()
    before = db.snapshot()
    r = migrator(db, migrated, "up")
    assert r.code == 3, r
    assert "20260102000000_create_b" in r.stderr and "missing" in r.stderr
    assert db.snapshot() == before
    s = migrator(db, migrated, "status", "--exit-code")
    assert s.code == 3, s
    assert s.stdout.splitlines()[2].split()[:3] == ["20260102000000", "create_b", "missing"]
    v = migrator(db, migrated, "verify")
    assert v.code == 3 and "missing" in v.stdout, v
    r = migrator(db, migrated, "down", "--steps", "2")  # c, then b whose file is gone
    assert r.code == 3, r
    assert db.snapshot() == before
    r = migrator(db, migrated, "up", "--allow-modified")
    assert r.code == 0, r
    assert "d" in db.tables()


def test_drift_modified_and_missing_files_json(db: Db, migrated: Path) -> None:
    (migrated.parent / A_UP).write_text("CREATE TABLE a (id INTEGER, x INTEGER);\n")
    (migrated / "20260103000000_create_c.up.sql").unlink()
    (migrated / "20260103000000_create_c.down.sql").unlink()
    verify = migrator(db, migrated, "verify", "--json")
    assert verify.code == 3
    kinds = {(p["version"], p["kind"]) for p in verify.json()["problems"]}
    assert kinds == {(VERSIONS[0], "modified"), (VERSIONS[2], "missing")}
    up = migrator(db, migrated, "--json", "up")
    assert up.code == 3
    assert {"version": VERSIONS[0], "kind": "modified", "file": A_UP} in \
        up.json()["error"]["problems"]
    assert migrator(db, migrated, "status", "--exit-code").code == 3


def test_out_of_order_is_refused_unless_allowed(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    late = d / "20260102000000_create_b"
    hidden = tmp_path / "hidden_b"
    late.rename(hidden)
    assert migrator(db, d, "up").code == 0
    hidden.rename(late)
    before = db.snapshot()
    r = migrator(db, d, "up")
    assert r.code == 3, r
    no_traceback(r)
    assert B_UP in r.stderr and "--allow-out-of-order" in r.stderr
    assert db.snapshot() == before
    assert migrator(db, d, "up", "--dry-run").code == 3
    r = migrator(db, d, "status", "--exit-code")
    assert r.code == 3, r
    assert "out of order" in r.stdout
    r = migrator(db, d, "up", "--allow-out-of-order")
    assert r.code == 0, r
    assert db.applied_versions() == VERSIONS
    assert "b" in db.tables()
