"""Checks on split statements before anything runs.

Statements are classified from their first tokens only, so the check costs
nothing next to executing them. A statement that would break the engine's
transaction is an error; one that silently does nothing is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migrator.errors import FileProblem
from migrator.source import FOREIGN_KEYS_OFF, NO_TRANSACTION
from migrator.splitting import Statement

_HEAD = re.compile(
    r"(?P<word>[A-Za-z]+)(?:\s+(?P<second>[A-Za-z_]+))?"
    r"|(?P<meta>\\[A-Za-z]*)",
)
_PRAGMA = re.compile(
    r"PRAGMA\s+(?:[\w\"`\[\]]+\s*\.\s*)?[\"`\[]?(?P<name>\w+)[\"`\]]?\s*(?P<set>[=(])?",
    re.IGNORECASE,
)
# First characters of every kind this module acts on (BEGIN, COMMIT, END,
# ROLLBACK, RELEASE, SAVEPOINT, START, VACUUM, PRAGMA, psql's backslash).
RISKY_FIRST = frozenset("BCERSVPbcersvp\\")
_TX_CONTROL = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"}
_NO_TX_HINT = (
    "migrator runs each file in one transaction of its own; remove the statement, "
    f"or put '-- migrator: {NO_TRANSACTION}' on the first line to run the file "
    "statement by statement"
)


class Findings:
    """What the pre-flight checks found in one file."""

    __slots__ = ("count", "errors", "warnings")

    def __init__(self) -> None:
        self.errors: list[FileProblem] = []
        self.warnings: list[FileProblem] = []
        self.count = 0  # statements seen


def statement_kind(sql: str) -> str:
    """Upper-case first keyword(s): 'COMMIT', 'START TRANSACTION', 'PRAGMA journal_mode'."""
    match = _HEAD.match(sql)
    if match is None:
        return ""
    if match["meta"]:
        return match["meta"]
    word = match["word"].upper()
    second = (match["second"] or "").upper()
    if word == "START" and second == "TRANSACTION":
        return "START TRANSACTION"
    if word == "PRAGMA":
        pragma = _PRAGMA.match(sql)
        if pragma is not None:
            suffix = "=" if pragma["set"] else ""
            return f"PRAGMA {pragma['name'].lower()}{suffix}"
    return word


def check(
    statements: Iterable[Statement], path: str, directives: frozenset[str]
) -> Findings:
    transactional = NO_TRANSACTION not in directives
    found = Findings()
    count = 0
    for stmt in statements:
        count += 1
        if stmt.sql[0] not in RISKY_FIRST:
            continue  # callers may pass every statement or only the risky ones
        kind = statement_kind(stmt.sql)
        where = f"statement {stmt.index}"
        if kind.startswith("\\"):
            found.errors.append(
                FileProblem(
                    path,
                    f"{where} is the client command '{kind}', which only psql understands; "
                    "migration files hold SQL only",
                    stmt.line,
                )
            )
            continue
        if not transactional:
            continue
        if kind in _TX_CONTROL or kind == "START TRANSACTION":
            found.errors.append(
                FileProblem(
                    path, f"{where} is transaction control ({kind}); {_NO_TX_HINT}", stmt.line
                )
            )
        elif kind == "VACUUM" or kind.startswith("PRAGMA journal_mode="):
            shown = "PRAGMA journal_mode" if kind.startswith("PRAGMA") else kind
            found.errors.append(
                FileProblem(
                    path,
                    f"{where} ({shown}) cannot run inside a transaction; {_NO_TX_HINT}",
                    stmt.line,
                )
            )
        elif kind == "PRAGMA foreign_keys=":
            found.warnings.append(
                FileProblem(
                    path,
                    f"{where} sets PRAGMA foreign_keys inside the migration's transaction, "
                    "where SQLite ignores it; put "
                    f"'-- migrator: {FOREIGN_KEYS_OFF}' on the first line instead "
                    "(the file still runs)",
                    stmt.line,
                )
            )
    found.count = count
    return found
