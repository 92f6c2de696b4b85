"""What a rule is, what it reports, and what it is told about the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from migrator.splitting import Statement

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True, slots=True)
class Rule:
    """One stable rule: its ID never changes meaning, so suppressions stay valid."""

    id: str  # "PG001"
    dialect: str
    severity: str  # ERROR fails 'check'; WARNING only with --strict
    message: str  # one line: what is wrong
    hint: str  # one line: the fix
    prevents: str  # what goes wrong in production, for the rule table


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule firing on a statement; ``at`` is a character offset into its SQL."""

    rule: Rule
    statement: Statement
    at: int = 0
    detail: str = ""  # names the table or column, appended to the message


@dataclass(slots=True)
class FileContext:
    """One up file as the rules see it.

    ``new_tables`` holds the (lower-case, unqualified) tables created earlier
    in this file or in an earlier migration of the same run: nobody uses them
    yet, so locking or rewriting them is harmless. Rules add to it.
    """

    path: str
    text: str
    statements: list[Statement]
    transactional: bool
    foreign_keys_off: bool
    new_tables: set[str] = field(default_factory=set)
    # tables some REFERENCES clause names, in any file checked so far (shared by all)
    referenced: set[str] = field(default_factory=set)
    # the query parameters of the database URL, if any: ?lock_timeout=5s sets it per session
    url_params: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DialectRules:
    """What a ``backends/<name>/rules.py`` exports as ``RULES``."""

    rules: tuple[Rule, ...]
    lint: Callable[[FileContext], list[Hit]]

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}
