"""SQLite's statement boundaries, by SQLite's own tokenizer.

One linear pass skips quotes and comments with a regular expression, stops
at each remaining ``;`` and asks ``sqlite3.complete_statement`` whether the
statement is complete there (a ``;`` inside a trigger body is not a
boundary). SQLite's grammar is the one that will run the text, so its
verdict is final. Each statement keeps its trailing ``;``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

from migrator.splitting import SplitError, Statement

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



def split_sqlite(text: str) -> Iterator[Statement]:
    """Statements as SQLite's tokenizer delimits them; raises SplitError."""
    make = Statement
    for index, (first, end, line) in enumerate(sqlite_bounds(text), start=1):
        yield make(index, line, text[first:end], first)


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
    line, counted = 1, 0  # newlines counted once each, as LineCounter does, without a call
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
