"""The PostgreSQL splitter (pglast): exact cuts, character offsets, refusals with lines.

No server needed: pglast comes with the dev extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.backends.postgres.split import split, statement_bounds
from migrator.splitting import SplitError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from golden_cases import CASES, GoldenCase

PG_CASES = [c for c in CASES
            if c.dialect in ("any", "postgres", "sqlite/pg", "pg/mysql")
            and c.id != "psql-meta-command"]  # refused by pre-flight, see below


def cut(text: str) -> list[tuple[int, str]]:
    out = []
    for stmt in split(text):
        assert text[stmt.offset:stmt.offset + len(stmt.sql)] == stmt.sql
        out.append((stmt.line, stmt.sql))
    assert [(s.offset, s.offset + len(s.sql), s.line) for s in split(text)] == \
        list(statement_bounds(text))
    return out


@pytest.mark.parametrize("case", PG_CASES, ids=lambda c: c.id)
def test_golden_cases(case: GoldenCase) -> None:
    got = [sql[:-1].rstrip() if sql.endswith(";") else sql for _, sql in cut(case.sql)]
    assert got == case.expected


@pytest.mark.parametrize("text, expected", [
    ("SELECT $fn$ a; $x$ b; $fn$;\nSELECT $$;$$;",
     [(1, "SELECT $fn$ a; $x$ b; $fn$;"), (2, "SELECT $$;$$;")]),
    ("SELECT E'it\\'s; fine';\nSELECT 'a''b;';",
     [(1, "SELECT E'it\\'s; fine';"), (2, "SELECT 'a''b;';")]),
    ("/* a /* nested; */ still; */ SELECT 1;\n-- c;\nSELECT 2",
     [(1, "SELECT 1;"), (3, "SELECT 2")]),
    ("SELECT 'é€😀';\nSELECT 'ü' AS \"ñ\"; SELECT 3;",
     [(1, "SELECT 'é€😀';"), (2, "SELECT 'ü' AS \"ñ\";"), (2, "SELECT 3;")]),
    ("SELECT 1;\r\n-- x\r\nSELECT 2;\r\n", [(1, "SELECT 1;"), (3, "SELECT 2;")]),
    ("\ufeffSELECT 1;", [(1, "SELECT 1;")]),
    ("SELECT $é$ a; $ü$ b; $é$;", [(1, "SELECT $é$ a; $ü$ b; $é$;")]),
    ("SELECT $é$ a $é$, '\udcff';\nSELECT '\udcfe';",  # undecodable bytes, escaped
     [(1, "SELECT $é$ a $é$, '\udcff';"), (2, "SELECT '\udcfe';")]),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
     "  SELECT CASE WHEN true THEN 2 END;\nEND;\nSELECT 3;",
     [(1, "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
          "  SELECT CASE WHEN true THEN 2 END;\nEND;"), (6, "SELECT 3;")]),
    ("CREATE TABLE ev (id INTEGER, begin TEXT);\nCREATE INDEX ev_id ON ev (id);",
     [(1, "CREATE TABLE ev (id INTEGER, begin TEXT);"), (2, "CREATE INDEX ev_id ON ev (id);")]),
    ("SELECT 1 -- c\n;  ;; SELECT 2 /* x */ ;",
     [(1, "SELECT 1 -- c\n;"), (2, "SELECT 2 /* x */ ;")]),
    ("", []), ("-- only a comment\n", []), (" ;\n;", []),
])
def test_tricky_inputs(text: str, expected: list[tuple[int, str]]) -> None:
    assert cut(text) == expected


@pytest.mark.parametrize("text, expected", [
    # the parser refuses these files; the scanner still cuts every statement for the server
    ("selec 1;\nSELECT 2;", [(1, "selec 1;"), (2, "SELECT 2;")]),
    ("SELECT 1abc; SELECT ''; SELECT \"\";\nfoo bar;",
     [(1, "SELECT 1abc;"), (1, "SELECT '';"), (1, "SELECT \"\";"), (2, "foo bar;")]),
    ("CREATE PROCEDURE p() LANGUAGE sql BEGIN /* c */ ATOMIC INSERT INTO t VALUES (1);\n"
     "SELECT (CASE WHEN true THEN 1 END); END;\nnonsense;",
     [(1, "CREATE PROCEDURE p() LANGUAGE sql BEGIN /* c */ ATOMIC INSERT INTO t VALUES (1);\n"
          "SELECT (CASE WHEN true THEN 1 END); END;"), (3, "nonsense;")]),
    ("CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1'; oops; SELECT 2;",
     [(1, "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1';"), (1, "oops;"),
      (1, "SELECT 2;")]),
    ("CREATE RULE r AS ON INSERT TO t DO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));"
     "\nnope;", [(1, "CREATE RULE r AS ON INSERT TO t DO (INSERT INTO a VALUES (1); "
                     "INSERT INTO b VALUES (2));"), (2, "nope;")]),
    ("ünïcode;\nSELECT 'é';", [(1, "ünïcode;"), (2, "SELECT 'é';")]),
])
def test_invalid_sql_is_cut_not_refused(text: str, expected: list[tuple[int, str]]) -> None:
    assert cut(text) == expected


@pytest.mark.parametrize("text, line, needle", [
    ("SELECT 1;\n\nSELECT 'abc", 3, "unterminated quoted string"),
    ("SELECT 1;\nSELECT 2 /* abc /* x */", 2, "unterminated /* comment"),
    ("SELECT 1;\nSELECT $t$ body $x$;", 2, "unterminated dollar-quoted string"),
    ("SELECT 1;\nSELECT \"abc;", 2, "unterminated quoted identifier"),
    ("SELECT 1;\n\tDELIMITER //\n", 2, "DELIMITER is a mysql client command"),
    ("SELECT 1;\nCOPY a FROM stdin;\n1\tit's\n\\.\n", 2, "COPY ... FROM STDIN"),
    ("SELECT 1;\ncOpY (SELECT 1) TO STDOUT;", 2, "COPY ... FROM STDIN / TO STDOUT"),
    ("CREATE TABLE a (id INTEGER)\n\\gset\nSELECT 1;", 2, "'\\gset' is a psql client command"),
    ("SELECT 1;\nSELECT '\x00';", 2, "NUL character"),
])
def test_refusals_name_their_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(SplitError) as caught:
        list(split(text))
    assert caught.value.line == line
    assert needle in caught.value.message


def test_a_backslash_command_that_starts_a_statement_is_left_to_preflight() -> None:
    from migrator.preflight import check

    found = check(split("CREATE TABLE a(x int);\n\\set ON_ERROR_STOP on\n"), "m.sql",
                  frozenset())
    (error,) = found.errors
    assert error.line == 2 and "client command '\\set'" in error.message


def test_large_data_file_with_non_ascii_text() -> None:
    rows = [f"INSERT INTO t VALUES ({i}, 'é{i}; ü');" for i in range(20_000)]
    text = "-- data\n" + "\n".join(rows) + "\n"
    stmts = list(split(text))
    assert len(stmts) == 20_000
    assert stmts[-1].line == 20_001 and stmts[-1].sql == rows[-1]
    assert text[stmts[-1].offset:].rstrip("\n") == rows[-1]


SNIPPETS = [
    "SELECT 1", "SELECT 'a;b'", "SELECT $x$ ; $y$ $x$", "SELECT E'\\';'", 'SELECT "a;b" FROM t',
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
    "selec oops", "SELECT 'é;ü'", "SELECT (1 + (2))", "CREATE TABLE ev (begin int)",
]
SEPARATORS = [";\n", ";  ", "; -- c;\n", ";/* x; /* y; */ */\n", ";\r\n\r\n"]


@given(st.lists(st.tuples(st.sampled_from(SNIPPETS), st.sampled_from(SEPARATORS)),
                max_size=8))
@settings(max_examples=150, deadline=None)
def test_any_mix_of_statements_splits_back_into_them(parts: list[tuple[str, str]]) -> None:
    text = "".join(sql + sep for sql, sep in parts)
    assert [s.sql for s in split(text)] == [sql + ";" for sql, _sep in parts]


TRICKY_BODIES = [
    "CREATE FUNCTION f{i}() RETURNS int LANGUAGE plpgsql AS $b$\nBEGIN\n"
    + "  PERFORM 1;\n" * 40 + "  RETURN 1;\nEND $b$;\n",
    "CREATE FUNCTION g{i}() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
    + "  SELECT 1;\n" * 40 + "END;\n",
    "CREATE RULE r{i} AS ON INSERT TO t DO ALSO (\n" + "  NOTIFY x;\n" * 40 + ");\n",
    "INSERT INTO t VALUES ('a string;\n" + "still the string;\n" * 40 + "');\n",
    "/* a comment;\n" + "still the comment;\n" * 40 + "*/ SELECT {i};\n",
]


@pytest.mark.parametrize("body", range(len(TRICKY_BODIES)))
@pytest.mark.parametrize("chunk", [500, 1 << 20])
def test_a_large_file_is_parsed_in_pieces_with_the_same_cuts(
    monkeypatch: pytest.MonkeyPatch, body: int, chunk: int
) -> None:
    """Pieces end at a ';' + newline; one inside a quote, comment, parentheses or
    BEGIN ATOMIC body is no boundary, and the whole text is parsed instead."""
    from migrator.backends.postgres import split as module

    rows, reps = (6000, 4) if chunk > 1000 else (60, 1)
    lines = []
    for i in range(rows):
        lines.append(f"INSERT INTO t VALUES ({i}, 'row {i} ünï', 'x');\n")
        if i % 7 == 3:
            lines.append(TRICKY_BODIES[body].format(i=i))
    text = "".join(lines) * reps
    assert len(text) > 2 * chunk
    monkeypatch.setattr(module, "_CHUNK", chunk)
    pieces = list(statement_bounds(text))
    monkeypatch.setattr(module, "_CHUNK", len(text))
    assert pieces == list(statement_bounds(text))
    assert len(pieces) == len(lines) * reps  # one statement a row, one a tricky body


@pytest.mark.parametrize("bad_at", [5, 150, 299])
def test_invalid_sql_in_any_piece_is_cut_as_in_one_piece(
    monkeypatch: pytest.MonkeyPatch, bad_at: int
) -> None:
    from migrator.backends.postgres import split as module

    lines = [f"INSERT INTO t VALUES ({i});\n" for i in range(300)]
    lines[bad_at] = "selec 1 frm nowhere;\n"
    text = "".join(lines)
    monkeypatch.setattr(module, "_CHUNK", 500)
    pieces = list(statement_bounds(text))
    monkeypatch.setattr(module, "_CHUNK", len(text))
    assert pieces == list(statement_bounds(text))
    assert len(pieces) == 300 and text[pieces[bad_at][0]:pieces[bad_at][1]] == lines[bad_at][:-1]
