"""What a dialect's differ returns, and the generic pairing every differ starts from.

A dialect's ``backends/<name>/differ.py`` provides two functions::

    def script(current: Schema, desired: Schema, renames: Renames) -> Script
    def comparable(schema: Schema) -> Schema

``script`` returns the statements that turn ``current`` into ``desired``, in
dependency order (the down file is ``script(desired, current,
renames.inverse())``). ``comparable`` is what the proof compares: the model
with what the dialect cannot reproduce by DDL removed (a PostgreSQL column's
position, say), each such relaxation documented in the README's diff
section. Renames are never guessed: only ``Renames`` says one happened; a
dropped and an added object of the same kind come back as a drop and an
add, with a warning that names the ``--rename`` that would say otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from migrator.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of a generated migration, without its terminator."""

    sql: str
    # Why this statement loses data ("drops table audit", "narrows users.name
    # from varchar(50) to varchar(20)"); None when it keeps everything. The file
    # carries it as a comment, and an up script with any needs --allow-destructive.
    destructive: str | None = None
    note: str | None = None  # a comment written above the statement


@dataclass(frozen=True, slots=True)
class Script:
    """A generated up or down file: directives, statements, what the user should know."""

    steps: tuple[Step, ...] = ()
    directives: tuple[str, ...] = ()  # written as "-- migrator: <d>" first lines
    warnings: tuple[str, ...] = ()  # printed on stderr, e.g. a drop+add that may be a rename

    @property
    def empty(self) -> bool:
        return not self.steps

    @property
    def destructive(self) -> list[str]:
        return [s.destructive for s in self.steps if s.destructive]


@dataclass(frozen=True, slots=True)
class Renames:
    """What ``--rename`` said: ``old:new`` for tables, ``table.old:new`` for columns.

    Column renames are keyed by the table's name in the *current* schema.
    """

    tables: dict[str, str] = field(default_factory=dict)  # old -> new
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {old: new}

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Renames:
        tables: dict[str, str] = {}
        columns: dict[str, dict[str, str]] = {}
        for spec in specs:
            old, sep, new = spec.partition(":")
            if not sep or not old or not new or "." in new:
                raise ConfigError(f"--rename {spec!r}: expected OLD:NEW for a table or "
                                  "TABLE.OLD:NEW for a column")
            table, dot, column = old.partition(".")
            if dot:
                if not table or not column:
                    raise ConfigError(f"--rename {spec!r}: expected TABLE.OLD:NEW")
                columns.setdefault(table, {})[column] = new
            else:
                tables[old] = new
        return cls(tables, columns)

    def inverse(self) -> Renames:
        """The renames seen from the desired schema back to the current one (for down)."""
        tables = {new: old for old, new in self.tables.items()}
        columns = {self.tables.get(table, table): {new: old for old, new in cols.items()}
                   for table, cols in self.columns.items()}
        return Renames(tables, columns)

    def column(self, table: str, name: str) -> str:
        """The column's name in the desired schema (``table`` named as in the current one)."""
        return self.columns.get(table, {}).get(name, name)

    def table(self, name: str) -> str:
        return self.tables.get(name, name)


class Pairing(NamedTuple, Generic[T]):
    """Two collections of named things matched by name (through renames)."""

    added: list[T]  # only in desired
    dropped: list[T]  # only in current
    changed: list[tuple[T, T]]  # (current, desired), equal names, unequal values
    same: list[tuple[T, T]]


def pair(current: Iterable[T], desired: Iterable[T], name: Callable[[T], str],
         rename: Callable[[str], str] = lambda n: n) -> Pairing[T]:
    """Match by name; ``rename`` maps a current name to its desired name. Order kept
    (desired's order for added, current's for dropped)."""
    want = {name(d): d for d in desired}
    seen: set[str] = set()
    dropped: list[T] = []
    changed: list[tuple[T, T]] = []
    same: list[tuple[T, T]] = []
    for c in current:
        target = rename(name(c))
        d = want.get(target)
        if d is None:
            dropped.append(c)
            continue
        seen.add(target)
        (same if c == d else changed).append((c, d))
    added = [d for n, d in want.items() if n not in seen]
    return Pairing(added, dropped, changed, same)


def maybe_renamed(kind: str, dropped: Iterable[str], added: Iterable[str],
                  flag: Callable[[str, str], str]) -> list[str]:
    """Warnings for drop+add pairs that might be meant as renames, never acted on."""
    gone, new = list(dropped), list(added)
    if not gone or not new:
        return []
    return [f"{kind} {old} is dropped and {kind} {', '.join(new)} added: if it was renamed, "
            f"pass --rename {flag(old, new[0])}" for old in gone]
