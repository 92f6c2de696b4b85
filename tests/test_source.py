"""Reading one migration file: decoding and ``-- migrator:`` directives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from migrator.errors import FileProblem
from migrator.source import (
    FOREIGN_KEYS_OFF,
    NO_TRANSACTION,
    SourceError,
    decode,
    parse_directives,
    parse_sql,
    read_bytes,
    read_sql,
)


def directives(text: str) -> frozenset[str]:
    return parse_sql(text.encode("utf-8"), "m.sql").directives


def problems(raw: bytes) -> list[FileProblem]:
    with pytest.raises(SourceError) as info:
        parse_sql(raw, "m.sql")
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-- migrator: no-transaction\nVACUUM;", {NO_TRANSACTION}),
        ("-- migrator: foreign-keys-off\nSELECT 1;", {FOREIGN_KEYS_OFF}),
        ("--migrator:no-transaction\nVACUUM;", {NO_TRANSACTION}),
        ("  --   Migrator :   No-Transaction   \nVACUUM;", {NO_TRANSACTION}),
        ("-- MIGRATOR: FOREIGN-KEYS-OFF\r\nSELECT 1;\r\n", {FOREIGN_KEYS_OFF}),
        ("\t-- migrator:\tno-transaction\t\nVACUUM;", {NO_TRANSACTION}),
        ("-- rebuild users\n\n-- migrator: no-transaction\n-- why: VACUUM\nVACUUM;",
         {NO_TRANSACTION}),
        ("-- migrator: no-transaction\n-- migrator: no-transaction\nVACUUM;", {NO_TRANSACTION}),
        ("-- migrator: no-transaction", {NO_TRANSACTION}),
        ("SELECT 1;\n-- not a directive: migrator\n", set()),
        ("-- migrators: no-transaction\nSELECT 1;", set()),
        ("", set()),
    ],
    ids=["no-tx", "fk-off", "no-space", "spaces-case", "upper-crlf", "tabs", "after-comments",
         "repeated", "only-line", "mention", "other-word", "empty"],
)
def test_directives_in_leading_comments(text: str, expected: set[str]) -> None:
    assert directives(text) == expected
    assert parse_sql(text.encode(), "m.sql").transactional == (NO_TRANSACTION not in expected)


def test_bom_then_directive() -> None:
    raw = b"\xef\xbb\xbf-- migrator: no-transaction\r\nVACUUM;\r\n"
    sql = parse_sql(raw, "m.sql")
    assert sql.directives == {NO_TRANSACTION}
    assert sql.text == "-- migrator: no-transaction\r\nVACUUM;\r\n"
    assert sql.checksum == hashlib.sha256(raw).hexdigest()


def test_unknown_directive_names_the_line() -> None:
    (problem,) = problems(b"-- header\n-- migrator: no-transactions\nVACUUM;")
    assert problem == FileProblem(
        "m.sql",
        "unknown directive '-- migrator: no-transactions' "
        "(known: no-transaction, foreign-keys-off, placeholders, out-of-order-ok)",
        2,
    )


def test_empty_directive_is_unknown() -> None:
    (problem,) = problems(b"-- migrator:\nSELECT 1;")
    assert problem.line == 1
    assert problem.message.startswith("unknown directive '-- migrator: '")


def test_directive_after_sql_is_an_error() -> None:
    raw = b"-- migrator: foreign-keys-off\nSELECT 1;\n\n-- migrator: no-transaction\n"
    (problem,) = problems(raw)
    assert problem.line == 4
    assert problem.message == (
        "directive '-- migrator: no-transaction' must be in the comment lines at the top "
        "of the file, before any SQL"
    )


def test_combining_directives_is_an_error() -> None:
    (problem,) = problems(b"-- migrator: no-transaction\n-- migrator: foreign-keys-off\nSELECT 1;")
    assert problem.line is None
    assert problem.message.startswith("'no-transaction' and 'foreign-keys-off' cannot be combined")


def test_all_directive_problems_are_reported_together() -> None:
    found = problems(b"-- migrator: bogus\nSELECT 1;\n-- migrator: no-transaction\n")
    assert [p.line for p in found] == [1, 3]


def test_decode_errors_name_the_byte() -> None:
    (problem,) = problems(b"SELECT 1;\n\nSELECT '\xc3(';")
    assert problem == FileProblem(
        "m.sql", "not valid UTF-8: byte 0xc3 at offset 19; save the file as UTF-8", 3
    )
    (problem,) = problems(b"\xef\xbb\xbfSELECT 'caf\xc3\xa9';\n\x00")
    assert problem.message == "NUL byte at offset 19"  # bytes, as a hex editor counts
    assert problem.line == 2


def test_decode_keeps_line_endings_and_drops_only_a_leading_bom() -> None:
    assert decode(b"\xef\xbb\xbfa\r\nb\n", "m.sql") == "a\r\nb\n"
    assert decode(b"a\xef\xbb\xbf", "m.sql") == "a\ufeff"


def test_read_sql_reports_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read_sql(tmp_path / "missing.up.sql", display="migrations/missing.up.sql")
    assert [str(p) for p in info.value.problems] == [
        "migrations/missing.up.sql: cannot read: No such file or directory"
    ]


def test_directive_may_carry_a_trailing_comment() -> None:
    text = "-- migrator: no-transaction -- VACUUM needs it\nVACUUM;\n"
    assert parse_directives(text, "m.up.sql") == frozenset({"no-transaction"})


@pytest.mark.parametrize("size", [0, 1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, 3_000_001])
def test_read_bytes_reads_whole_files_around_the_first_read_size(
    tmp_path: Path, size: int
) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "m.up.sql"
    path.write_bytes(data)
    assert read_bytes(path) == data
    assert read_bytes(str(path)) == data


def test_read_sql_of_a_directory_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read_sql(str(tmp_path))
    assert [str(p) for p in info.value.problems] == [f"{tmp_path}: cannot read: Is a directory"]


@pytest.mark.parametrize(
    "text",
    ["SELECT 1 - 2;\n", "SELECT '2026-01-01'; -- a comment\n", "-- migrators: x\nSELECT 1;\n",
     "SELECT 1; -- migrator mentioned, no colon\n"],
    ids=["dash", "comment", "other-word", "no-colon"],
)
def test_dashes_and_comments_without_a_directive(text: str) -> None:
    assert parse_directives(text, "m.sql") == frozenset()


def test_mixed_case_directive_after_a_comment_with_dashes_is_found() -> None:
    text = "-- 2026-01-01: rebuild\n  --  MiGrAtOr :  no-transaction\nVACUUM;\n"
    assert parse_directives(text, "m.sql") == frozenset({NO_TRANSACTION})
