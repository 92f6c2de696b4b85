"""Out-of-order migrations on SQLite files: the directive, the proof's edges, the library.

The behaviour every backend shares is in tests/contract/test_out_of_order.py;
here are the parts that need no server: parsing, status, the library's
``ProvenOrder`` guard, and the CLI's usage and failure paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import applied, cli, migration, no_traceback, run

from migrator import Migrator
from migrator.errors import DriftError
from migrator.ordering import ProvenOrder
from migrator.plan import OUT_OF_ORDER, OUT_OF_ORDER_OK_NOTE
from migrator.source import OUT_OF_ORDER_OK, parse_sql

A, B, C = "1", "2", "3"


def late_b(root: Path, b_up: str = "CREATE TABLE b (id INTEGER);\n",
           c_up: str = "CREATE TABLE c (id INTEGER);\n") -> Path:
    """Migrations 1 and 3 applied to app.db, then 2 written: late. The directory."""
    migration(root, A, "a", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n")
    migration(root, C, "c", c_up)
    r = run(root, "up")
    assert r.code == 0, r
    migration(root, B, "b", b_up)
    return root / "migrations"


def test_directive_is_parsed_in_any_case_with_a_reason() -> None:
    sql = parse_sql(b"-- Migrator: OUT-OF-ORDER-OK -- a new table only\nCREATE TABLE t (x INT);",
                    "m.sql")
    assert sql.directives == {OUT_OF_ORDER_OK}


def test_status_notes_an_opted_in_late_file_as_pending_not_drift(tmp_path: Path) -> None:
    late_b(tmp_path, "-- migrator: out-of-order-ok\nCREATE TABLE b (id INTEGER);\n")
    entries = Migrator(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "migrations").status()
    assert [(e.version, e.note) for e in entries] == [
        (A, None), (B, OUT_OF_ORDER_OK_NOTE), (C, None)]
    doc = run(tmp_path, "--json", "status").json()
    assert [m["note"] for m in doc["migrations"]] == [None, OUT_OF_ORDER_OK_NOTE, None]


def test_without_directive_status_still_says_out_of_order(tmp_path: Path) -> None:
    late_b(tmp_path)
    r = run(tmp_path, "status", "--exit-code")
    assert r.code == 3 and OUT_OF_ORDER in r.out, r
    r = run(tmp_path, "up")
    assert r.code == 3, r
    assert "'migrator check-order', 'up --prove-order'" in r.err
    assert "--allow-out-of-order" in r.err


def test_library_proof_holds_only_for_the_applied_versions_it_saw(tmp_path: Path) -> None:
    d = late_b(tmp_path)
    m = Migrator(f"sqlite:///{tmp_path / 'app.db'}", d)
    stale = ProvenOrder(frozenset({A}), frozenset({B}))
    with pytest.raises(DriftError, match="changed while their order was being proven"):
        m.up(allow_out_of_order=stale)
    other = ProvenOrder(frozenset({A, C}), frozenset({"9"}))
    with pytest.raises(DriftError, match="older than the newest applied one"):
        m.up(allow_out_of_order=other)
    assert applied(tmp_path / "app.db") == [A, C]
    result = m.up(allow_out_of_order=ProvenOrder(frozenset({A, C}), frozenset({B})))
    assert [s.version for s in result.done] == [B]


def test_library_prove_order(tmp_path: Path) -> None:
    from migrator.dba.order import prove_order

    d = late_b(tmp_path)
    proof = prove_order(f"sqlite:///{tmp_path / 'app.db'}", d, "schema_migrations")
    assert proof.equal and [m.version for m in proof.late] == [B]
    assert proof.proven == ProvenOrder(frozenset({A, C}), frozenset({B}))
    assert proof.scratch == []  # SQLite scratch spaces are temporary files, no namespace


def test_sqlite_view_of_star_does_not_depend_on_the_order(tmp_path: Path) -> None:
    """SQLite keeps a view's text and expands ``*`` when it is read: the same schema."""
    d = late_b(tmp_path, "CREATE VIEW v AS SELECT * FROM a;\n",
               "ALTER TABLE a ADD COLUMN x INTEGER;\n")
    r = run(tmp_path, "check-order")
    assert r.code == 0 and r.out.startswith("order does not matter"), r
    assert d.is_dir()


def test_version_order_that_fails_is_a_difference(tmp_path: Path) -> None:
    """The late file reads a table the newer one made: fine now, but a new database
    built in version order would fail on it."""
    late_b(tmp_path, "INSERT INTO c (id) VALUES (1);\n")
    r = run(tmp_path, "check-order")
    assert r.code == 3, r
    assert "2_b fails in version order: " in r.out and "no such table: c" in r.out, r
    r = run(tmp_path, "up", "--prove-order")
    assert r.code == 3 and "nothing was run" in r.err, r
    assert applied(tmp_path / "app.db") == [A, C]


def test_applied_files_that_do_not_build_are_exit_1(tmp_path: Path) -> None:
    """A baselined history the files cannot rebuild: no proof either way."""
    migration(tmp_path, A, "a", "INSERT INTO made_elsewhere VALUES (1);\n")
    migration(tmp_path, C, "c", "CREATE TABLE c (id INTEGER);\n")
    assert run(tmp_path, "baseline", C).code == 0
    migration(tmp_path, B, "b", "CREATE TABLE b (id INTEGER);\n")
    r = run(tmp_path, "check-order")
    assert r.code == 1, r
    no_traceback(r)
    assert "cannot prove the order" in r.err and "made_elsewhere" in r.err, r
    doc = run(tmp_path, "--json", "check-order")
    assert doc.code == 1 and doc.json()["error"]["kind"] == "migration-failed", doc


def test_to_limits_which_late_files_are_proven(tmp_path: Path) -> None:
    d = late_b(tmp_path, c_up="CREATE TABLE c (id INTEGER);\n")
    migration(tmp_path, "0", "zero", "CREATE TABLE z (id INTEGER);\n")
    doc = run(tmp_path, "--json", "check-order", "--to", "0").json()
    assert [m["version"] for m in doc["out_of_order"]] == ["0"]
    r = run(tmp_path, "up", "--prove-order", "--to", "0")
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == ["0", A, C]
    assert d.is_dir()


def test_prove_order_json_carries_the_proof(tmp_path: Path) -> None:
    late_b(tmp_path)
    doc = run(tmp_path, "--json", "up", "--prove-order").json()
    assert [m["version"] for m in doc["applied"]] == [B]
    assert doc["order"]["equal"] is True
    assert [m["version"] for m in doc["order"]["out_of_order"]] == [B]


def test_prove_order_dry_run_prints_the_late_file_and_changes_nothing(tmp_path: Path) -> None:
    late_b(tmp_path)
    r = run(tmp_path, "up", "--prove-order", "--dry-run")
    assert r.code == 0, r
    assert "CREATE TABLE b" in r.out
    assert applied(tmp_path / "app.db") == [A, C]


def test_prove_order_with_nothing_late_is_a_plain_up(tmp_path: Path) -> None:
    migration(tmp_path, A, "a", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n")
    r = run(tmp_path, "up", "--prove-order")
    assert r.code == 0, r
    assert applied(tmp_path / "app.db") == [A]


def test_modified_applied_file_is_drift_unless_allowed(tmp_path: Path) -> None:
    d = late_b(tmp_path)
    (d / f"{C}_c.up.sql").write_text("CREATE TABLE c (id INTEGER, extra INTEGER);\n")
    r = run(tmp_path, "check-order")
    assert r.code == 3 and "modified since it was applied" in r.err, r
    r = run(tmp_path, "check-order", "--allow-modified")
    assert r.code == 0, r  # today's file replayed in both orders


def test_check_order_needs_a_url(tmp_path: Path) -> None:
    r = cli(tmp_path, "check-order")
    assert r.code == 2, r
    no_traceback(r)
    assert "no database URL" in r.err


def test_placeholders_reach_the_replay(tmp_path: Path) -> None:
    late_b(tmp_path, "-- migrator: placeholders\nCREATE TABLE ${NAME} (id INTEGER);\n")
    r = run(tmp_path, "--var", "NAME=b", "check-order")
    assert r.code == 0, r
    r = run(tmp_path, "check-order")
    assert r.code == 2 and "NAME" in r.err, r
    no_traceback(r)
