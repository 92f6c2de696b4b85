"""PostgreSQL statement boundaries, cut by PostgreSQL's own parser (pglast).

libpg_query's parser split is exact for valid SQL (dollar quotes, nested
comments, ``BEGIN ATOMIC`` bodies, rules with several actions in
parentheses). A file it cannot parse is cut by its scanner instead, which
refuses nothing but an unterminated quote or comment: the server reports
any other error with its own message. Only ``BEGIN ATOMIC ... END`` needs
help there, since the scanner cuts at every top-level ``;``.

pglast works in UTF-8 byte offsets and converts them with a lookup that is
linear in the number of non-ASCII characters, so a large file with many of
them would be quadratic. The text is therefore scanned with every non-ASCII
character replaced by ``x`` (an identifier character to the scanner, and one
character for one), which keeps offsets in characters. Refused here, with
their line: ``DELIMITER`` (a mysql client command), ``COPY ... FROM STDIN``
(needs psql to stream the data), psql backslash commands inside a statement
(one that starts a statement is left to the pre-flight check), NUL characters.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence

from pglast.parser import ParseError, Token, scan
from pglast.parser import split as pg_split

from migrator.splitting import SplitError, Statement

_COPY_STDIO = re.compile(r"COPY\b.*?\b(?:FROM\s+STDIN|TO\s+STDOUT)\b",
                         re.IGNORECASE | re.DOTALL)
_DELIMITER = re.compile(r"^[ \t]*DELIMITER[ \t]+\S", re.IGNORECASE | re.MULTILINE)
_BOM = "\ufeff"
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A dollar-quote tag holding non-ASCII characters: masking could make two tags equal.
_WIDE_TAG = re.compile(r"\$[^\s$]*[^\x00-\x7f][^\s$]*\$")
_LEXEME = re.compile(r'""|[\w.$]+')  # what a non-fatal scanner error points at
_MAX_MASKED = 10_000
_CHUNK = 1 << 20  # characters the parser gets at once from a large file
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
Bounds = tuple[int, int, int]


def split(text: str) -> Iterator[Statement]:
    for index, (first, end, line) in enumerate(statement_bounds(text), 1):
        yield Statement(index, line, text[first:end], first)


def statement_bounds(text: str) -> Iterator[Bounds]:
    """``(first, end, line)`` of each statement; ``end`` is past its ``;``, if any."""
    _refuse_client_lines(text)
    scanned = masked(text)
    try:
        slices = _parsed(scanned)
    except ParseError:  # invalid SQL: the server says what is wrong, statement by statement
        yield from _scanner_bounds(text, scanned)
        return
    yield from _checked(text, _bounds(text, scanned, slices))


def _parsed(scanned: str) -> list[slice]:
    """The parser's slices, a piece of about _CHUNK characters at a time.

    The parse tree of a whole data file takes about 15 bytes a character; a
    piece ends at a ``;`` + newline, and only where everything before it
    parses on its own is that a boundary (a cut inside a quote, a comment,
    parentheses or a BEGIN ATOMIC body leaves it unterminated). Else the
    whole text is parsed at once, as it always was.
    """
    if len(scanned) <= 2 * _CHUNK:
        return list(pg_split(scanned, with_parser=True, only_slices=True))
    found: list[slice] = []
    start = 0
    while start < len(scanned):
        cut = scanned.find(";\n", start + _CHUNK)
        stop = len(scanned) if cut < 0 or len(scanned) - cut < _CHUNK else cut + 2
        try:
            pieces = pg_split(scanned[start:stop], with_parser=True, only_slices=True)
        except ParseError:
            if stop == len(scanned) and not found:
                raise
            return list(pg_split(scanned, with_parser=True, only_slices=True))
        found.extend(slice(p.start + start, p.stop + start) for p in pieces)
        start = stop
    return found


def masked(text: str) -> str:
    """The text as the scanner gets it: same length, ASCII unless a dollar tag is not."""
    scanned = text.replace(_BOM, " ")  # psql skips a byte-order mark; so does the server
    if scanned.isascii():
        return scanned
    # lone surrogates (undecodable bytes) cannot reach the C library as UTF-8
    return _SURROGATE.sub("x", scanned) if _WIDE_TAG.search(scanned) \
        else _NON_ASCII.sub("x", scanned)


def _refuse_client_lines(text: str) -> None:
    match = _DELIMITER.search(text)
    if match is not None:
        raise SplitError(_line(text, match.start()), "DELIMITER is a mysql client command; "
                         "PostgreSQL needs none (use $$ quoting for function bodies)")
    nul = text.find("\x00")
    if nul >= 0:
        raise SplitError(_line(text, nul), "a NUL character (0x00): PostgreSQL cannot take "
                         "it in a statement")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _bounds(text: str, scanned: str, slices: Sequence[slice]) -> Iterator[Bounds]:
    line, pos = 1, 0
    for piece in slices:
        first = _first_token(scanned, piece.start, piece.stop)
        if first >= piece.stop:
            continue
        end = _past_semicolon(scanned, piece.stop)
        line += text.count("\n", pos, first)
        pos = first
        yield first, end, line


def _checked(text: str, bounds: Iterator[Bounds]) -> Iterator[Bounds]:
    for first, end, line in bounds:
        if text[first:first + 4].upper() == "COPY" and _COPY_STDIO.match(text, first, end):
            raise SplitError(line, "COPY ... FROM STDIN / TO STDOUT needs psql to stream the "
                             "data; load data with INSERT, or COPY from a file the server "
                             "can read")
        yield first, end, line


def _first_token(text: str, pos: int, stop: int) -> int:
    """Skip whitespace and comments (``/* */`` nests in PostgreSQL)."""
    while pos < stop:
        char = text[pos]
        if char.isspace():
            pos += 1
        elif text.startswith("--", pos):
            newline = text.find("\n", pos)
            pos = stop if newline < 0 else newline + 1
        elif text.startswith("/*", pos):
            depth, pos = 1, pos + 2
            while depth and pos < stop:
                if text.startswith("/*", pos):
                    depth, pos = depth + 1, pos + 2
                elif text.startswith("*/", pos):
                    depth, pos = depth - 1, pos + 2
                else:
                    pos += 1
        else:
            return pos
    return stop


def _past_semicolon(text: str, pos: int) -> int:
    after = pos
    while after < len(text) and text[after].isspace():
        after += 1
    return after + 1 if text.startswith(";", after) else pos


# -- the scanner, for text the parser refuses -------------------------------------
# libpg_query's own scanner split drops a piece that does not start with a keyword
# ("selec 1;" vanishes), so the tokens are walked here, as psql does: a ";" ends a
# statement outside parentheses and outside a BEGIN ATOMIC body.

def _scanner_bounds(text: str, scanned: str) -> Iterator[Bounds]:
    hidden = 0
    while True:
        try:
            tokens = scan(scanned)
            break
        except ParseError as exc:
            message, location = _error_of(exc)
            if location is None:
                raise SplitError(1, f"{message} (PostgreSQL's scanner)") from exc
            if message.startswith("unterminated"):
                # what comes before it is refused first, as it would be run first
                with contextlib.suppress(ParseError):
                    yield from _checked(text, _walk(text, scan(scanned[:location]), last=False))
                raise SplitError(_line(text, location), message) from exc
            lexeme = _LEXEME.match(scanned, location)
            hidden += 1
            if lexeme is None or hidden > _MAX_MASKED:
                raise SplitError(_line(text, location), message) from exc
            # the server reports this one itself: hide it from the scanner and go on
            scanned = (scanned[:location] + "x" * (lexeme.end() - location)
                       + scanned[lexeme.end():])
    yield from _checked(text, _walk(text, tokens, last=True))


def _error_of(exc: ParseError) -> tuple[str, int | None]:
    message = str(exc.args[0]) if exc.args else str(exc)
    location = exc.args[1] if len(exc.args) > 1 else None
    return message, location if isinstance(location, int) else None


def _walk(text: str, tokens: list[Token], *, last: bool) -> Iterator[Bounds]:
    """Statements from tokens; ``last``: yield a final piece that has no ``;``."""
    line, pos = 1, 0
    first = -1
    parens = atomic = 0
    head: list[str] = []
    previous = ""
    for token in tokens:
        name = token.name
        if name in _COMMENTS or (first < 0 and name == "ASCII_59"):
            continue
        if first < 0:
            first, parens, atomic, head, previous = token.start, 0, 0, [], ""
            line += text.count("\n", pos, first)
            pos = first
        elif name == "ASCII_92":
            command = re.match(r"\\\S*", text[token.start:]).group()  # type: ignore[union-attr]
            raise SplitError(_line(text, token.start), f"'{command}' is a psql client "
                             "command, which only psql understands; migration files hold "
                             "SQL only")
        if len(head) < 4:
            head.append(name)
        if name == "ASCII_59" and parens == 0 and atomic == 0:
            yield first, token.end + 1, line
            first = -1
            continue
        if name == "ASCII_40":
            parens += 1
        elif name == "ASCII_41":
            parens = max(parens - 1, 0)
        elif atomic:
            atomic += (name == "CASE") - (name == "END_P")
        elif name == "ATOMIC" and previous == "BEGIN_P" and parens == 0 and _routine(head):
            atomic = 1
        previous = name
    if first >= 0 and last:
        yield first, tokens[-1].end + 1, line


def _routine(head: list[str]) -> bool:
    """CREATE [OR REPLACE] FUNCTION|PROCEDURE: the statements with BEGIN ATOMIC bodies."""
    kinds = ("FUNCTION", "PROCEDURE")
    return head[:1] == ["CREATE"] and (head[1:2] in (["FUNCTION"], ["PROCEDURE"]) or (
        head[1:3] == ["OR", "REPLACE"] and len(head) > 3 and head[3] in kinds))
