"""MySQL/MariaDB: runs of DML share one transaction between the statements that
commit implicitly, so a DML-only file is all-or-nothing and a failed run leaves
none of itself behind, while DDL keeps the journal and ``repair``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from serverkit import Server, run_cli

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]

TABLE = "CREATE TABLE t (id INTEGER PRIMARY KEY) ENGINE=InnoDB;\n"


def _journal(my: Server) -> list[tuple[object, ...]]:
    return my.query("SELECT version, status, statement, total, message "
                    "FROM schema_migrations_state")


def test_a_dml_only_file_is_all_or_nothing(my: Server, make_migrations: MakeMigrations) -> None:
    rows = "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\nUPDATE t SET id = id + 10;\n"
    d = make_migrations({"1_t.up.sql": TABLE,
                         "2_rows.up.sql": rows + "INSERT INTO t VALUES (11);\n"})
    failed = run_cli(my.url, d, "up", "--json")
    assert failed.code == 1
    error = failed.json()["error"]
    assert (error["kind"], error["statement"], error["rolled_back"]) == \
        ("migration-failed", 4, True)
    assert "rolled back" in failed.stderr and "as it was before this file" in failed.stderr
    assert my.rows("t") == []  # statements 1-3 of the run are gone with it
    assert _journal(my) == []  # nothing stays, so nothing to repair
    assert my.applied_versions() == ["1"]

    (d / "2_rows.up.sql").write_text(rows + "INSERT INTO t VALUES (3);\n")
    assert run_cli(my.url, d, "up").code == 0  # no repair needed: the rerun just runs
    assert sorted(my.rows("t")) == [(3,), (11,), (12,)]
    assert my.applied_versions() == ["1", "2"]
    assert _journal(my) == []


def test_ddl_stays_the_failed_run_goes_and_the_journal_says_so(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": TABLE + "INSERT INTO t VALUES (1);\n"
                                               "INSERT INTO t VALUES (1);\n"})
    failed = run_cli(my.url, d, "up")
    assert failed.code == 1
    assert "statement: 3 of 3" in failed.stderr and "Duplicate entry" in failed.stderr
    assert ("statement 1 of 3 ran and stays committed; statements 2-3, one transaction, "
            "were rolled back") in failed.stderr
    assert "t" in my.tables() and my.rows("t") == []
    [(version, status, statement, total, message)] = _journal(my)
    assert (version, status, statement, total) == ("1", "failed", 3, 3)
    assert str(message).startswith("rolled back statements 2-3: 1062")

    blocked = run_cli(my.url, d, "up")
    assert blocked.code == 1
    assert "1_a (up) failed at statement 3 of 3" in blocked.stderr
    assert "statements before 2 committed; statements 2-3 ran in one transaction" \
        in blocked.stderr
    assert "Duplicate entry" in blocked.stderr

    my.query("DROP TABLE t")
    assert run_cli(my.url, d, "repair", "1", "--rolled-back").code == 0
    (d / "1_a.up.sql").write_text(TABLE + "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n")
    assert run_cli(my.url, d, "up").code == 0
    assert sorted(my.rows("t")) == [(1,), (2,)]


def test_a_run_before_ddl_commits_with_the_journal_moved_past_it(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_t.up.sql": TABLE,
        "2_mixed.up.sql": "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"
                          "CREATE TABLE u (id INTEGER) ENGINE=InnoDB;\n"
                          "INSERT INTO u VALUES (5);\nINSERT INTO nowhere VALUES (6);\n",
    })
    failed = run_cli(my.url, d, "up")
    assert failed.code == 1
    assert ("statements 1-3 of 5 ran and stay committed; statements 4-5, one transaction, "
            "were rolled back") in failed.stderr
    assert sorted(my.rows("t")) == [(1,), (2,)]  # the first run committed before the DDL
    assert my.rows("u") == []
    assert [row[:4] for row in _journal(my)] == [("2", "failed", 5, 5)]


def test_mixed_files_apply_whole_and_leave_no_journal(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_all.up.sql": TABLE + "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"
                        "ALTER TABLE t ADD COLUMN v INTEGER;\nUPDATE t SET v = id * 10;\n",
        "2_lock.up.sql": "LOCK TABLES t WRITE;\nINSERT INTO t VALUES (3, 30);\nUNLOCK TABLES;\n",
    })
    result = run_cli(my.url, d, "up")
    assert result.code == 0, result.stderr
    assert sorted(my.rows("t")) == [(1, 10), (2, 20), (3, 30)]
    assert my.applied_versions() == ["1", "2"]
    assert _journal(my) == []


def test_a_no_transaction_file_still_commits_each_statement(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_t.up.sql": TABLE,
        "2_loose.up.sql": "-- migrator: no-transaction\nINSERT INTO t VALUES (1);\n"
                          "INSERT INTO t VALUES (1);\n",
    })
    assert run_cli(my.url, d, "up").code == 1
    assert my.rows("t") == [(1,)]
    assert [row[:4] for row in _journal(my)] == [("2", "failed", 2, 2)]
