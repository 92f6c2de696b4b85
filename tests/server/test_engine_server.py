"""PostgreSQL: an error raised by COMMIT itself is a migration failure.

A DEFERRABLE INITIALLY DEFERRED foreign key is checked only at COMMIT. The
report names the file, says the COMMIT failed and gives PostgreSQL's own
message; the file (or a whole --single-transaction group) is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from serverkit import Server, run_cli

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]

SCHEMA = (
    "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
    "CREATE TABLE child (id INTEGER PRIMARY KEY,\n"
    "  parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);\n"
)
ORPHAN = "INSERT INTO parent VALUES (1);\nINSERT INTO child VALUES (1, 42);\n"


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def test_a_deferred_foreign_key_failing_at_commit_is_reported(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_schema.up.sql": SCHEMA, "2_orphan.up.sql": ORPHAN})
    r = run_cli(pg.url, d, "up")
    _no_traceback(r.stderr)
    assert r.code == 1, r
    assert "applied 1_schema" in r.stderr
    assert "error: migration 2_orphan failed and was rolled back\n" in r.stderr
    assert f"  file:      {d}/2_orphan.up.sql\n" in r.stderr
    assert "23503" in r.stderr and 'violates foreign key constraint' in r.stderr
    assert "the COMMIT failed after all 2 statements ran" in r.stderr
    assert pg.applied_versions() == ["1"]
    assert pg.rows("parent") == [] and pg.rows("child") == []


def test_a_commit_failure_keeps_the_json_document(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_schema.up.sql": SCHEMA, "2_orphan.up.sql": ORPHAN})
    r = run_cli(pg.url, d, "up", "--json")
    _no_traceback(r.stderr)
    assert r.code == 1, r
    doc = r.json()
    assert [s["version"] for s in doc["applied"]] == ["1"]
    error = doc["error"]
    assert error["kind"] == "migration-failed"
    assert error["file"] == f"{d}/2_orphan.up.sql"
    assert error["code"] == "23503"
    assert "violates foreign key constraint" in error["message"]
    assert error["rolled_back"] is True
    assert "the COMMIT failed" in error["summary"]
    # fixed, the same file applies
    (d / "2_orphan.up.sql").write_text("INSERT INTO parent VALUES (42);\n"
                                       "INSERT INTO child VALUES (1, 42);\n")
    assert run_cli(pg.url, d, "up").code == 0
    assert pg.applied_versions() == ["1", "2"]


def test_a_group_whose_commit_fails_rolls_back_every_file(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_schema.up.sql": SCHEMA, "2_orphan.up.sql": ORPHAN})
    r = run_cli(pg.url, d, "up", "--single-transaction", "--json")
    _no_traceback(r.stderr)
    assert r.code == 1, r
    assert r.json()["applied"] == []
    summary = r.json()["error"]["summary"]
    assert summary.startswith("migration 2_orphan failed and was rolled back\n")
    assert ("  state:     the COMMIT failed; --single-transaction: all 2 pending migrations "
            "were rolled back together; none of them is applied\n") in summary
    assert pg.applied_versions() == []
    assert pg.tables() <= {"schema_migrations", "schema_migrations_lock",
                           "schema_migrations_state"}
