"""What every dialect's splitter yields, and sqlparse's splitter as a fallback.

Each dialect cuts files by its own rules in ``backends/<name>/split.py``;
they share the ``Statement`` type and ``SplitError`` defined here.
``split_sqlparse`` is the fallback where no exact splitter exists (imported
lazily, so ``status`` never pays for it). Splitters skip pieces with nothing
to execute and never strip text inside a statement.
"""

from __future__ import annotations

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


class LineCounter:
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


def statements_of(
    text: str, bounds: Iterable[tuple[int, int, int]]
) -> Iterator[Statement]:
    """Statements from a dialect's ``(first, end, line)`` splitter: its ``split``."""
    for index, (first, end, line) in enumerate(bounds, start=1):
        yield Statement(index, line, text[first:end], first)


def bounds_of(statements: Iterable[Statement]) -> Iterator[tuple[int, int, int]]:
    """``(first, end, line)`` of statements from a splitter that makes Statements."""
    for stmt in statements:
        yield stmt.offset, stmt.offset + len(stmt.sql), stmt.line


def split_sqlparse(text: str) -> Iterator[Statement]:
    """Statements as sqlparse delimits them (server dialects)."""
    from sqlparse import tokens as T
    from sqlparse.engine import FilterStack

    lines = LineCounter(text)
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
