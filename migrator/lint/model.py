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
class Known:
    """What the files read so far (in version order) say about the schema.

    Shared by every file of a check, reported or not: a rule may then know
    that a column is a key, or what type it had, without a database. Names
    are lower-case and unqualified; rules add what their dialect can read.
    """

    referenced: set[str] = field(default_factory=set)  # tables some REFERENCES names
    # table -> column -> declared type, lower-case without spaces ("varchar(40)")
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    # table -> columns in a key, a unique constraint, an index or a foreign key
    pinned: dict[str, set[str]] = field(default_factory=dict)
    # a dialect's own facts, as tuples it defines: ("pg-not-null", table, column)
    facts: set[tuple[str, ...]] = field(default_factory=set)

    def forget(self, table: str) -> None:
        self.columns.pop(table, None)
        self.pinned.pop(table, None)

    def rename(self, table: str, to: str) -> None:
        if table in self.columns:
            self.columns[to] = self.columns.pop(table)
        if table in self.pinned:
            self.pinned[to] = self.pinned.pop(table)


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
    known: Known = field(default_factory=Known)
    # the query parameters of the database URL, if any: ?lock_timeout=5s sets it per session
    url_params: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DialectRules:
    """What a ``backends/<name>/rules.py`` exports as ``RULES``."""

    rules: tuple[Rule, ...]
    lint: Callable[[FileContext], list[Hit]]

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}
