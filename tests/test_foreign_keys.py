"""Foreign keys during SQLite's 12-step table rebuild, and journal modes.

With enforcement on, ``DROP TABLE parent`` inside a transaction deletes
every ON DELETE CASCADE child row, and ``PRAGMA foreign_keys=OFF`` inside
the transaction is ignored. The ``foreign-keys-off`` directive turns
enforcement off before BEGIN, checks before COMMIT and restores it after.
Enforcement is switched on here the way a project would: a no-transaction
migration earlier in the same run sets ``PRAGMA foreign_keys = ON``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

from migrator import Migrator

SCHEMA = {
    "001_schema.up.sql": (
        "CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE child(\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  parent_id INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE,\n"
        "  note TEXT\n"
        ");\n"
        "INSERT INTO parent VALUES (1, 'p1'), (2, 'p2'), (3, 'p3');\n"
        "INSERT INTO child(parent_id, note) VALUES\n"
        "  (1, 'a'), (1, 'b'), (2, 'c'), (2, 'd'), (3, 'e');\n"
    ),
}
FK_ON = {"002_fk_on.up.sql": "-- migrator: no-transaction\nPRAGMA foreign_keys = ON;\n"}
DIRECTIVE = "-- migrator: foreign-keys-off\n"


def rebuild(keep: str = "1 = 1") -> str:
    """The 12-step rebuild of ``parent`` (adds a column), copying the rows ``keep`` selects."""
    return (
        "CREATE TABLE parent_new(\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  name TEXT NOT NULL,\n"
        "  created TEXT NOT NULL DEFAULT '2026-01-01'\n"
        ");\n"
        f"INSERT INTO parent_new(id, name) SELECT id, name FROM parent WHERE {keep};\n"
        "DROP TABLE parent;\n"
        "ALTER TABLE parent_new RENAME TO parent;\n"
        "CREATE INDEX parent_name ON parent(name);\n"
    )


# Runs after the rebuild in the same run: with enforcement restored, deleting
# parent 3 cascades to its child; with enforcement left off it would not.
AFTER = {"004_delete_p3.up.sql": "DELETE FROM parent WHERE id = 3;\n"}
CHILDREN = [(1, 1, "a"), (2, 1, "b"), (3, 2, "c"), (4, 2, "d"), (5, 3, "e")]


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_rebuild_with_directive_keeps_every_child_row(
    tmp_path: Path, journal_mode: str
) -> None:
    migrations = h.write_files(tmp_path / "migrations", {
        **SCHEMA, **FK_ON, "003_rebuild.up.sql": DIRECTIVE + rebuild(), **AFTER,
    })
    db = h.make_db(tmp_path / "app.db", journal_mode)

    result = h.run_cli(db, migrations, "up")

    assert result.code == 0, result.stderr
    assert "warning" not in result.stderr
    assert h.applied_versions(db) == ["001", "002", "003", "004"]
    data = h.snapshot(db)["data"]
    assert data["child"] == CHILDREN[:4]  # child 5 went with parent 3: enforcement is back on
    assert data["parent"] == [(1, "p1", "2026-01-01"), (2, "p2", "2026-01-01")]
    conn = h.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == (journal_mode,)
    assert "REFERENCES parent(id)" in conn.execute(
        "SELECT sql FROM sqlite_schema WHERE name = 'child'").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = ON")
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
    assert h.integrity_ok(db)


def test_without_directive_the_same_rebuild_loses_the_children(tmp_path: Path) -> None:
    """The hazard the directive exists for (so the test above can fail)."""
    migrations = h.write_files(tmp_path / "migrations", {
        **SCHEMA, **FK_ON, "003_rebuild.up.sql": rebuild(),
    })
    db = tmp_path / "app.db"
    result = h.run_cli(db, migrations, "up")
    assert result.code == 0, result.stderr
    assert h.snapshot(db)["data"]["child"] == []


def test_rebuild_introducing_a_violation_is_rolled_back_and_listed(tmp_path: Path) -> None:
    migrations = h.write_files(tmp_path / "migrations", SCHEMA)
    db = tmp_path / "app.db"
    Migrator(f"sqlite:///{db}", migrations).up()
    before = h.snapshot(db)
    h.write_files(migrations, {
        **FK_ON, "003_rebuild.up.sql": DIRECTIVE + rebuild(keep="id <> 2"), **AFTER,
    })

    result = h.run_cli(db, migrations, "up")

    assert result.code == 1, result.stderr
    err = result.stderr
    assert "003_rebuild" in err and "rolled back" in err
    assert "2 foreign key violation" in err
    for rowid in (3, 4):  # the children of the parent the rebuild dropped
        assert f"table child rowid {rowid} references missing row in parent" in err
    assert "Traceback" not in err
    after = h.snapshot(db)
    assert after["schema"] == before["schema"]
    assert {k: v for k, v in after["data"].items() if k != "schema_migrations"} == {
        k: v for k, v in before["data"].items() if k != "schema_migrations"
    }
    assert h.applied_versions(db) == ["001", "002"]  # 002 ran earlier in the same run


def test_pragma_foreign_keys_in_a_transactional_file_warns_but_runs(tmp_path: Path) -> None:
    migrations = h.write_files(tmp_path / "migrations", {
        **SCHEMA,
        "002_legacy.up.sql": (
            "PRAGMA foreign_keys = OFF;\n"
            "CREATE TABLE extra(x);\n"
            "PRAGMA foreign_keys = ON;\n"
        ),
    })
    db = tmp_path / "app.db"

    result = h.run_cli(db, migrations, "up")

    assert result.code == 0, result.stderr
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning")]
    assert warnings, result.stderr
    assert any("migrations/002_legacy.up.sql:1" in w and "foreign-keys-off" in w
               for w in warnings), warnings
    assert h.applied_versions(db) == ["001", "002"]
    assert "extra" in h.user_tables(db)


def test_journal_mode_off_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    """journal_mode is per connection, so OFF can only come from a migration in the run."""
    migrations = h.write_files(tmp_path / "migrations", {
        "001_big.up.sql": (
            "CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT);\n"
            "INSERT INTO big(v) WITH RECURSIVE c(x) AS\n"
            "  (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT 'v' || x FROM c;\n"
        ),
    })
    db = tmp_path / "app.db"
    Migrator(f"sqlite:///{db}", migrations).up()
    before = h.snapshot(db)
    h.write_files(migrations, {
        "002_off.up.sql": "-- migrator: no-transaction\nPRAGMA journal_mode = OFF;\n",
        # with a small cache, pages are written before the failure: only a journal undoes it
        "003_fails.up.sql": (
            "PRAGMA cache_size = 10;\n"
            "UPDATE big SET v = 'changed';\n"
            "INSERT INTO nowhere VALUES (1);\n"
        ),
    })

    result = h.run_cli(db, migrations, "up")

    assert result.code == 2, result.stderr
    assert "journal_mode is OFF" in result.stderr
    assert "Traceback" not in result.stderr
    assert h.snapshot(db) == before
    assert h.integrity_ok(db)
