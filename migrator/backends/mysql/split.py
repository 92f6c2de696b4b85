"""MySQL/MariaDB statement boundaries: the mysql client's DELIMITER rule.

Between ``DELIMITER`` lines a statement ends at the current delimiter,
outside quotes and comments, as the ``mysql`` client cuts them. A file
without ``DELIMITER`` is split by sqlparse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from migrator.splitting import Statement, bounds_of, split_sqlparse

_DELIMITER = re.compile(r"^[ \t]*DELIMITER[ \t]+(\S+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def split(text: str) -> Iterator[Statement]:
    if _DELIMITER.search(text) is None:
        yield from split_sqlparse(text)
        return
    index = 0
    for start, end, delimiter in _delimiter_regions(text):
        pieces = (split_sqlparse(text[start:end]) if delimiter == ";"
                  else _cut(text[start:end], delimiter))
        base_line = text.count("\n", 0, start)
        for stmt in pieces:
            index += 1
            yield Statement(index, stmt.line + base_line, stmt.sql, stmt.offset + start)


def statement_bounds(text: str) -> Iterator[tuple[int, int, int]]:
    return bounds_of(split(text))


def _delimiter_regions(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, delimiter) for the text between DELIMITER lines."""
    delimiter, start = ";", 0
    for match in _DELIMITER.finditer(text):
        yield start, match.start(), delimiter
        delimiter = match.group(1)
        start = match.end()
    yield start, len(text), delimiter


# What may hide a delimiter: quotes (backslash escapes, doubled quotes) and comments.
# Possessive repeats: a plain one keeps backtracking state per character (1 GB
# for a 10 MB literal).
_SKIP = re.compile(
    r"""'(?:[^'\\]++|\\.|'')*+'|"(?:[^"\\]++|\\.|"")*+"|`(?:[^`]++|``)*+`"""
    r"""|--(?=\s)[^\n]*+|\#[^\n]*+|/\*.*?\*/""",
    re.DOTALL,
)
_BLANK = re.compile(r"(?:\s++|--(?=\s)[^\n]*+|\#[^\n]*+|/\*.*?\*/)*+", re.DOTALL)


def _cut(text: str, delimiter: str) -> Iterator[Statement]:
    """The mysql client's rule: cut at the delimiter outside quotes and comments."""
    index, start, pos = 0, 0, 0
    line, counted = 1, 0  # newlines counted once each, not from the top per statement
    hit, skip = text.find(delimiter), _SKIP.search(text)
    while pos <= len(text):
        # Each search is redone only once passed: redone every time, a file of 40k
        # statements without quotes took a minute (each search ran to the end).
        if 0 <= hit < pos:
            hit = text.find(delimiter, pos)
        if skip is not None and skip.start() < pos:
            skip = _SKIP.search(text, pos)
        if skip is not None and (hit < 0 or skip.start() < hit):
            pos = skip.end()
            continue
        end = len(text) if hit < 0 else hit
        first = _BLANK.match(text, start).end()  # type: ignore[union-attr]
        if first < end:
            index += 1
            body = text[first:end].rstrip()
            line += text.count("\n", counted, first)
            counted = first
            yield Statement(index, line, body, first)
        if hit < 0:
            return
        start = pos = hit + len(delimiter)
