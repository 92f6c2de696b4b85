"""SQLite's own check in ``migrator check``: sqlparse against SQLite's tokenizer.

A SQLite migration set is often run on a server later, where a splitter
other than SQLite's cuts the file; statements the two cut differently are
worth fixing before that day. Only SQLite has this check: the server
dialects split with their own parsers.
"""

from __future__ import annotations

from collections.abc import Sequence

from migrator.errors import FileProblem
from migrator.splitting import Statement, split_sqlparse


def splitter_disagreements(
    text: str, sqlite_statements: Sequence[Statement], shown: str
) -> list[FileProblem]:
    """Where sqlparse starts statements that SQLite's tokenizer does not, and vice versa.

    Both splitters skip leading comments, so a statement is identified by the
    offset of its first token; any offset in one list only is a disagreement.
    """
    try:
        theirs = {s.offset: s for s in split_sqlparse(text)}
    except Exception as exc:  # sqlparse is not ours; never let it crash a check
        return [FileProblem(shown, f"sqlparse could not split the file: {exc}")]
    ours = {s.offset: s for s in sqlite_statements}
    problems: list[FileProblem] = []
    for offset in sorted(ours.keys() - theirs.keys()):
        stmt = ours[offset]
        problems.append(FileProblem(
            shown,
            f"statement {stmt.index} starts here for SQLite, but sqlparse joins it to the "
            "statement before it; a server backend would run both as one: "
            f"{_first_line(stmt.sql)}",
            stmt.line,
        ))
    for offset in sorted(theirs.keys() - ours.keys()):
        stmt = theirs[offset]
        problems.append(FileProblem(
            shown,
            "sqlparse starts a new statement here, but for SQLite's tokenizer the statement "
            "above continues (a keyword such as BEGIN/END used as a name?): "
            f"{_first_line(stmt.sql)}",
            stmt.line,
        ))
    return problems


def _first_line(sql: str) -> str:
    line = sql.strip().splitlines()[0] if sql.strip() else ""
    return line if len(line) <= 60 else line[:60] + " …"
