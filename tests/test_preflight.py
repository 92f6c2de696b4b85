"""Checks on split statements before anything runs: transaction control and
statements SQLite refuses inside a transaction are errors at file:line."""

from __future__ import annotations

import pytest

from migrator.backends.sqlite.split import split_sqlite
from migrator.preflight import Findings, check, statement_kind
from migrator.source import FOREIGN_KEYS_OFF, NO_TRANSACTION

TX = frozenset[str]()
NO_TX = frozenset({NO_TRANSACTION})


def run_check(text: str, directives: frozenset[str] = TX) -> Findings:
    return check(split_sqlite(text), "m.sql", directives)


REFUSED_IN_TX = [
    "BEGIN;",
    "begin transaction;",
    "BEGIN IMMEDIATE;",
    "BEGIN EXCLUSIVE TRANSACTION;",
    "COMMIT;",
    "commit transaction;",
    "END;",
    "END TRANSACTION;",
    "ROLLBACK;",
    "ROLLBACK TO SAVEPOINT sp;",
    "SAVEPOINT sp;",
    "RELEASE sp;",
    "RELEASE SAVEPOINT sp;",
    "START TRANSACTION;",
    "start  transaction;",
    "VACUUM;",
    "vacuum main;",
    "VACUUM INTO 'copy.db';",
    "PRAGMA journal_mode=WAL;",
    "PRAGMA journal_mode = wal;",
    "PRAGMA main.journal_mode = wal;",
    "pragma MAIN . JOURNAL_MODE=delete;",
    'PRAGMA "journal_mode" = truncate;',
    "PRAGMA journal_mode(WAL);",
    "/* why */ COMMIT;",
]


@pytest.mark.parametrize("stmt", REFUSED_IN_TX)
def test_refused_in_transactional_file_with_line(stmt: str) -> None:
    found = run_check(f"-- header\nCREATE TABLE a(x);\n\n{stmt}\nCREATE TABLE b(y);\n")
    assert found.count == 3
    assert [p.line for p in found.errors] == [4]
    assert found.errors[0].path == "m.sql"
    assert "statement 2 " in found.errors[0].message
    assert f"'-- migrator: {NO_TRANSACTION}'" in found.errors[0].message
    assert found.warnings == []


@pytest.mark.parametrize("stmt", REFUSED_IN_TX)
def test_allowed_in_no_transaction_file(stmt: str) -> None:
    found = run_check(f"CREATE TABLE a(x);\n{stmt}\n", NO_TX)
    assert found.errors == []
    assert found.warnings == []
    assert found.count == 2


def test_error_messages_word_for_word() -> None:
    found = run_check("BEGIN;\nCREATE TABLE a(x);\nCOMMIT;\nVACUUM;\nPRAGMA journal_mode=WAL;")
    hint = (
        "migrator runs each file in one transaction of its own; remove the statement, "
        "or put '-- migrator: no-transaction' on the first line to run the file "
        "statement by statement"
    )
    assert [str(p) for p in found.errors] == [
        f"m.sql:1: statement 1 is transaction control (BEGIN); {hint}",
        f"m.sql:3: statement 3 is transaction control (COMMIT); {hint}",
        f"m.sql:4: statement 4 (VACUUM) cannot run inside a transaction; {hint}",
        f"m.sql:5: statement 5 (PRAGMA journal_mode) cannot run inside a transaction; {hint}",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (new.x);\nEND;",
        "create temp trigger t after delete on a begin delete from b; end;",
        "ALTER TABLE ev ADD COLUMN begin TEXT;",
        "UPDATE ev SET end = 1;",
        "SELECT 'BEGIN; COMMIT;';",
        "PRAGMA journal_mode;",  # reading the mode is harmless
        "PRAGMA main.journal_mode;",
        "PRAGMA user_version = 3;",
        "CREATE TABLE savepoint_log(x);",
        "INSERT INTO \"COMMIT\" VALUES (1);",
        "-- COMMIT;\nSELECT 1;",
    ],
    ids=["trigger", "trigger-lower", "col-begin", "col-end", "string", "read-journal",
         "read-journal-schema", "user-version", "savepoint-prefix", "quoted-commit", "comment"],
)
def test_not_transaction_control(text: str) -> None:
    found = run_check(text)
    assert found.errors == []
    assert found.warnings == []


@pytest.mark.parametrize(
    "stmt",
    ["PRAGMA foreign_keys=OFF;", "pragma foreign_keys = 0;", "PRAGMA main.foreign_keys=ON;",
     "PRAGMA foreign_keys(off);"],
)
def test_foreign_keys_pragma_is_a_warning(stmt: str) -> None:
    found = run_check(f"CREATE TABLE a(x);\n\n{stmt}\n")
    assert found.errors == []
    (warning,) = found.warnings
    assert warning.line == 3
    assert f"'-- migrator: {FOREIGN_KEYS_OFF}'" in warning.message
    assert warning.message.endswith("(the file still runs)")
    assert run_check(f"{stmt}\n", NO_TX).warnings == []
    assert run_check("PRAGMA foreign_keys;").warnings == []  # a read changes nothing


@pytest.mark.parametrize("directives", [TX, NO_TX, frozenset({FOREIGN_KEYS_OFF})])
def test_psql_backslash_commands_are_errors(directives: frozenset[str]) -> None:
    found = run_check("CREATE TABLE a(x);\n\\set ON_ERROR_STOP on\nCREATE TABLE b(y);", directives)
    (error,) = found.errors
    assert error.line == 2
    assert error.message == (
        "statement 2 is the client command '\\set', which only psql understands; "
        "migration files hold SQL only"
    )


def test_every_problem_is_listed_with_its_line() -> None:
    text = (
        "-- migrator: foreign-keys-off\n"  # directive lines are comments to the splitter
        "BEGIN;\n"
        "CREATE TABLE a(x);\n"
        "PRAGMA foreign_keys=OFF;\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;\n"
        "SAVEPOINT x; RELEASE x;\n"
        "COMMIT;\n"
    )
    found = run_check(text, frozenset({FOREIGN_KEYS_OFF}))
    assert [(p.line, p.message.split(" (")[0]) for p in found.errors] == [
        (2, "statement 1 is transaction control"),
        (6, "statement 5 is transaction control"),
        (6, "statement 6 is transaction control"),
        (7, "statement 7 is transaction control"),
    ]
    assert [p.line for p in found.warnings] == [4]
    assert found.count == 7


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("commit", "COMMIT"),
        ("Start Transaction", "START TRANSACTION"),
        ("START something", "START"),
        ("PRAGMA Journal_Mode = WAL", "PRAGMA journal_mode="),
        ("PRAGMA journal_mode", "PRAGMA journal_mode"),
        ("PRAGMA [main].[foreign_keys] = 1", "PRAGMA foreign_keys="),
        ("\\connect db", "\\connect"),
        ("(SELECT 1)", ""),
        ("", ""),
    ],
)
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind
