"""Statement text reduced to what a keyword rule may match, for dialects without a parser.

Comments become spaces and quoted strings become ``''``, so ``DROP`` inside a
string or a comment never fires a rule; identifiers quoted with backticks or
double quotes keep their name. Offsets are kept: the result has the same length.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"--[^\n]*|#[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^'\\]|\\.|'')*(?:'|\Z)", re.DOTALL)


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
