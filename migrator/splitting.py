"""Cutting a migration file into statements, with their lines in the file.

Two splitters share one output type:

* ``split_sqlite``: one linear pass that skips quotes and comments with a
  regular expression, stops at each remaining ``;`` and asks SQLite's own
  tokenizer (``sqlite3.complete_statement``) whether the statement is complete
  there (a ``;`` inside a trigger body is not a boundary). SQLite's grammar is
  the one that will run the text, so its verdict is final.
* ``split_sqlparse``: sqlparse's splitter, for the server dialects, where it
  knows dollar quotes and procedural bodies. sqlparse is imported lazily so
  the SQLite path and ``status`` never pay for it.

Both skip pieces with nothing to execute and never strip text inside a
statement; each statement keeps its trailing ``;``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from typing import NamedTuple


class Statement(NamedTuple):
    """One statement; ``sql == text[offset:offset + len(sql)]`` always holds.

    A NamedTuple: a data file builds 200k of them, and a tuple is built in C.
    """

    # 1-based position among the file's executable statements (shadows tuple.index)
    index: int  # type: ignore[assignment]
    line: int  # 1-based line of the statement's first token
    sql: str
    offset: int  # character offset of the first token in the decoded text


class SplitError(Exception):
    """The text cannot be cut into complete statements (unterminated quote...)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


# Things that may hide a ';' from the splitter, the ';' itself, or an opener
# that is never closed. Alternation order matters: complete forms first.
# Possessive repeats (*+, ++) everywhere: a plain repeat of a group keeps
# backtracking state per iteration, 870 MB for one 50 MB literal full of ''.
_SCAN = re.compile(
    r"""(?:'[^']*+')++|(?:"[^"]*+")++|(?:`[^`]*+`)++|\[[^\]]*+\]|--[^\n]*+|/\*.*?\*/"""
    r"""|(?P<semi>;)|(?P<open>['"`\[]|/\*)""",
    re.DOTALL,
)
# Whitespace and comments before a statement's first token. An unclosed /*
# is not skipped: it would hide the rest of the file, so it must be reported.
_LEAD = re.compile(r"(?:\s++|--[^\n]*+|/\*.*?\*/)*+", re.DOTALL)
_OPENERS = {
    "'": "string literal",
    '"': "quoted identifier",
    "`": "quoted identifier",
    "[": "[bracketed] identifier",
    "/*": "block comment",
}


class _Lines:
    """Line numbers for increasing offsets without rescanning from the top."""

    __slots__ = ("_line", "_pos", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1

    def at(self, offset: int) -> int:
        if offset >= self._pos:
            self._line += self._text.count("\n", self._pos, offset)
        else:
            self._line -= self._text.count("\n", offset, self._pos)
        self._pos = offset
        return self._line


def split_sqlite(text: str) -> Iterator[Statement]:
    """Statements as SQLite's tokenizer delimits them; raises SplitError."""
    make = Statement
    for index, (first, end, line) in enumerate(sqlite_bounds(text), start=1):
        yield make(index, line, text[first:end], first)


def bounds_of(statements: Iterable[Statement]) -> Iterator[tuple[int, int, int]]:
    """``(first, end, line)`` of statements from a splitter that makes Statements."""
    for stmt in statements:
        yield stmt.offset, stmt.offset + len(stmt.sql), stmt.line


def sqlite_bounds(text: str) -> Iterator[tuple[int, int, int]]:
    """``(first, end, line)`` of each statement, ``text[first:end]`` being its SQL.

    The splitter's core, without a Statement per statement: the engine keeps
    these three integers of a 200k-statement data file in arrays. Fast path:
    the next ``;`` found with ``str.find``, confirmed by ``complete_statement``
    on that one statement, so a plain statement costs a few C calls. Only a
    statement whose first ``;`` is not its end (a quote, a comment, a trigger
    body) is walked token by token, from its own start, so the whole pass
    stays linear. Raises SplitError after yielding the statements before it.
    """
    if "\r" in text:
        _check_lone_cr(text)
    complete = sqlite3.complete_statement
    lead = _LEAD.match
    find, count = text.find, text.count
    line, counted = 1, 0  # newlines counted once each, as _Lines does, without a call
    start = 0
    while True:
        end = find(";", start) + 1
        if not end:
            break
        if not complete(text[start:end]):
            end = _walk_to_end(text, start)
            if end < 0:
                break  # unterminated: the rest of the file belongs to the last piece
        first = lead(text, start).end()  # type: ignore[union-attr]
        if first < end - 1:
            line += count("\n", counted, first)
            counted = first
            yield first, end, line
        start = end
    tail_first = lead(text, start).end()  # type: ignore[union-attr]
    if tail_first >= len(text):
        return
    tail = text[tail_first:].rstrip()
    line += count("\n", counted, tail_first)
    if not complete(tail + "\n;"):
        raise SplitError(line, _incomplete_reason(tail, line))
    yield tail_first, tail_first + len(tail), line


_LONE_CR = re.compile(r"\r(?!\n)")
_HIDDEN_BY_CR = re.compile(r"\r(?!\n)[^\n]*?\S")


def _check_lone_cr(text: str) -> None:
    """Refuse a '--' comment that a lone CR (old Mac line ending) seems to end.

    SQLite ends such a comment only at LF, so the lines after the CR would be
    comment too: their statements silently skipped, the file recorded as applied.
    """
    if _LONE_CR.search(text) is None:
        return
    for match in _SCAN.finditer(text):
        if match.lastgroup == "open":
            return  # reported as unterminated by the split itself
        token = match.group()
        if token.startswith("--") and _HIDDEN_BY_CR.search(token):
            line = text.count("\n", 0, match.start()) + 1
            raise SplitError(
                line,
                "a '--' comment is followed by a CR line ending without LF (old Mac style); "
                "SQLite ends a comment only at LF, so the text after it would be skipped "
                "as comment: save the file with LF or CRLF line endings",
            )


# Everything up to the next ';' that is not inside a quote or comment, in one C
# call: a 50 MB VALUES list has millions of quoted ';', too many for a Python loop.
# It stops early at an opener that never closes (a lone '-' and '/' are text).
_TO_SEMI = re.compile(
    r"""(?:[^;'"`\[\-/]++|(?:'[^']*+')++|(?:"[^"]*+")++|(?:`[^`]*+`)++|\[[^\]]*+\]"""
    r"""|--[^\n]*+|/\*.*?\*/|-|/(?!\*))*+""",
    re.DOTALL,
)


_END = re.compile(r"end", re.IGNORECASE)


def _walk_to_end(text: str, start: int) -> int:
    """End of the statement at ``start``, skipping quotes and comments; -1 if none.

    Past its first real ';', a statement is a trigger, which only an ``END ;``
    completes: ``complete_statement`` (a rescan from ``start``) is asked only
    when 'end' occurs since the previous ';', so a trigger of 20k statements
    is not rescanned 20k times (7.6 s).
    """
    complete = sqlite3.complete_statement
    skip, has_end = _TO_SEMI.match, _END.search
    pos = start
    first = True
    while True:
        semi = skip(text, pos).end()  # type: ignore[union-attr]
        if text[semi : semi + 1] != ";":
            return -1  # the end of the text, or an opener never closed
        if (first or has_end(text, pos, semi)) and complete(text[start : semi + 1]):
            return semi + 1
        first = False
        pos = semi + 1


def _incomplete_reason(tail: str, line: int) -> str:
    for match in _SCAN.finditer(tail):
        if match.lastgroup == "open":
            what = _OPENERS[match.group()]
            opened = line + tail.count("\n", 0, match.start())
            return f"unterminated {what} opened on line {opened}: the statement never ends"
    return (
        "statement is incomplete at the end of the file "
        "(a CREATE TRIGGER without its END?)"
    )


def split_sqlparse(text: str) -> Iterator[Statement]:
    """Statements as sqlparse delimits them (server dialects)."""
    from sqlparse import tokens as T
    from sqlparse.engine import FilterStack

    lines = _Lines(text)
    index = 0
    offset = 0
    for stmt in FilterStack().run(text):  # type: ignore[no-untyped-call]
        piece = str(stmt)
        first = None
        pos = offset
        for token in stmt.flatten():
            ttype = token.ttype
            if ttype in T.Whitespace or ttype in T.Comment or ttype in T.Newline:
                pos += len(token.value)
                continue
            if ttype is T.Punctuation and token.value == ";":
                pos += 1
                continue
            first = pos
            break
        if first is not None:
            body = text[first : offset + len(piece)].rstrip()
            index += 1
            yield Statement(index, lines.at(first), body, first)
        offset += len(piece)


def sqlparse_texts(text: str) -> list[str]:
    """Statement texts from sqlparse, for cross-checking the SQLite splitter."""
    return [s.sql for s in split_sqlparse(text)]
