"""``rebase -u URL`` on every backend: an applied migration never moves; a rolled-back one may."""

from __future__ import annotations

from pathlib import Path

from contract.backends import Db
from contract.kit import VERSIONS, fourth, migrator, no_traceback, three


def test_rebase_refuses_what_the_database_applied(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    fourth(tmp_path)
    assert migrator(db, d, "hash").code == 0
    r = migrator(db, d, "up", "--to", VERSIONS[2])
    assert r.code == 0, r
    before = db.snapshot()
    names = sorted(p.name for p in d.iterdir())
    r = migrator(db, d, "rebase", VERSIONS[1], "--json")  # create_b: applied here
    assert r.code == 2, r
    no_traceback(r)
    assert r.json()["error"]["kind"] == "applied"
    assert [a["version"] for a in r.json()["error"]["applied"]] == [VERSIONS[1]]
    assert f"{VERSIONS[1]}_create_b: applied on" in r.stderr
    assert sorted(p.name for p in d.iterdir()) == names
    assert db.snapshot() == before
    # the pending one moves; the database then applies it under its new version
    r = migrator(db, d, "rebase", "20260104000000", "--json")
    assert r.code == 0, r
    new = r.json()["rebased"][0]["version"]
    assert int(new) > 20260104000000
    assert db.snapshot() == before  # asked, not written
    r = migrator(db, d, "up")
    assert r.code == 0, r
    assert db.applied_versions() == [*VERSIONS, new]
