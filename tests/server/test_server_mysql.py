"""MySQL/MariaDB specifics: files are not atomic, so a durable journal says where a
file stopped and runs wait for `migrator repair`; DELIMITER; no multi-statements."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import MakeMigrations
from serverkit import Server, run_cli

from migrator.backends.mysql.backend import galera_refusal

THREE_BAD = ("CREATE TABLE a (id INTEGER);\nINSERT INTO a VALUES (1);\n"
             "INSERT INTO nowhere VALUES (1);\n")


def test_failure_is_journaled_and_blocks_until_repaired_rolled_back(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": THREE_BAD, "2_b.up.sql": "CREATE TABLE b (id INT);\n"})
    first = run_cli(my.url, d, "up")
    assert first.code == 1
    assert ("statement 1 of 3 ran and stays committed; statements 2-3, one transaction, "
            "were rolled back") in first.stderr
    assert "migrator repair 1 --applied" in first.stderr
    assert my.query("SELECT version, status, statement, total FROM schema_migrations_state") \
        == [("1", "failed", 3, 3)]
    assert "a" in my.tables()  # the DDL committed despite the failure: said so above
    assert my.rows("a") == []  # the INSERT ran in the run that was rolled back

    blocked = run_cli(my.url, d, "up", "--json")
    assert blocked.code == 1
    assert blocked.json()["error"]["kind"] == "unfinished"
    assert "1_a (up) failed at statement 3 of 3" in blocked.stderr
    assert "statements before 2 committed; statements 2-3 ran in one transaction and were " \
        "rolled back" in blocked.stderr
    assert "nowhere" in blocked.stderr
    assert "b" not in my.tables()
    assert run_cli(my.url, d, "baseline", "2").code == 1  # every writing command waits

    status = run_cli(my.url, d, "status")  # says why, instead of a plain "pending"
    assert status.code == 0
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith("1 "))
    assert "pending" in line
    assert "unfinished up: failed at statement 3 of 3; see 'migrator repair 1'" in line
    notes = {m["version"]: m["note"] for m in run_cli(my.url, d, "status", "--json")
             .json()["migrations"]}
    assert notes == {"1": "unfinished up: failed at statement 3 of 3; see 'migrator repair 1'",
                     "2": None}

    my.query("DROP TABLE a")  # the DBA undoes the part that ran
    repaired = run_cli(my.url, d, "repair", "1", "--rolled-back")
    assert repaired.code == 0 and "cleared" in repaired.stdout
    assert my.query("SELECT * FROM schema_migrations_state") == []
    (d / "1_a.up.sql").write_text("CREATE TABLE a (id INTEGER);\nINSERT INTO a VALUES (1);\n")
    assert run_cli(my.url, d, "up").code == 0
    assert my.applied_versions() == ["1", "2"]


def test_repair_applied_records_the_row(my: Server, make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_a.up.sql": THREE_BAD})
    assert run_cli(my.url, d, "up").code == 1
    my.query("CREATE TABLE nowhere (id INTEGER)")
    my.query("INSERT INTO nowhere VALUES (1)")  # the DBA completes the file by hand
    assert run_cli(my.url, d, "repair", "1", "--applied").code == 0
    assert my.applied_versions() == ["1"]
    status = run_cli(my.url, d, "status", "--json").json()["migrations"]
    assert [(m["version"], m["state"]) for m in status] == [("1", "applied")]
    assert run_cli(my.url, d, "up").code == 0


def test_repair_needs_an_outcome_and_a_known_version(my: Server,
                                                     make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_a.up.sql": "SELECT 1;\n"})
    assert run_cli(my.url, d, "repair", "1").code == 2
    unknown = run_cli(my.url, d, "repair", "99", "--applied")
    assert unknown.code == 2 and "no migration with version 99" in unknown.stderr


def test_delimiter_lines_for_stored_programs(my: Server,
                                            make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_proc.up.sql": (
        "CREATE TABLE counter (n INTEGER);\n"
        "DELIMITER //\n"
        "CREATE PROCEDURE bump(IN k INT)\n"
        "BEGIN\n"
        "  DECLARE i INT DEFAULT 0;\n"
        "  REPEAT\n"
        "    INSERT INTO counter VALUES (i); -- a ';' and a '//' in a comment: //\n"
        "    SET i = i + 1;\n"
        "  UNTIL i >= k END REPEAT;\n"
        "END//\n"
        "DELIMITER ;\n"
        "CALL bump(3);\n"
        "SELECT 'not // a cut';\n"
    ), "1_proc.down.sql": "DROP PROCEDURE bump;\nDROP TABLE counter;\n"})
    result = run_cli(my.url, d, "up", "-v")
    assert result.code == 0, result.stderr
    assert my.rows("counter") == [(0,), (1,), (2,)]
    assert "[2/4] line 3: CREATE PROCEDURE bump" in result.stderr
    assert "[3/4] line 12: CALL bump(3)" in result.stderr
    assert run_cli(my.url, d, "down").code == 0
    assert my.tables() <= {"schema_migrations", "schema_migrations_state",
                           "schema_migrations_lock"}


def test_a_missplit_piece_is_a_syntax_error_not_two_statements(
    my: Server, make_migrations: MakeMigrations
) -> None:
    """A piece holding two statements (here a DELIMITER region the author forgot to
    close with //) is refused whole by the server: no MULTI_STATEMENTS."""
    d = make_migrations({"1_x.up.sql": "DELIMITER //\n"
                                       "CREATE TABLE ev (id INTEGER, begin TEXT);\n"
                                       "INSERT INTO ev VALUES (1, 'x');\n"})
    result = run_cli(my.url, d, "up")
    assert result.code == 1
    assert "1064" in result.stderr
    assert "ev" not in my.tables()


def test_a_column_named_begin_is_not_a_block(my: Server, make_migrations: MakeMigrations) -> None:
    """sqlparse joined these two statements (and the server refused them); the mysql
    client, and migrator, cut them apart."""
    d = make_migrations({"1_x.up.sql": "CREATE TABLE ev (id INTEGER, begin TEXT);\n"
                                       "INSERT INTO ev VALUES (1, 'x');\n"})
    result = run_cli(my.url, d, "up")
    assert result.code == 0, result.stderr
    assert my.rows("ev") == [(1, "x")]


def test_single_transaction_and_foreign_keys_off_are_refused(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"})
    grouped = run_cli(my.url, d, "up", "--single-transaction")
    assert grouped.code == 2 and "transactional DDL" in grouped.stderr
    assert "a" not in my.tables()
    make_migrations({"2_fk.up.sql": "-- migrator: foreign-keys-off\nSELECT 1;\n"})
    fk = run_cli(my.url, d, "up")
    assert fk.code == 2 and "SQLite directive" in fk.stderr
    assert my.applied_versions() == ["1"]
    assert my.query("SELECT * FROM schema_migrations_state") == []


def test_url_errors_are_usage_errors(my: Server, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    d = tmp_path / "migrations"
    assert "unknown URL parameter 'nope'" in run_cli(my.url + "?nope=1", d, "status").stderr
    no_db = run_cli(my.url.rsplit("/", 1)[0] + "/", d, "status")
    assert no_db.code == 2 and "names no database" in no_db.stderr
    missing = run_cli(my.url + "_missing", d, "status")
    assert missing.code == 2 and "Unknown database" in missing.stderr


@pytest.mark.parametrize("value, refused", [("ON", True), ("OFF", False), (None, False)])
def test_galera_nodes_are_refused(value: str | None, refused: bool) -> None:
    message = galera_refusal(value, "mysql://root:***@db/app")
    assert (message is not None) == refused
    if message:
        assert "wsrep_on=ON" in message and "GET_LOCK" in message


def test_this_server_is_not_galera(my: Server) -> None:
    rows = my.query("SHOW VARIABLES LIKE 'wsrep_on'")
    assert galera_refusal(rows[0][1] if rows else None, my.url) is None


def test_a_syntax_error_in_a_plain_statement_gets_no_delimiter_hint(
    my: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"
                                       "ALTER TABLE a ADD COLUMN x INTEGER NOT NUL;\n"})
    result = run_cli(my.url, d, "up")
    assert result.code == 1
    assert "1064 ER_PARSE_ERROR" in result.stderr
    assert "DELIMITER" not in result.stderr and "stored program" not in result.stderr


def test_a_stored_program_cut_at_a_semicolon_gets_the_delimiter_hint(
    my: Server, make_migrations: MakeMigrations
) -> None:
    """A trigger whose body is an IF without BEGIN is cut at its first ';' (as the
    mysql client cuts it); the server's 1064 then says what to do. (In a transactional
    file the 'END IF' piece is refused before anything runs.)"""
    d = make_migrations({"1_t.up.sql": (
        "-- migrator: no-transaction\n"
        "CREATE TABLE a (x INTEGER);\n"
        "CREATE TRIGGER a_x BEFORE INSERT ON a FOR EACH ROW\n"
        "  IF NEW.x < 0 THEN SET NEW.x = 0; END IF;\n")})
    result = run_cli(my.url, d, "up")
    assert result.code == 1
    assert "1064 ER_PARSE_ERROR" in result.stderr
    assert ("hint: this stored program was cut at a ';' inside its body: put DELIMITER "
            "lines around it") in result.stderr


def test_the_hint_depends_on_the_statement_that_failed(my: Server) -> None:
    import pymysql

    from migrator.backends.mysql.backend import MysqlBackend

    backend = MysqlBackend(my.url, table="schema_migrations", readonly=False, busy_timeout=5)
    try:
        hints = []
        for sql in ("CREATE PROCEDURE p() BEGIN SELECT 1",
                    "CREATE PROCEDURE p() BEGIN SELECT 1 FRM dual; END",
                    "ALTER TABLE nowhere ADD COLUMN x INTEGER NOT NUL"):
            with pytest.raises(pymysql.err.MySQLError) as caught:
                backend.execute(sql)
            error = backend.describe_error(caught.value)
            assert error is not None and error.code == "1064 ER_PARSE_ERROR"
            hints.append(error.hint is not None and "DELIMITER" in error.hint)
        assert hints == [True, False, False]
    finally:
        backend.close()
