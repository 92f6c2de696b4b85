"""The DuckDB splitter against DuckDB's own parser (``duckdb.extract_statements``).

extract_statements is the reference for where statements end; it returns
each statement's text from the previous boundary, so a generated file whose
statements all end in ';' and start without a comment must split into the
same texts, stripped.
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.backends.duckdb.split import split, statement_bounds
from migrator.splitting import SplitError


def reference(text: str) -> list[str]:
    return [s.query.strip() for s in duckdb.extract_statements(text)]


def mine(text: str) -> list[str]:
    return [s.sql for s in split(text)]


CASES = [
    "select 1; select 2;",
    "select 'a;b'; select 'it''s;';",
    "select E'a\\';b'; select e'x\\\\';",
    'select "a;""b" from t; select 2;',
    "select `a``;b`; select 2;",
    "select $$a;b$$; select $tag$x;$other$;$tag$;",
    "select $a; select $1; select 1 as a$b$;",
    "select 1 /* ; /* nested ; */ ; */ ; select 2;",
    "select 1 -- ;\n; select 2;",
    "select 1 -- c\r; select 2;",
    "select 1 as xe; select 'x';",
    "create macro m(a) as a + 1; select m(1);",
    "select 'a'--x\n'b'; select 2;",
    "select U&'a;''b'; select x'41';",
]


@pytest.mark.parametrize("text", CASES)
def test_boundaries_match_duckdb(text: str) -> None:
    assert mine(text) == reference(text)


def test_offsets_lines_and_leading_comments() -> None:
    text = "/* head */ -- x\n  select 1 ;\n\n;\n  select\n2 -- tail\n"
    bounds = list(statement_bounds(text))
    assert [text[a:b] for a, b, _ in bounds] == ["select 1 ;", "select\n2 -- tail"]
    assert [line for _, _, line in bounds] == [2, 5]
    stmts = list(split(text))
    assert [(s.index, s.line) for s in stmts] == [(1, 2), (2, 5)]
    assert all(text[s.offset:s.offset + len(s.sql)] == s.sql for s in stmts)
    assert mine("-- only a comment\n/* and another */\n") == []
    assert mine(";;") == []


@pytest.mark.parametrize(("text", "line", "what"), [
    ("select 1;\nselect 'abc", 2, "unterminated string literal"),
    ("select 1;\n\nselect E'a\\';", 3, "unterminated string literal"),
    ("select \"abc;", 1, "unterminated quoted identifier"),
    ("select `abc;", 1, "unterminated quoted identifier"),
    ("select 1;\nselect $q$ x;", 2, "unterminated dollar-quoted string $q$"),
    ("select 1; /* a /* b */ ;", 1, "unterminated block comment"),
    ("select 'a\\';b'; select 2;", 1, "unterminated string literal"),
])
def test_unterminated_is_reported_with_its_line(text: str, line: int, what: str) -> None:
    with pytest.raises(duckdb.ParserException):
        duckdb.extract_statements(text)
    with pytest.raises(SplitError) as info:
        list(split(text))
    assert info.value.line == line
    assert what in info.value.message


def test_statements_before_an_unterminated_one_are_yielded_first() -> None:
    got: list[str] = []
    with pytest.raises(SplitError):
        for stmt in split("select 1;\nselect 2;\nselect 'x"):
            got.append(stmt.sql)
    assert got == ["select 1;", "select 2;"]


# ASCII expressions and separators that hide or hold a ';' in every way DuckDB knows;
# joined with ',' they always parse, so every generated file is compared.
_EXPRESSIONS = st.sampled_from([
    "1", "a", "x1", "e", "E", "b$c$", "$name", "'a;b'", "'it''s'", "''", r"E'\';'",
    r"e'x\\'", "E''''", '"q;"', '"a""b"', "`b;t`", "$$;$$", "$t$;$$;$t$", "$$$$",
    "'\n;'", "U&'x'", "(1 - -2)", "4 / 2", "a.b",
])
_GAPS = st.sampled_from(["", " ", "\n", "\t", "-- c;\n", "--\r", "/* ; */", "/* /* ; */ */"])
_ITEM = st.tuples(_GAPS, _EXPRESSIONS, _GAPS).map("".join)
_STATEMENT = st.lists(_ITEM, min_size=1, max_size=8).map(lambda p: "select " + ",".join(p))


@settings(max_examples=300, deadline=None)
@given(st.lists(_STATEMENT, min_size=1, max_size=5))
def test_generated_files_split_like_duckdb(statements: list[str]) -> None:
    text = "".join(s + ";\n" for s in statements)
    assert mine(text) == reference(text)


def test_golden_cases_split_where_duckdb_splits() -> None:
    """The shared splitter cases: wherever DuckDB's parser takes the text, the
    DuckDB splitter starts statements at the same places."""
    from golden_cases import CASES

    from migrator.backends.duckdb.split import _skip_space

    compared = 0
    for case in CASES:
        try:
            queries = [s.query for s in duckdb.extract_statements(case.sql)]
        except duckdb.Error:
            continue  # another dialect's syntax (a trigger body, DELIMITER, ...)
        joined = "".join(queries)  # the texts cover the file: positions are comparable
        assert case.sql.startswith(joined), case.id
        assert _skip_space(case.sql, len(joined)) == len(case.sql), case.id
        starts, at = [], 0
        for query in queries:
            starts.append(_skip_space(case.sql, at))
            at += len(query)
        assert [stmt.offset for stmt in split(case.sql)] == starts, case.id
        compared += 1
    assert compared >= 5  # most cases are SQLite syntax (untyped columns, triggers)
