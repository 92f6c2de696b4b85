"""Splitting migration text into statements, checked against SQLite itself.

The golden cases pin both splitters to the expected statements (and pin the
known sqlparse mistakes, so a changed dependency is noticed). The property
tests compare ``split_sqlite`` with an oracle that asks
``sqlite3.complete_statement`` about every ';' in the text.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import sqlparse
from golden_cases import CASES, GoldenCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlparse import tokens as T

from migrator.backends.sqlite.split import split_sqlite
from migrator.source import BOM, decode
from migrator.splitting import SplitError, Statement, split_sqlparse, sqlparse_texts

# --------------------------------------------------------------------------- helpers


def decoded(sql: str) -> str:
    """The text a splitter sees in production: UTF-8 bytes through ``source.decode``."""
    return decode(sql.encode("utf-8"), "case.sql")


def stripped(stmt: Statement) -> str:
    return stmt.sql.strip().removesuffix(";").strip()


def _skippable(ttype: object, value: str) -> bool:
    return ttype in T.Comment or ttype in T.Whitespace or ttype in T.Newline


def core(piece: str) -> str:
    """Piece without surrounding comments, whitespace and ';' (sqlparse keeps a
    trailing comment in its statement, as in ``a; -- note``)."""
    toks = list(sqlparse.lexer.tokenize(piece))
    while toks and _skippable(*toks[0]):
        toks.pop(0)
    while toks and (_skippable(*toks[-1]) or toks[-1][1] == ";"):
        toks.pop()
    return "".join(v for _, v in toks)


def assert_located(text: str, statements: list[Statement]) -> None:
    """Every statement sits at its offset and line in the text, in order."""
    previous_end = 0
    for number, stmt in enumerate(statements, start=1):
        assert stmt.index == number
        assert text[stmt.offset : stmt.offset + len(stmt.sql)] == stmt.sql
        assert stmt.line == text.count("\n", 0, stmt.offset) + 1
        assert stmt.offset >= previous_end
        previous_end = stmt.offset + len(stmt.sql)


def sqlite_runs(case: GoldenCase) -> bool:
    return case.sqlite_setup is not None or case.dialect == "any"


def execute_one_by_one(db: Path, setup: str, statements: list[Statement]) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    try:
        if setup:
            con.executescript(setup)
        for stmt in statements:
            con.execute(stmt.sql)  # refuses a string holding two statements
    finally:
        con.close()


# --------------------------------------------------------------------------- golden cases

SQLITE_CASES = [c for c in CASES if sqlite_runs(c)]
EXECUTABLE_CASES = [c for c in CASES if c.sqlite_setup is not None]

# sqlparse 0.6.1 (its final release) splits these wrongly. The value is what it
# yields (normalised with ``core``); a change here means sqlparse changed.
SQLPARSE_WRONG: dict[str, list[str]] = {
    "nested-block-comment": ["still comment", "*/ SELECT 1", "SELECT 2"],
    "operator-then-comment": ["SELECT 'a' ||-- join", "next line\n 'b'", "SELECT 2"],
    "col-named-begin": [
        "ALTER TABLE ev ADD COLUMN begin TEXT;\nCREATE TABLE z(q);\nCREATE TABLE y(q)"
    ],
    "create-col-begin": [
        "CREATE TABLE ev(id INTEGER, begin TEXT, finish TEXT);\nCREATE INDEX ev_b ON ev(finish)"
    ],
    "col-named-GO": ["CREATE TABLE terms (id INTEGER, GO", "TEXT)", "CREATE TABLE z(q)"],
    "txn-begin-isolation": [
        "BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE a(x int);\nCOMMIT;\n"
        "CREATE TABLE b(y int)"
    ],
    "txn-begin-read-write": [
        "BEGIN READ WRITE;\nCREATE TABLE a(x int);\nCOMMIT;\nCREATE TABLE b(y int)"
    ],
    "pg-xor-hash": ["SELECT 5 # 3;\nSELECT 8"],
    "backslash-in-string": [
        "INSERT INTO p VALUES ('C:\\');\nINSERT INTO p VALUES ('x;y')",
        "CREATE TABLE z(q)",
    ],
    "mysql-repeat": [
        "CREATE PROCEDURE p() BEGIN\n  DECLARE i INT DEFAULT 0;\n"
        "  REPEAT SET i = i + 1; UNTIL i > 5 END REPEAT",
        "SELECT i",
        "END",
        "SELECT 11",
    ],
    "mysql-if-function-space": [
        "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n"
        "  SET NEW.y = IF (NEW.x > 0, 1, 0);\nEND;\nSELECT 13;\nSELECT 14"
    ],
    "mysql-delimiter": [
        "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND //\nDELIMITER",
        "SELECT 15",
    ],
    "psql-meta-command": ["\\set ON_ERROR_STOP on\nCREATE TABLE a(x int)"],
}


def test_golden_data_is_complete() -> None:
    assert len(CASES) == 47
    assert len({c.id for c in CASES}) == 47
    assert set(SQLPARSE_WRONG) <= {c.id for c in CASES}
    for case in CASES:  # expectations are verbatim pieces of the input
        for expected in case.expected:
            assert expected in case.sql, case.id


@pytest.mark.parametrize("case", SQLITE_CASES, ids=lambda c: c.id)
def test_split_sqlite_golden(case: GoldenCase) -> None:
    text = decoded(case.sql)
    statements = list(split_sqlite(text))
    assert [stripped(s) for s in statements] == case.expected
    assert_located(text, statements)


@pytest.mark.parametrize("case", EXECUTABLE_CASES, ids=lambda c: c.id)
def test_golden_statements_run_on_sqlite(case: GoldenCase, tmp_path: Path) -> None:
    assert case.sqlite_setup is not None
    statements = list(split_sqlite(decoded(case.sql)))
    execute_one_by_one(tmp_path / "golden.db", case.sqlite_setup, statements)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_split_sqlparse_golden(case: GoldenCase) -> None:
    text = decoded(case.sql)
    statements = list(split_sqlparse(text))
    got = [core(s.sql) for s in statements]
    if case.id in SQLPARSE_WRONG:
        assert got == SQLPARSE_WRONG[case.id], "sqlparse's known mis-split changed"
        assert got != case.expected
    else:
        assert got == case.expected
    assert_located(text, statements)
    assert sqlparse_texts(text) == [s.sql for s in statements]


@pytest.mark.parametrize(
    "case",
    [c for c in EXECUTABLE_CASES if c.id in SQLPARSE_WRONG],
    ids=lambda c: c.id,
)
def test_sqlparse_mis_split_fails_loudly_on_sqlite(case: GoldenCase, tmp_path: Path) -> None:
    """One execute per statement: a wrong split is an error, never half a statement run."""
    assert case.sqlite_setup is not None
    statements = list(split_sqlparse(decoded(case.sql)))
    with pytest.raises(sqlite3.Error):
        execute_one_by_one(tmp_path / "wrong.db", case.sqlite_setup, statements)


@pytest.mark.parametrize("case", SQLITE_CASES, ids=lambda c: c.id)
def test_golden_agrees_with_oracle(case: GoldenCase) -> None:
    text = decoded(case.sql)
    assert oracle(text) == [s.sql.rstrip() for s in split_sqlite(text)]


# --------------------------------------------------------------------------- lines and edges


def test_line_numbers_with_bom_crlf_comments_and_blank_lines() -> None:
    raw = (
        "-- header; with a semicolon\r\n"  # 1
        "/* block\r\n"  # 2
        "   comment; */\r\n"  # 3
        "\r\n"  # 4
        "CREATE TABLE a(x);\r\n"  # 5
        "\r\n"  # 6
        "\r\n"  # 7
        "  INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);\r\n"  # 8
        "-- between\r\n"  # 9
        "CREATE TRIGGER t AFTER INSERT ON a\r\n"  # 10
        "BEGIN\r\n"  # 11
        "  SELECT 1;\r\n"  # 12
        "END;\r\n"  # 13
        "\r\n"  # 14
        "  /* lead */ SELECT\r\n"  # 15
        "  2"  # 16
    )
    text = decode(BOM.encode() + raw.encode(), "f.sql")
    statements = list(split_sqlite(text))
    assert [s.line for s in statements] == [5, 8, 8, 10, 15]
    assert [s.index for s in statements] == [1, 2, 3, 4, 5]
    assert statements[0].sql == "CREATE TABLE a(x);"
    assert statements[2].sql == "INSERT INTO a VALUES (2);"
    assert statements[3].sql == "CREATE TRIGGER t AFTER INSERT ON a\r\nBEGIN\r\n  SELECT 1;\r\nEND;"
    assert statements[4].sql == "SELECT\r\n  2"
    assert_located(text, statements)
    # the server splitter reports the same lines
    assert [s.line for s in split_sqlparse(text)] == [5, 8, 8, 10, 15]


def test_line_numbers_lf_and_leading_blank_lines() -> None:
    text = "\n\n\nSELECT 1;\n\n-- c\nSELECT\n2;\n"
    assert [(s.line, s.sql) for s in split_sqlite(text)] == [(4, "SELECT 1;"), (7, "SELECT\n2;")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1;\n-- the end", ["SELECT 1;"]),
        ("SELECT 1; -- the end", ["SELECT 1;"]),
        ("SELECT 1 -- no newline, no semicolon", ["SELECT 1 -- no newline, no semicolon"]),
        ("SELECT 1;\n/* the end */", ["SELECT 1;"]),
        ("SELECT 1;;SELECT 2;;;", ["SELECT 1;", "SELECT 2;"]),
        (";;\n;SELECT 1", ["SELECT 1"]),
        ("SELECT 1\n;", ["SELECT 1\n;"]),
    ],
    ids=["eof-comment", "same-line-comment", "tail-comment", "eof-block", "double-semi",
         "leading-semis", "semi-next-line"],
)
def test_edges_split(text: str, expected: list[str], tmp_path: Path) -> None:
    statements = list(split_sqlite(text))
    assert [s.sql for s in statements] == expected
    assert [s.index for s in statements] == list(range(1, len(expected) + 1))
    execute_one_by_one(tmp_path / "edge.db", "", statements)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t\n", "-- nothing", "-- nothing;\n/* really; */\n", ";", ";;\n ; \n",
     "\r\n-- c\r\n;\r\n"],
    ids=["empty", "blank", "comment-no-newline", "comments", "semi", "semis", "crlf-comment"],
)
def test_nothing_to_execute(text: str) -> None:
    assert list(split_sqlite(text)) == []
    assert list(split_sqlparse(text)) == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("SELECT 1;\n\nINSERT INTO t VALUES ('abc);\nSELECT 2;\n", 3,
         "unterminated string literal opened on line 3: the statement never ends"),
        ("SELECT 1;\nINSERT INTO t\nVALUES (1,\n'abc);\n", 2,
         "unterminated string literal opened on line 4: the statement never ends"),
        ('SELECT 1;\nSELECT "abc;\n', 2,
         "unterminated quoted identifier opened on line 2: the statement never ends"),
        ("SELECT 1;\nSELECT `abc;\n", 2,
         "unterminated quoted identifier opened on line 2: the statement never ends"),
        ("SELECT 1;\r\nSELECT [abc;\r\n", 2,
         "unterminated [bracketed] identifier opened on line 2: the statement never ends"),
        ("SELECT 1 /* never closed;\n", 1,
         "unterminated block comment opened on line 1: the statement never ends"),
        # a /* between statements hid the rest of the file without a word
        ("SELECT 1;\n/* oops\nSELECT 2;\n", 2,
         "unterminated block comment opened on line 2: the statement never ends"),
        ("SELECT 1;\n-- fine\n/* trailing", 3,
         "unterminated block comment opened on line 3: the statement never ends"),
        ("CREATE TABLE a(x);\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\n", 3,
         "statement is incomplete at the end of the file (a CREATE TRIGGER without its END?)"),
        ("CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nCREATE TABLE z(q);\n", 1,
         "statement is incomplete at the end of the file (a CREATE TRIGGER without its END?)"),
    ],
    ids=["string", "string-multiline", "dq-ident", "backtick", "bracket", "block-in-stmt",
         "block-between", "block-at-eof", "trigger-no-end", "trigger-swallows-rest"],
)
def test_unterminated_is_split_error(text: str, line: int, message: str) -> None:
    with pytest.raises(SplitError) as info:
        list(split_sqlite(text))
    assert info.value.line == line
    assert info.value.message == message
    assert str(info.value) == f"line {line}: {message}"


def test_statements_before_an_error_are_yielded_first() -> None:
    """The splitter is lazy; callers that consume it fully see the error."""
    pieces = split_sqlite("SELECT 1;\nSELECT 'x\n")
    assert next(pieces).sql == "SELECT 1;"
    with pytest.raises(SplitError):
        next(pieces)


def test_fifty_thousand_statements() -> None:
    text = "".join(f"INSERT INTO t VALUES ({i}, 'v;{i}');\n" for i in range(50_000))
    statements = list(split_sqlite(text))
    assert len(statements) == 50_000
    assert statements[-1].line == 50_000
    assert statements[-1].sql == "INSERT INTO t VALUES (49999, 'v;49999');"
    assert statements[12_345].line == 12_346


def test_thousands_of_semicolons_inside_one_literal(tmp_path: Path) -> None:
    text = (
        "CREATE TABLE t(v TEXT, w TEXT);\n"
        "INSERT INTO t VALUES ('" + ";" * 5000 + "', 'a;''b');\n"
    )
    statements = list(split_sqlite(text))
    assert len(statements) == 2
    execute_one_by_one(tmp_path / "semis.db", "", statements)
    con = sqlite3.connect(tmp_path / "semis.db")
    assert con.execute("SELECT length(v), w FROM t").fetchone() == (5000, "a;'b")
    con.close()


def test_deeply_nested_parentheses(tmp_path: Path) -> None:
    deep = "SELECT " + "(" * 5000 + "';'" + ")" * 5000 + ";\nSELECT 2;"
    assert [s.line for s in split_sqlite(deep)] == [1, 2]
    assert [s.line for s in split_sqlparse(deep)] == [1, 2]
    runnable = "SELECT " + "(" * 50 + "1" + ")" * 50 + ";\nSELECT 2;"
    execute_one_by_one(tmp_path / "deep.db", "", list(split_sqlite(runnable)))


def test_sqlparse_keeps_dollar_bodies_and_lines() -> None:
    text = (
        "-- migrator test\n"
        "CREATE FUNCTION f() RETURNS trigger AS $$\n"
        "BEGIN\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "\n"
        "SELECT 1;\n"
    )
    statements = list(split_sqlparse(text))
    assert [s.line for s in statements] == [2, 8]
    assert statements[0].sql.endswith("$$ LANGUAGE plpgsql;")


# --------------------------------------------------------------------------- property test

_ORACLE_LEAD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|;)*", re.DOTALL)


def oracle(text: str) -> list[str]:
    """Cut at every ';' where SQLite's tokenizer says the buffer is complete."""
    pieces: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if ch == ";" and sqlite3.complete_statement(text[start : i + 1]):
            pieces.append(text[start : i + 1])
            start = i + 1
    pieces.append(text[start:])
    bodies = []
    for piece in pieces:
        lead = _ORACLE_LEAD.match(piece)
        assert lead is not None
        body = piece[lead.end() :].rstrip()
        if body:
            bodies.append(body)
    return bodies


CORPUS = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT);",
    "INSERT INTO t1(b) VALUES ('x;y'), ('it''s; ok'), (';;;'), ('''');",
    'CREATE TABLE "a;b"(x, "c""d;" TEXT);',
    "SELECT [a;b] FROM (SELECT 1 AS [a;b]);",
    "SELECT `a;b`, `c``;` FROM t;",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN\n"
    "  UPDATE t1 SET b = CASE WHEN new.b = ';' THEN 'semi;' ELSE new.b END WHERE a = new.a;\n"
    "  INSERT INTO log VALUES ('end;');\n"
    "END;",
    "CREATE TRIGGER tr2 BEFORE DELETE ON t1 WHEN (CASE old.a WHEN 1 THEN 1 ELSE 0 END)\n"
    "BEGIN SELECT RAISE(ABORT, 'no; way'); END;",
    "create temp trigger tr3 after delete on a begin delete from b where x = old.x; end;",
    "CREATE TRIGGER tr4 AFTER UPDATE OF b ON t1 FOR EACH ROW BEGIN\n"
    "  INSERT INTO log SELECT 'begin; end; case';\n"
    "  -- end;\n"
    "  /* END; */\n"
    "  DELETE FROM log WHERE x IN (SELECT x FROM log WHERE x = 'END');\n"
    "END;",
    "SELECT 1 -- inner; comment 'quote\n  + 2;",
    "SELECT /* ; ' \" [ */ 3;",
    "UPDATE t1 SET b = 'a' ||-- join; next line\n 'b';",
    "ALTER TABLE ev ADD COLUMN begin TEXT;",
    "CREATE TABLE terms(id INTEGER, GO TEXT, \"end\" INTEGER, [begin] TEXT, `case` INT);",
    "INSERT INTO p VALUES ('C:\\');",
    "SELECT x'3B', '--not a comment;', '/* nor; this */';",
    "SELECT 1\n;",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x FROM c;",
    "SELECT 'multi\nline; string';",
]
SEPARATORS = [
    " ", "\t", "\n", "\n\n", "-- note; it's \"here\" [x\n", "/* block; 'q' \"d\" [b `e */",
    "/**/", "--\n", ";", " ; ", "/* multi\nline; */",
]


@st.composite
def migration_texts(draw: st.DrawFn) -> tuple[bytes, list[str], list[int]]:
    """Random file bytes, the statements it must split into, and their lines."""
    statements = draw(st.lists(st.sampled_from(CORPUS), max_size=10))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.booleans())
    terminated = draw(st.booleans())

    def sep(whitespace_only: bool = False) -> str:
        pool = [" ", "\t", "\n"] if whitespace_only else SEPARATORS
        return "".join(draw(st.lists(st.sampled_from(pool), max_size=4)))

    text = sep()
    expected: list[str] = []
    starts: list[int] = []
    for number, stmt in enumerate(statements, start=1):
        last = number == len(statements)
        if last and not terminated:
            stmt = stmt.removesuffix(";").rstrip()
        stmt = stmt.replace("\n", eol)
        # a line comment must end before the next statement does
        if not text.endswith("\n") and "--" in text.rsplit("\n", 1)[-1]:
            text += "\n"
        starts.append(len(text.replace("\n", eol)))
        expected.append(stmt)
        text += stmt.replace(eol, "\n")
        text += sep(whitespace_only=last and not terminated)
    text = text.replace("\n", eol)
    lines = [text.count("\n", 0, offset) + 1 for offset in starts]
    raw = (BOM if bom else "").encode() + text.encode("utf-8")
    return raw, expected, lines


def _check_round_trip(sample: tuple[bytes, list[str], list[int]]) -> None:
    raw, expected, lines = sample
    text = decode(raw, "prop.sql")
    statements = list(split_sqlite(text))
    assert [s.sql for s in statements] == expected
    assert [s.line for s in statements] == lines
    assert_located(text, statements)
    assert oracle(text) == [s.sql for s in statements]


def _property(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


@_property(200)
@given(migration_texts())
def test_split_round_trips_and_matches_sqlite_oracle(
    sample: tuple[bytes, list[str], list[int]],
) -> None:
    _check_round_trip(sample)


@pytest.mark.slow
@_property(10_000)
@given(migration_texts())
def test_split_round_trips_many_examples(sample: tuple[bytes, list[str], list[int]]) -> None:
    _check_round_trip(sample)


UNTERMINATED = [
    ("INSERT INTO t VALUES ('oops);\nSELECT 1;", "unterminated string literal"),
    ('SELECT "oops;\nSELECT 1;', "unterminated quoted identifier"),
    ("SELECT `oops;\nSELECT 1;", "unterminated quoted identifier"),
    ("SELECT [oops;\nSELECT 1;", "unterminated [bracketed] identifier"),
    ("/* oops;\nSELECT 1;", "unterminated block comment"),
    ("CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;\nSELECT 2;", "without its END"),
]


@_property(100)
@given(migration_texts(), st.sampled_from(UNTERMINATED))
def test_unterminated_tail_is_reported_at_its_first_line(
    sample: tuple[bytes, list[str], list[int]], bad: tuple[str, str]
) -> None:
    raw, expected, _ = sample
    text = decode(raw, "prop.sql") + "\n;\n"  # close a last statement left open
    line = text.count("\n") + 1
    got: list[Statement] = []
    with pytest.raises(SplitError) as info:
        for stmt in split_sqlite(text + bad[0]):
            got.append(stmt)
    assert len(got) == len(expected)
    assert info.value.line == line
    assert bad[1] in info.value.message


@_property(100)
@given(migration_texts())
def test_sqlparse_statements_sit_at_their_lines(sample: tuple[bytes, list[str], list[int]]) -> None:
    """Even where sqlparse cuts wrongly, offsets and lines point into the file."""
    text = decode(sample[0], "prop.sql")
    assert_located(text, list(split_sqlparse(text)))


def test_corpus_runs_on_sqlite(tmp_path: Path) -> None:
    """The corpus is real SQL: joined, split and executed it all succeeds."""
    setup = (
        "CREATE TABLE log(x); CREATE TABLE a(x); CREATE TABLE b(x); CREATE TABLE t(`a;b`, `c``;`);"
        "CREATE TABLE ev(id); CREATE TABLE p(v);"
    )
    text = "\n-- sep;\n".join(CORPUS)
    statements = list(split_sqlite(text))
    assert [s.sql for s in statements] == CORPUS
    execute_one_by_one(tmp_path / "corpus.db", setup, statements)
