"""--json: stdout is exactly one JSON document for every command and every exit code.

Scripts parse stdout without looking at the exit code first, so errors (2, 3,
4) and failed migrations (1) must produce a document too. The documents of
status, up/down/redo, verify and failed runs are checked on every backend in
tests/contract/test_json.py; what is left here is SQLite's own or needs no database.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clihelp import VERSIONS, Result, applied, clean_env, cli, migration, run, tables, three


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    three(tmp_path)
    return tmp_path


def doc(r: Result, code: int) -> Any:
    assert r.code == code, r
    assert "Traceback" not in r.stderr, r
    return r.json()  # raises on empty output or on anything after the document


def test_dry_run_json(proj: Path) -> None:
    d = doc(run(proj, "up", "--dry-run", "--json"), 0)
    assert not (proj / "app.db").exists()
    assert [m["version"] for m in d["applied"]] == VERSIONS
    assert "BEGIN" in d["sql"]
    conn = sqlite3.connect(proj / "by_hand.db", isolation_level=None)
    conn.executescript(d["sql"])
    conn.close()
    assert tables(proj / "by_hand.db") == ["a", "b", "c", "schema_migrations"]
    assert run(proj, "up").code == 0
    d = doc(run(proj, "down", "--dry-run", "--json", "--all"), 0)
    assert [m["version"] for m in d["rolled_back"]] == VERSIONS[::-1]
    assert applied(proj / "app.db") == VERSIONS


def test_other_commands_json(proj: Path) -> None:
    d = doc(cli(proj, "new", "x_y", "--json"), 0)
    assert len(d["created"]) == 2 and all((proj / p).is_file() for p in d["created"])
    d = doc(run(proj, "baseline", VERSIONS[1], "--json"), 0)
    assert [b["version"] for b in d["baselined"]] == VERSIONS[:2]
    assert isinstance(doc(run(proj, "unlock", "--json"), 0)["message"], str)


# -- errors: still one document ------------------------------------------------------------


def _error(r: Result, code: int) -> dict[str, Any]:
    d = doc(r, code)
    assert isinstance(d["error"]["message"], str) and d["error"]["message"]
    assert r.stderr  # and a human message on stderr
    return d["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("args", [
    ["status", "--json"],  # no URL
    ["--json", "-u", "foo://x", "status"],
    ["--json", "-u", "sqlite://host/x.db", "up"],
    ["--json", "-u", "sqlite:///app.db", "-d", "nowhere", "up"],
    ["--json", "-u", "sqlite:///app.db", "--migrations-table", "x; DROP TABLE y", "up"],
    ["--json", "-u", "sqlite:///app.db", "frobnicate"],
    ["-u", "sqlite:///app.db", "up", "--json", "--frobnicate"],
    ["-u", "sqlite:///app.db", "down", "--json", "--steps", "0"],
    ["-u", "sqlite:///app.db", "down", "--json", "--all", "--steps", "1"],
    ["--json"],
    ["--json", "-u", "sqlite:///app.db", "new", "bad name"],
])
def test_usage_errors_json(proj: Path, args: list[str]) -> None:
    _error(cli(proj, *args), 2)
    assert sorted(p.name for p in proj.iterdir()) == ["migrations"]


def test_invalid_files_json_lists_each_problem(proj: Path) -> None:
    migration(proj, "20260104000000", "tx", "BEGIN;\nSELECT 1;\nCOMMIT;\n")
    (proj / "migrations/20260105000000_orphan.down.sql").write_text("SELECT 1;")
    err = _error(run(proj, "up", "--json"), 2)
    files = {p["file"] for p in err["problems"]}
    assert files == {"migrations/20260105000000_orphan.down.sql"}
    (proj / "migrations/20260105000000_orphan.down.sql").unlink()
    err = _error(run(proj, "up", "--json"), 2)
    assert [(p["file"], p["line"]) for p in err["problems"]] == [
        ("migrations/20260104000000_tx.up.sql", 1), ("migrations/20260104000000_tx.up.sql", 3)]
    assert not (proj / "app.db").exists()


def test_drift_json(proj: Path) -> None:
    assert run(proj, "up").code == 0
    (proj / "migrations/20260101000000_create_a.up.sql").write_text("SELECT 2;\n")
    err = _error(run(proj, "--json", "up"), 3)
    assert err["problems"] == [{"version": VERSIONS[0], "kind": "modified",
                                "file": "migrations/20260101000000_create_a.up.sql"}]


def test_foreign_table_json(tmp_path: Path) -> None:
    three(tmp_path)
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, dirty BOOLEAN)")
    conn.commit()
    conn.close()
    for cmd in (["up"], ["status"], ["verify"]):
        message = _error(run(tmp_path, "--json", *cmd), 3)["message"]
        assert "migrator adopt --from golang-migrate" in message
        assert "schema_migrations_golang_migrate_backup" in message


def test_lock_held_json(proj: Path) -> None:
    assert run(proj, "up", "--to", VERSIONS[0]).code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom pathlib import Path\nfrom migrator.lock import file_lock\n"
         "with file_lock(Path(sys.argv[1]), 0, 't'):\n"
         "    print('held', flush=True); sys.stdin.read()\n",
         str(proj / "app.db.migrator-lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        for cmd in (["up"], ["down"], ["unlock"]):
            err = _error(run(proj, "--json", *cmd), 4)
            assert f"pid {holder.pid}" in err["message"]
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_irreversible_json(proj: Path) -> None:
    migration(proj, "20260104000000", "oneway", "CREATE TABLE d (x);\n")
    assert run(proj, "up").code == 0
    r = run(proj, "down", "--json")
    err = _error(r, 1)
    assert "20260104000000_oneway.up.sql" in err["message"]
    assert r.json()["rolled_back"] == []
    assert applied(proj / "app.db")[-1] == "20260104000000"
