"""--json on every backend: stdout is exactly one document, for success and failure."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from clihelp import Result, migration

from contract.backends import Backend, Db
from contract.kit import A_UP, B_UP, VERSIONS, migrator, three

STEP_KEYS = {"version", "name", "duration_ms"}
NAMES = ["create_a", "create_b", "create_c"]


def doc(r: Result, code: int) -> Any:
    assert r.code == code, r
    assert "Traceback" not in r.stderr, r
    return r.json()  # raises on empty output or on anything after the document


def _steps(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    for e in entries:
        assert set(e) >= STEP_KEYS, e
        assert isinstance(e["duration_ms"], int) and e["duration_ms"] >= 0
    return [(e["version"], e["name"]) for e in entries]


def test_status_json(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    s = doc(migrator(db, d, "status", "--json"), 0)
    assert db.tables() == set()
    assert [(m["version"], m["name"], m["state"], m["applied_at"]) for m in s["migrations"]] == [
        (v, n, "pending", None) for v, n in zip(VERSIONS, NAMES, strict=True)]
    assert migrator(db, d, "up", "--to", VERSIONS[1]).code == 0
    s = doc(migrator(db, d, "--json", "status", "--exit-code"), 1)
    for m in s["migrations"]:
        assert {"version", "name", "state", "applied_at", "checksum"} <= set(m)
    a, b, c = s["migrations"]
    assert a["state"] == b["state"] == "applied" and c["state"] == "pending"
    assert isinstance(a["applied_at"], str) and a["applied_at"].startswith("20")
    assert b["checksum"] == hashlib.sha256((tmp_path / B_UP).read_bytes()).hexdigest()
    (tmp_path / A_UP).write_text("SELECT 'edited';\n")
    s = doc(migrator(db, d, "status", "--json", "--exit-code"), 3)
    assert s["migrations"][0]["state"] == "modified"


def test_up_down_redo_json(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    j = doc(migrator(db, d, "up", "--json", "-v"), 0)  # -v talks on stderr only
    assert _steps(j["applied"]) == list(zip(VERSIONS, NAMES, strict=True))
    assert doc(migrator(db, d, "up", "--json"), 0) == {"applied": []}
    j = doc(migrator(db, d, "--json", "down", "--steps", "2"), 0)
    assert _steps(j["rolled_back"]) == [(VERSIONS[2], "create_c"), (VERSIONS[1], "create_b")]
    assert doc(migrator(db, d, "up", "--json", "--to", VERSIONS[1]), 0)["applied"][0]["name"] \
        == "create_b"
    j = doc(migrator(db, d, "redo", "--json", "--steps", "2"), 0)
    assert _steps(j["rolled_back"]) == [(VERSIONS[1], "create_b"), (VERSIONS[0], "create_a")]
    assert _steps(j["applied"]) == [(VERSIONS[0], "create_a"), (VERSIONS[1], "create_b")]
    j = doc(migrator(db, d, "down", "--all", "--json"), 0)
    assert len(j["rolled_back"]) == 2
    assert doc(migrator(db, d, "down", "--json"), 0) == {"rolled_back": []}


def test_failed_migration_json(backend: Backend, db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    migration(tmp_path, "20260104000000", "broken",
              "CREATE TABLE d (x INTEGER);\n-- the next one fails\n"
              "INSERT INTO nowhere VALUES (1);\n")
    j = doc(migrator(db, d, "up", "--json"), 1)
    assert _steps(j["applied"]) == list(zip(VERSIONS, NAMES, strict=True))
    err = j["error"]
    assert {"version", "file", "statement", "line", "message"} <= set(err)
    assert err["version"] == "20260104000000"
    assert err["file"] == "migrations/20260104000000_broken.up.sql"
    assert err["statement"] == 2 and err["line"] == 3
    assert db.no_such_table("nowhere") in err["message"]
    assert db.applied_versions() == VERSIONS
    assert ("d" in db.tables()) == (not backend.atomic_ddl)  # MySQL: DDL committed itself


def test_failed_rollback_json(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    assert migrator(db, d, "up").code == 0
    (d / "20260102000000_create_b/down.sql").write_text("DROP TABLE nope;\n")
    j = doc(migrator(db, d, "down", "--all", "--json"), 1)
    assert _steps(j["rolled_back"]) == [(VERSIONS[2], "create_c")]
    assert j["error"]["version"] == VERSIONS[1]
    assert j["error"]["file"] == "migrations/20260102000000_create_b/down.sql"
    assert db.applied_versions() == VERSIONS[:2]


def test_verify_json(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    assert migrator(db, d, "up").code == 0
    assert doc(migrator(db, d, "verify", "--json"), 0)["ok"] is True
    a_up = tmp_path / A_UP
    a_up.write_bytes(a_up.read_bytes().replace(b"\n", b"\r\n"))
    j = doc(migrator(db, d, "verify", "--json"), 0)
    assert j["ok"] is True and j["problems"] == []
    assert "20260101000000_create_a.up.sql" in str(j)  # mentioned all the same
    (d / "20260103000000_create_c.up.sql").write_text("SELECT 1;\n")
    b_dir = d / "20260102000000_create_b"
    for p in b_dir.iterdir():
        p.unlink()
    b_dir.rmdir()
    j = doc(migrator(db, d, "--json", "verify"), 3)
    assert j["ok"] is False
    assert sorted((p["version"], p["file"], p["kind"]) for p in j["problems"]) == [
        (VERSIONS[1], None, "missing"),
        (VERSIONS[2], "migrations/20260103000000_create_c.up.sql", "modified")]


def test_dry_run_json(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    j = doc(migrator(db, d, "up", "--dry-run", "--json"), 0)
    assert db.tables() == set()
    assert [m["version"] for m in j["applied"]] == VERSIONS
    assert "CREATE TABLE a" in j["sql"] and "schema_migrations" in j["sql"]
    assert migrator(db, d, "up").code == 0
    j = doc(migrator(db, d, "down", "--dry-run", "--json", "--all"), 0)
    assert [m["version"] for m in j["rolled_back"]] == VERSIONS[::-1]
    assert db.applied_versions() == VERSIONS


def test_baseline_and_unlock_json(db: Db, tmp_path: Path) -> None:
    d = three(tmp_path)
    j = doc(migrator(db, d, "baseline", VERSIONS[1], "--json"), 0)
    assert [b["version"] for b in j["baselined"]] == VERSIONS[:2]
    assert isinstance(doc(migrator(db, d, "unlock", "--json"), 0)["message"], str)
