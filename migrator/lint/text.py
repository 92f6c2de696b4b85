"""Statement text reduced to what a keyword rule may match, for dialects without a parser.

Comments become spaces and quoted strings become ``''``, so ``DROP`` inside a
string or a comment never fires a rule; identifiers quoted with backticks or
double quotes keep their name. Offsets are kept: the result has the same length.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"--[^\n]*|#[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^'\\]|\\.|'')*(?:'|\Z)", re.DOTALL)


_FIRST_WORD = re.compile(r"[A-Za-z]+")


def first_word(sql: str) -> str:
    """The statement's first keyword, upper-case: a cheap filter before any parsing
    (a data file has 200k INSERTs that no rule reads)."""
    match = _FIRST_WORD.match(sql)
    return match.group(0).upper() if match else ""


def masked(sql: str, *, hash_comments: bool = False) -> str:
    """``sql`` with comments blanked and string contents blanked, same length."""
    def blank(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.startswith("#") and not hash_comments:
            return token
        if token.startswith("'"):
            return "'" + " " * max(0, len(token) - 2) + ("'" if len(token) > 1 else "")
        return re.sub(r"[^\n]", " ", token)

    return _TOKEN.sub(blank, sql)


def unquote(name: str) -> str:
    """The bare, lower-case last part of a possibly qualified, quoted name."""
    last = re.split(r"\.(?=(?:[^\"`]*[\"`][^\"`]*[\"`])*[^\"`]*$)", name)[-1]
    return last.strip().strip('`"[]').lower()


_TABLE_CONSTRAINT = re.compile(
    r"^(?:CONSTRAINT\b|PRIMARY\s+KEY\b|UNIQUE\b|FOREIGN\s+KEY\b|CHECK\b|(?:FULLTEXT\s+|SPATIAL\s+)?"
    r"(?:KEY|INDEX)\b|EXCLUDE\b|PERIOD\b)", re.IGNORECASE)
_KEY_COLUMNS = re.compile(r"\b(?:PRIMARY\s+KEY|UNIQUE(?:\s+(?:KEY|INDEX))?|FOREIGN\s+KEY|KEY|INDEX)"
                          r"\s*(?:[\w`\"\[\]]+\s*)?\((?P<cols>[^()]*(?:\([^()]*\)[^()]*)*)\)",
                          re.IGNORECASE)
# a column-level REFERENCES pins nothing: SQLite drops such a column, MySQL ignores the clause
_COLUMN_PINS = re.compile(r"\b(?:PRIMARY\s+KEY|UNIQUE)\b", re.IGNORECASE)
_TYPE = re.compile(r"^(?P<type>[A-Za-z_][\w ]*?(?:\s*\([^()]*\))?)(?=\s|$|,)", re.IGNORECASE)


def top_level_split(body: str) -> list[tuple[int, str]]:
    """``body`` cut at commas outside parentheses: (offset, stripped part)."""
    found: list[tuple[int, str]] = []
    depth = start = 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            found.append((start, body[start:i]))
            start = i + 1
    found.append((start, body[start:]))
    return [(at + len(c) - len(c.lstrip()), c.strip()) for at, c in found if c.strip()]


def parenthesized(sql: str, start: int) -> str | None:
    """The text inside the first balanced parentheses at or after ``start``."""
    opening = sql.find("(", start)
    if opening < 0:
        return None
    depth = 0
    for i in range(opening, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return sql[opening + 1:i]
    return None


def type_of(definition: str) -> str:
    """The declared type after a column's name, lower-case without spaces ("" if none)."""
    rest = definition.split(None, 1)[1] if len(definition.split(None, 1)) > 1 else ""
    match = _TYPE.match(rest)
    if match is None:
        return ""
    words = match["type"].split()
    stop = {"not", "null", "primary", "unique", "default", "references", "check", "constraint",
            "collate", "generated", "as", "auto_increment", "comment", "on", "character",
            "charset"}
    kept = []
    for word in words:
        if word.lower().split("(")[0] in stop:
            break
        kept.append(word)
    return "".join(kept).lower()


def columns_of_create(body: str) -> tuple[dict[str, str], set[str]]:
    """The columns (name -> type) of a CREATE TABLE's parenthesized body, and the
    columns in a key, a unique constraint, an index or a table-level foreign key."""
    columns: dict[str, str] = {}
    pinned: set[str] = set()
    for _, part in top_level_split(body):
        if _TABLE_CONSTRAINT.match(part):
            for m in _KEY_COLUMNS.finditer(part):
                pinned.update(unquote(c.split("(")[0].split()[0]) for c in m["cols"].split(",")
                              if c.strip())
            continue
        name = unquote(part.split(None, 1)[0])
        columns[name] = type_of(part)
        if _COLUMN_PINS.search(part):
            pinned.add(name)
    return columns, pinned
