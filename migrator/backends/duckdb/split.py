"""DuckDB's statement boundaries, by DuckDB's own quoting rules.

``duckdb.extract_statements`` knows the boundaries but gives neither offsets
nor lines, parses every statement (a syntax error would stop the split
instead of being reported with its statement), and rewrites some bytes of
the text; so this is a small lexer for the rules DuckDB's scanner (the
PostgreSQL one, plus backticks) applies, checked against extract_statements
by the tests:

- ``'...'`` with ``''`` for a quote and no backslash escapes; ``E'...'`` with
  backslash escapes (``E`` at the start of a word only);
- ``"..."`` and ```...``` identifiers, the quote doubled inside;
- ``$tag$...$tag$`` and ``$$...$$`` bodies, a ``$`` inside a word being part
  of the word (``a$b$``);
- ``--`` comments to the end of the line (LF or CR), and ``/* */`` comments,
  which nest.

Each statement keeps its trailing ``;``; pieces with nothing but comments
are skipped. No driver import: the splitter runs before any connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from migrator.splitting import SplitError, Statement

_WORD_START = r"[^\W\d]|[\x80-\U0010FFFF]"
_WORD_CHAR = r"[\w$\x80-\U0010FFFF]"
# Everything up to the next ';' outside quotes and comments, in one C call,
# except block comments (they nest, which a regular expression cannot count).
# It stops early at an opener that does not close. Possessive repeats: a
# 50 MB VALUES list must not keep backtracking state per literal.
_RUN = re.compile(
    r"""(?:[^;'"`$/\-\w\x80-\U0010FFFF]++"""
    r"""|[Ee]'(?:[^'\\]++|\\.|'')*+'"""  # E'...': backslash escapes
    rf"""|(?![Ee]')(?:{_WORD_START}|\d){_WORD_CHAR}*+"""  # a word: keywords, names, numbers
    r"""|(?:'[^']*+')++|(?:"[^"]*+")++|(?:`[^`]*+`)++"""
    rf"""|\$(?P<tag>(?:{_WORD_START})[\w\x80-\U0010FFFF]*+|)\$.*?\$(?P=tag)\$"""
    rf"""|\$(?!(?:{_WORD_START})[\w\x80-\U0010FFFF]*+\$|\$)"""  # $1, $name: parameters
    r"""|--[^\n\r]*+|-|/(?!\*))*+""",
    re.DOTALL,
)
_SPACE = re.compile(r"(?:[ \t\n\r\f\v]++|--[^\n\r]*+)*+")
_NESTING = re.compile(r"/\*|\*/")
_DOLLAR_OPEN = re.compile(rf"\$(?:(?:{_WORD_START})[\w\x80-\U0010FFFF]*+)?\$")
_OPENERS = {
    "'": "string literal",
    "E": "string literal",
    "e": "string literal",
    '"': "quoted identifier",
    "`": "quoted identifier",
    "$": "dollar-quoted string",
    "/": "block comment",
}


def split(text: str) -> Iterator[Statement]:
    """Statements as DuckDB delimits them; raises SplitError."""
    for index, (first, end, line) in enumerate(statement_bounds(text), start=1):
        yield Statement(index, line, text[first:end], first)


def statement_bounds(text: str) -> Iterator[tuple[int, int, int]]:
    """``(first, end, line)`` of each statement, ``text[first:end]`` being its SQL.

    Raises SplitError (with the opener's line) after yielding the statements
    before an unterminated quote or comment.
    """
    size = len(text)
    line, counted = 1, 0
    start = 0
    while start < size:
        first = _skip_space(text, start)
        if first >= size:
            return
        end = _statement_end(text, first)
        if end == size:  # the last statement, without a ';'
            end = first + len(text[first:].rstrip())
        line += text.count("\n", counted, first)
        counted = first
        if text[first] != ";":
            yield first, end, line
        start = end


def _skip_space(text: str, pos: int) -> int:
    """Past whitespace and comments; an unclosed /* is left for the statement scan."""
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith("/*", pos):
            return pos
        end = _comment_end(text, pos)
        if end < 0:
            return pos
        pos = end


def _statement_end(text: str, pos: int) -> int:
    """Just past the ';' ending the statement at ``pos``, or ``len(text)``."""
    run = _RUN.match
    size = len(text)
    while True:
        pos = run(text, pos).end()  # type: ignore[union-attr]
        if pos >= size:
            return size
        if text[pos] == ";":
            return pos + 1
        end = _comment_end(text, pos) if text.startswith("/*", pos) else -1
        if end < 0:
            raise _unterminated(text, pos)
        pos = end


def _comment_end(text: str, pos: int) -> int:
    """Just past the ``*/`` closing the (nesting) comment at ``pos``; -1 if none."""
    depth = 0
    for match in _NESTING.finditer(text, pos):
        depth += 1 if match.group() == "/*" else -1
        if depth == 0:
            return match.end()
    return -1


def _unterminated(text: str, pos: int) -> SplitError:
    line = text.count("\n", 0, pos) + 1
    what = _OPENERS.get(text[pos], "token")
    if text[pos] == "$":
        opener = _DOLLAR_OPEN.match(text, pos)
        what = f"dollar-quoted string {opener.group() if opener else '$'}"
    return SplitError(line, f"unterminated {what} opened on line {line}: the statement never ends")
