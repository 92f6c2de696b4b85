"""Bad input on every backend: exit 2, every problem named, the database untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clihelp import migration, write

from contract.backends import Db
from contract.kit import VERSIONS, migrator, no_traceback, three


@pytest.fixture
def proj(db: Db, tmp_path: Path) -> Path:
    """``three`` with the first applied; the migrations directory."""
    d = three(tmp_path)
    assert migrator(db, d, "up", "--to", VERSIONS[0]).code == 0
    return d


def test_invalid_files_named_all_at_once(db: Db, proj: Path) -> None:
    before = db.snapshot()
    write(proj / "20260201000000_dup.up.sql", "SELECT 1;")
    write(proj / "20260201000000_dup_again.up.sql", "SELECT 1;")
    write(proj / "20260202000000_bad name.up.sql", "SELECT 1;")
    write(proj / "20260203000000_orphan.down.sql", "SELECT 1;")
    write(proj / "20260204000000_latin1.up.sql", b"INSERT INTO a (v) VALUES ('caf\xe9');")
    write(proj / "README.md", "not a migration")
    write(proj / ".gitkeep", "")
    for cmd in (["up"], ["down"], ["status"], ["up", "--dry-run"]):
        r = migrator(db, proj, *cmd)
        assert r.code == 2, (cmd, r)
        no_traceback(r)
        for name in ("20260201000000_dup.up.sql", "20260201000000_dup_again.up.sql",
                     "20260202000000_bad name.up.sql", "20260203000000_orphan.down.sql",
                     "20260204000000_latin1.up.sql"):
            assert name in r.stderr, (cmd, name, r)
        assert "README" not in r.stderr and "gitkeep" not in r.stderr
        assert "offset" in r.stderr  # the byte offset of the bad UTF-8
        assert db.snapshot() == before


@pytest.mark.parametrize(("up", "needle"), [
    ("BEGIN;\nCREATE TABLE z (x INTEGER);\nCOMMIT;\n", "no-transaction"),
    ("CREATE TABLE z (x INTEGER);\nSAVEPOINT s;\nRELEASE SAVEPOINT s;\n", "no-transaction"),
    ("-- migrator: no-transactions\nCREATE TABLE z (x INTEGER);\n", "unknown directive"),
])
def test_invalid_file_among_valid_ones_changes_nothing(
    db: Db, proj: Path, up: str, needle: str
) -> None:
    path = migration(proj.parent, "20260104000000", "bad", up)
    before = db.snapshot()
    r = migrator(db, proj, "up")
    assert r.code == 2, r
    no_traceback(r)
    assert needle in r.stderr
    assert str(path.relative_to(proj.parent)) in r.stderr
    assert re.search(r"20260104000000_bad\.up\.sql:\d+", r.stderr), r.stderr
    assert db.snapshot() == before
    # the valid pending migrations did not run either
    assert db.applied_versions() == VERSIONS[:1]


def test_invalid_files_json_lists_each_problem(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    migration(tmp_path, "20260104000000", "tx", "BEGIN;\nSELECT 1;\nCOMMIT;\n")
    (d / "20260105000000_orphan.down.sql").write_text("SELECT 1;")
    r = migrator(db, d, "up", "--json")
    assert r.code == 2, r
    assert {p["file"] for p in r.json()["error"]["problems"]} == {
        "migrations/20260105000000_orphan.down.sql"}
    (d / "20260105000000_orphan.down.sql").unlink()
    r = migrator(db, d, "up", "--json")
    assert r.code == 2, r
    assert r.stderr  # and a human message on stderr
    assert [(p["file"], p["line"]) for p in r.json()["error"]["problems"]] == [
        ("migrations/20260104000000_tx.up.sql", 1), ("migrations/20260104000000_tx.up.sql", 3)]
    assert db.tables() == set()
