"""MySQL/MariaDB statement boundaries, cut by the ``mysql`` client's rules.

One linear pass over the text, as the client reads a script: a statement
ends at the current delimiter outside quotes (``'…'`` and ``"…"`` with
backslash escapes and doubled quotes; backquoted names with doubled
backquotes) and comments (``-- `` and ``#`` to the end of the line, ``/* … */``).
``DELIMITER x`` changes the delimiter when it starts a line between
statements; anywhere else it is SQL, as for the client.

Executable comments (``/*! … */``, ``/*M! … */``) are SQL: they stay in
their statement and are never skipped as blank. The client cuts at a
delimiter inside one, sending two halves the server refuses; that is a
SplitError here, before anything runs.

Without DELIMITER lines the client would also cut a stored program at the
first ``;`` of its body. Earlier releases split such files with sqlparse,
which keeps a ``BEGIN … END`` body whole, and migration sets rely on it: in
a ``;`` region, a CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT, an ALTER EVENT
or MariaDB's ``BEGIN NOT ATOMIC`` therefore ends at the first ``;`` outside its
``BEGIN … END`` and ``CASE … END`` blocks. A body whose blocks never close
is a SplitError that asks for DELIMITER lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from migrator.splitting import LineCounter, SplitError, Statement

# Quotes are matched whole with possessive repeats: a plain repeat keeps
# backtracking state per character (1 GB for a 10 MB literal). The group
# ending in "c" is the closing quote, empty when the text ends first.
_QUOTES = (r"""(?P<sq>'(?:[^'\\]++|\\.|'')*+(?P<sqc>'?))"""
           r"""|(?P<dq>"(?:[^"\\]++|\\.|"")*+(?P<dqc>"?))"""
           r"""|(?P<bq>`(?:[^`]++|``)*+(?P<bqc>`?))""")
_COMMENTS = (r"""|(?P<exe>/\*M?!)"""
             r"""|(?P<bc>/\*.*?\*/|/\*)"""
             r"""|--(?=\s|\Z)[^\n]*+|\#[^\n]*+""")
# BEGIN and CASE open a block, END closes one; END IF/WHILE/REPEAT/LOOP close
# statements whose inner ';' always sit inside a BEGIN anyway. A word after
# '.' or '@' is a name (NEW.end, @begin).
_BLOCK_WORDS = (r"""|(?P<kw>(?<![\w$.@])(?:BEGIN|CASE|END(?:\s++(?P<endof>IF|WHILE|REPEAT"""
                r"""|LOOP|CASE))?)(?![\w$]))""")
_IN_EXECUTABLE = re.compile(_QUOTES + r"""|(?P<close>\*/)""", re.DOTALL)
_BLANK = re.compile(r"(?:\s++|--(?=\s|\Z)[^\n]*+|\#[^\n]*+|/\*(?!M?!).*?\*/)*+", re.DOTALL)
_DELIMITER_COMMAND = re.compile(r"DELIMITER(?=\s|\Z)[ \t]*+(\S*+)[^\n]*+", re.IGNORECASE)
_NAME = r"(?:`[^`]*+`|'[^']*+'|\"[^\"]*+\"|[\w.$%-]++)"
_PROGRAM = re.compile(
    r"(?:(?:CREATE\s++(?:OR\s++REPLACE\s++)?|ALTER\s++)"
    rf"(?:DEFINER\s*+=\s*+(?:CURRENT_USER(?:\s*+\(\s*+\))?|{_NAME}(?:\s*+@\s*+{_NAME})?)\s++)?"
    r"(?:AGGREGATE\s++)?(?:PROCEDURE|FUNCTION|TRIGGER|EVENT)(?![\w$])"
    r"|(?:[\w$]++\s*+:\s*+)?BEGIN\s++NOT\s++ATOMIC(?![\w$]))",
    re.IGNORECASE,
)
_BODY_WORD = re.compile(r"(?<![\w$.@])(?:BEGIN|THEN)(?![\w$])", re.IGNORECASE)
_ENDS_BODY = re.compile(r"(?<![\w$.@])END(?:\s++(?!(?:IF|WHILE|REPEAT|LOOP|CASE)\b)[\w$]++)?"
                        r"\s*+\Z", re.IGNORECASE)
_QUOTE_NAMES = {"sq": "quoted string ('…')", "dq": 'quoted string ("…")',
                "bq": "quoted name (`…`)"}


@lru_cache(maxsize=16)
def _pattern(delimiter: str, blocks: bool) -> re.Pattern[str]:
    words = _BLOCK_WORDS if blocks else ""
    flags = re.DOTALL | (re.IGNORECASE if blocks else 0)
    return re.compile(_QUOTES + _COMMENTS + words + f"|(?P<d>{re.escape(delimiter)})", flags)


def split(text: str) -> Iterator[Statement]:
    """The statements of ``text``; raises SplitError naming the line of the problem."""
    for index, (first, end, line) in enumerate(statement_bounds(text), start=1):
        yield Statement(index, line, text[first:end], first)


def statement_bounds(text: str, delimiter: str = ";") -> Iterator[tuple[int, int, int]]:
    """``(first, end, line)`` of each statement, ``text[first:end]`` its SQL without
    the delimiter or trailing blanks; ``delimiter`` is the one in force at the top."""
    lines = LineCounter(text)
    pos, size = 0, len(text)
    while True:
        first = _BLANK.match(text, pos).end()  # type: ignore[union-attr]
        if first >= size:
            return
        command = _delimiter_command(text, first)
        if command is not None:
            delimiter = _new_delimiter(command, lines.at(first))
            pos = command.end()
            continue
        program = delimiter == ";" and _PROGRAM.match(text, first) is not None
        end, pos = _statement_end(text, first, delimiter, program, lines)
        while end > first and text[end - 1].isspace():
            end -= 1
        if end > first:
            yield first, end, lines.at(first)


def is_cut_stored_program(sql: str) -> bool:
    """Whether ``sql`` is a stored program whose compound body (BEGIN …, IF … THEN …)
    stops before its closing END: cut at a ';' of the body, as the mysql client cuts
    a file without DELIMITER lines."""
    head = _PROGRAM.match(sql, _BLANK.match(sql).end())  # type: ignore[union-attr]
    if head is None or _BODY_WORD.search(sql, head.end()) is None:
        return False
    return _ENDS_BODY.search(sql.rstrip().rstrip(";")) is None


def _cut(text: str, delimiter: str) -> Iterator[Statement]:
    """Statements of ``text`` cut at ``delimiter`` from its first character on."""
    for index, (first, end, line) in enumerate(statement_bounds(text, delimiter), start=1):
        yield Statement(index, line, text[first:end], first)


def _delimiter_command(text: str, first: int) -> re.Match[str] | None:
    """A DELIMITER line: the client takes it only as the first word of a line
    between statements (after a comment line too, as comments are not sent)."""
    if text[first] not in "dD":
        return None
    before = first - 1  # only blanks back to the line's start (never rescan the line)
    while before >= 0 and text[before] in " \t":
        before -= 1
    if before >= 0 and text[before] != "\n":
        return None
    return _DELIMITER_COMMAND.match(text, first)


def _new_delimiter(command: re.Match[str], line: int) -> str:
    delimiter = command.group(1)
    if not delimiter:
        raise SplitError(line, "DELIMITER must be followed by the new delimiter, "
                               "as in 'DELIMITER //'")
    if "\\" in delimiter:
        raise SplitError(line, "a DELIMITER cannot contain a backslash (the mysql "
                               "client refuses it too)")
    return delimiter


def _statement_end(text: str, first: int, delimiter: str, program: bool,
                   lines: LineCounter) -> tuple[int, int]:
    """(end of the statement's text, where the next one may start)."""
    pattern = _pattern(delimiter, program)
    depth, pos = 0, first
    while True:
        m = pattern.search(text, pos)
        if m is None:
            break
        kind, pos = m.lastgroup, m.end()
        if kind == "d":
            if depth <= 0:
                return m.start(), pos
        elif kind == "kw":
            endof = m.group("endof")
            if m.group("kw")[0] in "bBcC":
                depth += 1
            elif endof is None or endof.upper() == "CASE":
                depth -= 1
        elif kind in _QUOTE_NAMES:
            if not m.group(kind + "c"):
                raise SplitError(lines.at(m.start()), f"unterminated {_QUOTE_NAMES[kind]} "
                                 "starting here")
        elif kind == "bc" and len(m.group()) == 2:
            raise SplitError(lines.at(m.start()), "unterminated /* comment starting here")
        elif kind == "exe":
            pos = _executable_end(text, m.start(), delimiter, lines)
    if program and depth > 0:
        raise SplitError(lines.at(first), "this stored program's BEGIN has no matching END "
                         "before the end of the file; put DELIMITER lines around it, as for "
                         "the mysql client (DELIMITER // … END // DELIMITER ;)")
    return len(text), len(text)


def _executable_end(text: str, start: int, delimiter: str, lines: LineCounter) -> int:
    """The end of the executable comment at ``start``: its SQL is read as SQL."""
    pos = start + (4 if text.startswith("/*M!", start) else 3)
    cut = text.find(delimiter, pos)
    while True:
        m = _IN_EXECUTABLE.search(text, pos)
        if m is None:
            raise SplitError(lines.at(start), "unterminated /*! comment starting here")
        if 0 <= cut < m.start():
            raise SplitError(lines.at(cut), f"{delimiter!r} inside the executable comment "
                             f"opened on line {lines.at(start)}: the mysql client cuts the "
                             "statement there and the server refuses both halves; move it "
                             "out of the /*! … */ comment")
        kind, pos = m.lastgroup, m.end()
        if kind == "close":
            return pos
        if not m.group(f"{kind}c"):
            raise SplitError(lines.at(m.start()), f"unterminated {_QUOTE_NAMES[str(kind)]} "
                             "starting here")
        if cut < pos:
            cut = text.find(delimiter, pos)
