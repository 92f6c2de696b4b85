"""Repeatable migrations on SQLite: R_<name>.up.sql re-run whenever it changes.

Through the real CLI (a subprocess) and the library API, on real database files.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from clihelp import migration, run, write

from migrator import Migrator
from migrator.errors import MigrationFileError
from migrator.files import discover, discover_all

VIEW = "CREATE VIEW IF NOT EXISTS {name} AS SELECT {value} AS v;\n"


def _view(name: str, value: str) -> str:
    return f"DROP VIEW IF EXISTS {name};\n" + VIEW.format(name=name, value=value)


def _rows(tmp_path: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(tmp_path / "app.db") as db:
        return {v: (n, c) for v, n, c in
                db.execute("SELECT version, name, checksum FROM schema_migrations")}


def _value(tmp_path: Path, view: str) -> object:
    with sqlite3.connect(tmp_path / "app.db") as db:
        return db.execute(f"SELECT v FROM {view}").fetchone()[0]


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    migration(tmp_path, "1", "base", "CREATE TABLE t (id INTEGER);\n", "DROP TABLE t;\n")
    write(tmp_path / "migrations" / "R_view_b.up.sql", _view("vb", "'b1'"))
    write(tmp_path / "migrations" / "R_view_a" / "up.sql", _view("va", "'a1'"))
    return tmp_path


def test_first_run_applies_versioned_then_repeatables_in_name_order(proj: Path) -> None:
    result = run(proj, "up")
    assert result.code == 0, result
    lines = [ln for ln in result.err.splitlines() if ln.startswith("applied ")]
    assert [ln.split()[1] for ln in lines[:3]] == ["1_base", "R_view_a", "R_view_b"], result
    assert "applied 3 migrations" in result.err
    rows = _rows(proj)
    assert set(rows) == {"1", "R_view_a", "R_view_b"}
    assert rows["R_view_a"][0] == "view_a"
    assert _value(proj, "va") == "a1" and _value(proj, "vb") == "b1"


def test_an_unchanged_rerun_does_nothing(proj: Path) -> None:
    assert run(proj, "up").code == 0
    before = _rows(proj)
    again = run(proj, "up", "--json")
    assert again.code == 0, again
    assert again.json() == {"applied": []}
    assert "nothing to apply" in again.err
    assert _rows(proj) == before


def test_an_edited_repeatable_reruns_and_its_checksum_is_updated(proj: Path) -> None:
    assert run(proj, "up").code == 0
    old = _rows(proj)
    write(proj / "migrations" / "R_view_b.up.sql", _view("vb", "'b2'"))
    result = run(proj, "up", "--json")
    assert result.code == 0, result
    assert [s["version"] for s in result.json()["applied"]] == ["R_view_b"]
    rows = _rows(proj)
    assert rows["R_view_b"][1] != old["R_view_b"][1]
    assert rows["R_view_a"] == old["R_view_a"]
    assert _value(proj, "vb") == "b2"


def test_status_shows_repeatables_after_versioned_ones(proj: Path) -> None:
    pending = run(proj, "status", "--json").json()["migrations"]
    assert [(m["version"], m["state"], m["note"]) for m in pending] == [
        ("1", "pending", None),
        ("R_view_a", "pending", "repeatable"),
        ("R_view_b", "pending", "repeatable"),
    ]
    assert run(proj, "up").code == 0
    write(proj / "migrations" / "R_view_a" / "up.sql", _view("va", "'a2'"))
    doc = run(proj, "status", "--json").json()["migrations"]
    by = {m["version"]: m for m in doc}
    assert by["R_view_a"]["state"] == "pending"
    assert by["R_view_a"]["note"] == "repeatable, changed since it last ran"
    assert by["R_view_a"]["file"].endswith("R_view_a/up.sql")
    assert by["R_view_b"]["state"] == "applied" and by["R_view_b"]["applied_at"]
    table = run(proj, "status")
    assert table.code == 0
    line = next(ln for ln in table.out.splitlines() if ln.startswith("R_view_b"))
    assert "applied" in line and "(repeatable)" in line


def test_a_changed_repeatable_is_not_drift(proj: Path) -> None:
    assert run(proj, "up").code == 0
    write(proj / "migrations" / "R_view_b.up.sql", _view("vb", "'b3'"))
    verify = run(proj, "verify", "--json")
    assert verify.code == 0, verify
    assert verify.json()["problems"] == []
    assert verify.json()["checked"] == 3


def test_a_removed_repeatable_is_missing_but_not_drift(proj: Path) -> None:
    assert run(proj, "up").code == 0
    (proj / "migrations" / "R_view_b.up.sql").unlink()
    doc = run(proj, "status", "--json").json()["migrations"]
    gone = next(m for m in doc if m["version"] == "R_view_b")
    assert gone["state"] == "missing" and gone["file"] is None
    assert "not drift" in gone["note"]
    verify = run(proj, "verify", "--json")
    assert verify.code == 0, verify
    assert verify.json()["checked"] == 2 and verify.json()["problems"] == []
    exit_code = run(proj, "status", "--exit-code")
    assert exit_code.code == 0, exit_code  # nothing pending, and a gone repeatable is no drift
    assert "drift" not in exit_code.err
    migration(proj, "2", "more", "CREATE TABLE u (id INTEGER);\n")
    result = run(proj, "up")
    assert result.code == 0, result
    assert "2" in _rows(proj)


def test_down_and_redo_leave_repeatables_alone(proj: Path) -> None:
    assert run(proj, "up").code == 0
    migration(proj, "2", "more", "CREATE TABLE u (id INTEGER);\n", "DROP TABLE u;\n")
    assert run(proj, "up").code == 0
    redo = run(proj, "redo", "--json")
    assert redo.code == 0, redo
    assert [s["version"] for s in redo.json()["rolled_back"]] == ["2"]
    assert [s["version"] for s in redo.json()["applied"]] == ["2"]
    down = run(proj, "down", "--all", "--json")
    assert down.code == 0, down
    assert [s["version"] for s in down.json()["rolled_back"]] == ["2", "1"]
    assert set(_rows(proj)) == {"R_view_a", "R_view_b"}
    assert _value(proj, "va") == "a1"


def test_a_failing_repeatable_rolls_back_alone_and_exits_1(proj: Path) -> None:
    write(proj / "migrations" / "R_view_c.up.sql",
          "CREATE TABLE c (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n")
    result = run(proj, "up", "--json")
    assert result.code == 1, result
    doc = result.json()
    assert [s["version"] for s in doc["applied"]] == ["1", "R_view_a", "R_view_b"]
    assert doc["error"]["version"] == "R_view_c"
    assert doc["error"]["line"] == 2 and doc["error"]["rolled_back"] is True
    assert "no such table: nowhere" in doc["error"]["message"]
    assert "migration R_view_c failed and was rolled back" in result.err
    assert "migrations/R_view_c.up.sql:2" in result.err
    assert "Traceback" not in result.err
    assert set(_rows(proj)) == {"1", "R_view_a", "R_view_b"}
    with sqlite3.connect(proj / "app.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "c" not in tables


def test_up_to_an_older_version_does_not_run_repeatables(proj: Path) -> None:
    migration(proj, "2", "more", "CREATE TABLE u (id INTEGER);\n")
    first = run(proj, "up", "--to", "1", "--json")
    assert first.code == 0, first
    assert [s["version"] for s in first.json()["applied"]] == ["1"]
    last = run(proj, "up", "--to", "2", "--json")
    assert [s["version"] for s in last.json()["applied"]] == ["2", "R_view_a", "R_view_b"]


def test_no_transaction_directive_works_in_a_repeatable(proj: Path) -> None:
    write(proj / "migrations" / "R_view_b.up.sql",
          "-- migrator: no-transaction\n" + _view("vb", "'nt'"))
    result = run(proj, "up")
    assert result.code == 0, result
    assert _value(proj, "vb") == "nt"
    assert "R_view_b" in _rows(proj)


def test_dry_run_lists_the_repeatables_that_would_run(proj: Path) -> None:
    result = run(proj, "up", "--dry-run", "--json")
    assert result.code == 0, result
    doc = result.json()
    assert [m["version"] for m in doc["applied"]] == ["1", "R_view_a", "R_view_b"]
    assert "DELETE FROM \"schema_migrations\" WHERE version = 'R_view_a';" in doc["sql"]
    assert not (proj / "app.db").exists()


def test_single_transaction_includes_the_repeatables(proj: Path) -> None:
    write(proj / "migrations" / "R_view_c.up.sql", "SELECT * FROM nowhere;\n")
    failed = run(proj, "up", "--single-transaction")
    assert failed.code == 1, failed
    assert _rows(proj) == {}
    (proj / "migrations" / "R_view_c.up.sql").unlink()
    assert run(proj, "up", "--single-transaction").code == 0
    assert set(_rows(proj)) == {"1", "R_view_a", "R_view_b"}


@pytest.mark.parametrize(("files", "message"), [
    ({"R_x.down.sql": "SELECT 1;"}, "repeatable migrations are not rolled back"),
    ({"R_x/up.sql": "SELECT 1;", "R_x/down.sql": "SELECT 1;"},
     "repeatable migrations are not rolled back"),
    ({"R_x.sql": "SELECT 1;"}, "expected R_<name>.up.sql"),
    ({"R_x.up.sql": "SELECT 1;", "R_x/up.sql": "SELECT 1;"}, "duplicate repeatable migration"),
    ({"R_y/notes.txt": "x"}, "repeatable migration directory has no up.sql"),
])
def test_bad_repeatable_files_are_refused_before_anything_runs(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    migration(tmp_path, "1", "base", "CREATE TABLE t (id INTEGER);\n")
    for rel, text in files.items():
        write(tmp_path / "migrations" / rel, text)
    result = run(tmp_path, "up")
    assert result.code == 2, result
    assert message in result.err
    assert "nothing was run" in result.err
    assert not (tmp_path / "app.db").exists()
    with pytest.raises(MigrationFileError):
        discover(tmp_path / "migrations")


def test_other_names_are_still_ignored(tmp_path: Path) -> None:
    root = tmp_path / "migrations"
    migration(tmp_path, "1", "base", "CREATE TABLE t (id INTEGER);\n")
    write(root / "README.md", "notes")
    write(root / "r_lower.up.sql", "SELECT 1;")
    write(root / "seed.sql", "SELECT 1;")
    write(root / "Rx.up.sql", "SELECT 1;")
    found = discover_all(root)
    assert [m.version for m in found.migrations] == ["1"]
    assert found.repeatables == []


def test_the_api_runs_and_reports_repeatables(proj: Path) -> None:
    m = Migrator(f"sqlite:///{proj / 'app.db'}", proj / "migrations", variables={})
    assert [r.label for r in m.repeatables()] == ["R_view_a", "R_view_b"]
    assert [r.version for r in m.migrations()] == ["1"]
    result = m.up()
    assert [s.version for s in result.done] == ["1", "R_view_a", "R_view_b"]
    assert m.up().done == []
    states = [(e.version, e.state, e.repeatable) for e in m.status()]
    assert states == [("1", "applied", False), ("R_view_a", "applied", True),
                      ("R_view_b", "applied", True)]
    assert [s.version for s in m.down().done] == ["1"]
    write(proj / "migrations" / "R_view_a" / "up.sql", _view("va", "'a9'"))
    assert "recorded migration R_view_a as applied" in m.repair("R_view_a", applied=True)
    assert next(e for e in m.status() if e.version == "R_view_a").state == "applied"
    assert _value(proj, "va") == "a1"  # recorded, not run
    m.repair("R_view_a", applied=False)
    assert m.up().done[-1].version == "R_view_a"
    assert _value(proj, "va") == "a9"
    with pytest.raises(Exception, match="no migration with version"):
        m.repair("R_nothing", applied=True)


def test_baseline_records_versioned_migrations_only(proj: Path) -> None:
    m = Migrator(f"sqlite:///{proj / 'app.db'}", proj / "migrations", variables={})
    assert [r.version for r in m.baseline("1")] == ["1"]
    assert set(_rows(proj)) == {"1"}
    assert [s.version for s in m.up().done] == ["R_view_a", "R_view_b"]
