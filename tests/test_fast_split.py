"""The fast SQLite splitter must cut exactly where SQLite's own tokenizer does.

The reference is deliberately naive: walk the text char by char, and at every
';' ask ``sqlite3.complete_statement`` whether the piece so far is complete
(the oracle of the sqlparse research probe). The fast path (``str.find`` +
one confirmation, a token walk only when the first ';' is not the end) must
give identical statements, offsets and line numbers on the test cases, the
golden cases and generated text, and fail on the same inputs.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.backends.sqlite.split import split_sqlite
from migrator.splitting import SplitError, Statement
from tests.golden_cases import CASES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import corpus


def _skip_lead(text: str, i: int) -> int:
    """Index of the first character that is not whitespace or a comment."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                return i  # an unclosed comment is content, to be reported
            i = close + 2
        else:
            return i
    return n


def reference(text: str) -> list[tuple[int, int, str]] | str:
    """(line, offset, sql) per statement, or 'error' where the fast path must raise."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for i, ch in enumerate(text):
        if ch == ";" and sqlite3.complete_statement(text[start : i + 1]):
            first = _skip_lead(text, start)
            if first < i:
                out.append((text.count("\n", 0, first) + 1, first, text[first : i + 1]))
            start = i + 1
    first = _skip_lead(text, start)
    if first < len(text):
        tail = text[first:].rstrip()
        if not sqlite3.complete_statement(tail + "\n;"):
            return "error"
        out.append((text.count("\n", 0, first) + 1, first, tail))
    return out


def fast(text: str) -> list[tuple[int, int, str]] | str:
    try:
        return [(s.line, s.offset, s.sql) for s in split_sqlite(text)]
    except SplitError:
        return "error"


SQLITE_CASES = [c for c in CASES if c.dialect != "postgres"]


@pytest.mark.parametrize("case", SQLITE_CASES, ids=[c.id for c in SQLITE_CASES])
def test_golden_cases_match_reference(case: object) -> None:
    sql = case.sql  # type: ignore[attr-defined]
    expected = reference(sql)
    assert fast(sql) == expected
    # and the statement indexes are 1..n with no gap
    if expected != "error":
        assert [s.index for s in split_sqlite(sql)] == list(range(1, len(expected) + 1))


HAND_CASES = {
    "first-semicolon-in-string": "INSERT INTO a VALUES ('a;b');\nSELECT 2;",
    "first-semicolon-in-comment": "SELECT 1 -- no; really\n;\nSELECT 2;",
    "trigger-then-plain": (
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n INSERT INTO b VALUES (1);\n"
        " UPDATE c SET n = n + 1;\nEND;\nINSERT INTO a VALUES (1);\nSELECT 3;"
    ),
    "many-semicolons-in-one-literal": "SELECT '" + ";" * 5000 + "';\nSELECT 2;",
    "unterminated-string": "SELECT 1;\nSELECT 'abc;\nSELECT 2;",
    "unterminated-comment": "SELECT 1;\n/* never closed; SELECT 2;",
    "unterminated-trigger": "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;",
    "only-semicolons": ";;\n;",
    "crlf-lines": "SELECT 1;\r\n-- c;\r\nSELECT 2;\r\n",
    "no-final-semicolon": "SELECT 1;\nSELECT 2",
    "comment-at-end": "SELECT 1;\n-- done",
    "bracket-and-backtick": "SELECT [a;b], `c;d` FROM t;\nSELECT 2;",
}


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_hand_cases_match_reference(name: str) -> None:
    assert fast(HAND_CASES[name]) == reference(HAND_CASES[name])


def test_generated_bench_corpora_match_reference(tmp_path: Path) -> None:
    corpus.write_small(tmp_path / "small", 3)
    corpus.write_large(tmp_path / "large", 0.05)
    files = sorted((tmp_path / "small").iterdir()) + sorted((tmp_path / "large").iterdir())
    for path in files:
        text = path.read_text()
        expected = reference(text)
        assert expected != "error" and len(expected) > 10
        assert fast(text) == expected, path.name


FRAGMENTS = [
    "SELECT 1", "INSERT INTO a VALUES (1)", ";", ";", " ", "\n", "\r\n", "'a;b'", "'it''s;'",
    '"q;i"', "`b;t`", "[br;k]", "-- c;\n", "-- end", "/* c; */", "/*", "'", "x", "END",
    "BEGIN", "CASE WHEN 1 THEN 2 END", "CREATE TRIGGER t AFTER INSERT ON a BEGIN",
    "SELECT 1;", "END;", "ñ;", "\ufeff",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_generated_text_matches_reference(parts: list[str]) -> None:
    text = "".join(parts)
    assert fast(text) == reference(text)


def test_statement_text_is_a_slice_at_its_offset() -> None:
    """The engine re-slices statements from offsets; the invariant it relies on."""
    text = "".join(HAND_CASES[k] + "\n" for k in ("trigger-then-plain", "crlf-lines"))
    for s in split_sqlite(text):
        assert text[s.offset : s.offset + len(s.sql)] == s.sql


def test_statements_are_immutable() -> None:
    made = Statement(3, 7, "SELECT 1;", 42)
    with pytest.raises(AttributeError):
        made.line = 8  # type: ignore[misc]
