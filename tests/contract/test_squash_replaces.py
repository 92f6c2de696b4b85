"""A squashed migration that deployed databases follow, on every backend (issue #13.4).

``squash`` writes ``-- migrator: replaces V1 V2 ...``; on ``up`` a database whose
rows cover exactly those versions gets the squashed row in their place in one
transaction, running nothing; a partly covered one is refused (exit 3); a
fresh one runs the file.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from clihelp import migration

from contract.backends import Backend, Db
from contract.kit import VERSIONS, D, LockHolder, fourth, migrator, no_traceback, three

SQUASHED = VERSIONS[2]
ALL = " ".join(VERSIONS)


def user_tables(db: Db) -> dict[str, object]:
    """Every table but the bookkeeping ones, with its rows: what migrations built."""
    return {t: sorted(db.rows(t), key=repr) for t in sorted(db.tables())
            if not t.startswith("schema_migrations")}


def by_hand(root: Path) -> Path:
    """``three``'s files replaced by one hand-written squashed file; the directory."""
    d = root / "migrations"
    shutil.rmtree(d, ignore_errors=True)
    migration(root, SQUASHED, "squashed",
              f"-- migrator: replaces {ALL}\n"
              "CREATE TABLE a (id INTEGER PRIMARY KEY, v VARCHAR(50));\n"
              "INSERT INTO a (id, v) VALUES (1, 'one');\n"
              "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n"
              "CREATE INDEX b_a ON b (a_id);\n"
              "CREATE TABLE c (x VARCHAR(50));\nINSERT INTO c VALUES ('it''s; tricky');\n",
              "DROP TABLE c;\nDROP TABLE b;\nDROP TABLE a;\n")
    return d


def test_squash_then_up_records_it_in_place(db: Db, tmp_path: Path) -> None:
    """Old rows and a newer one after them: the covered rows become the squashed row."""
    d = three(tmp_path)
    fourth(tmp_path)
    assert migrator(db, d, "up").code == 0
    built = user_tables(db)
    squash = migrator(db, d, "squash", "--to", SQUASHED)
    assert squash.code == 0, squash
    up_file = d / f"{SQUASHED}_squashed.up.sql"
    assert f"-- migrator: replaces {ALL}\n" in up_file.read_text()

    status = migrator(db, d, "status")
    assert status.code == 0, status
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith(SQUASHED))
    assert "pending" in line and f"replaces {ALL}, will be recorded without running" in line
    doc = migrator(db, d, "status", "--json").json()
    assert [(m["version"], m["state"]) for m in doc["migrations"]] == [
        (SQUASHED, "pending"), (D, "applied")]
    assert "will be recorded without running" in doc["migrations"][0]["note"]
    assert migrator(db, d, "status", "--exit-code").code == 1  # up has work to do
    assert migrator(db, d, "verify").code == 0  # no drift: the rows only await the rewrite
    dry = migrator(db, d, "up", "--dry-run", "--json")
    assert dry.code == 0, dry
    assert dry.json()["replaced"] == [
        {"version": SQUASHED, "name": "squashed", "replaces": VERSIONS}]
    assert "will be recorded without running" in dry.json()["sql"]
    assert db.applied_versions() == [*VERSIONS, D]  # the dry run wrote nothing

    up = migrator(db, d, "up", "--json")
    assert up.code == 0, up
    no_traceback(up)
    assert up.json()["applied"] == []
    assert up.json()["replaced"] == [
        {"version": SQUASHED, "name": "squashed", "replaces": VERSIONS}]
    assert db.applied_versions() == [SQUASHED, D]
    row = db.query(f"SELECT name, checksum FROM {db.ref('schema_migrations')} "
                   f"WHERE version = '{SQUASHED}'")
    assert [tuple(r) for r in row] == [
        ("squashed", hashlib.sha256(up_file.read_bytes()).hexdigest())]
    assert user_tables(db) == built  # nothing ran
    assert migrator(db, d, "verify").code == 0
    assert migrator(db, d, "status", "--exit-code").code == 0
    again = migrator(db, d, "up", "--json")
    assert again.code == 0 and "replaced" not in again.json(), again

    # down of the squashed migration runs its down file; up runs the squashed file
    down = migrator(db, d, "down", "--steps", "2")
    assert down.code == 0, down
    assert db.applied_versions() == [] and user_tables(db) == {}
    assert migrator(db, d, "up").code == 0
    assert user_tables(db) == built


def test_history_only_is_the_same_rewrite_at_once(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    assert migrator(db, d, "up").code == 0
    d = by_hand(tmp_path)
    r = migrator(db, d, "squash", "--to", SQUASHED, "--history-only", "--json")
    assert r.code == 0, r
    assert r.json() == {"removed": VERSIONS, "recorded": SQUASHED}
    assert db.applied_versions() == [SQUASHED]
    assert migrator(db, d, "verify").code == 0


def test_partly_applied_database_is_refused(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    assert migrator(db, d, "up", "--to", VERSIONS[0]).code == 0
    d = by_hand(tmp_path)
    fourth(tmp_path)
    before = db.snapshot()
    for cmd in (["up"], ["up", "--dry-run"], ["up", "--allow-modified"]):
        r = migrator(db, d, *cmd)
        assert r.code == 3, (cmd, r)
        no_traceback(r)
        assert f"applied only {VERSIONS[0]} (missing {VERSIONS[1]}, {VERSIONS[2]})" in r.stderr
        assert db.snapshot() == before
    s = migrator(db, d, "status")
    assert s.code == 0 and "up refuses" in s.stdout, s
    assert migrator(db, d, "status", "--exit-code").code == 3  # the old row is missing


def test_fresh_database_runs_the_file_and_originals_must_go(db: Db, tmp_path: Path) -> None:
    d = by_hand(tmp_path)
    up = migrator(db, d, "up", "--json")
    assert up.code == 0, up
    assert [a["version"] for a in up.json()["applied"]] == [SQUASHED]
    assert "replaced" not in up.json()
    assert db.applied_versions() == [SQUASHED]
    assert db.rows("a") == [(1, "one")]

    # a replaced file next to the file that replaces it: refused before the database
    migration(tmp_path, VERSIONS[0], "create_a", "CREATE TABLE a (id INTEGER);\n")
    before = db.snapshot()
    for cmd in (["up"], ["status"]):
        r = migrator(db, d, *cmd)
        assert r.code == 2, (cmd, r)
        no_traceback(r)
        assert f"{VERSIONS[0]}_create_a.up.sql" in r.stderr and "squashed/" in r.stderr
    assert db.snapshot() == before


def test_rewrite_waits_for_the_run_lock(backend: Backend, db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    assert migrator(db, d, "up").code == 0
    d = by_hand(tmp_path)
    with LockHolder(db, d):
        r = migrator(db, d, "up")
        assert r.code == 4, r
        assert any(words in r.stderr for words in backend.held_words), r.stderr
    assert db.applied_versions() == VERSIONS
    r = migrator(db, d, "up")
    assert r.code == 0, r
    assert db.applied_versions() == [SQUASHED]


def test_down_before_the_rewrite_says_to_run_up(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    assert migrator(db, d, "up").code == 0
    d = by_hand(tmp_path)
    before = db.snapshot()
    r = migrator(db, d, "down")
    assert r.code == 3, r
    assert "run 'migrator up' first" in r.stderr
    assert db.snapshot() == before
