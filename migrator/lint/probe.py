"""What ``migrator test --locks`` asks of a dialect: run one statement and say what it did.

Each dialect answers in ``backends/<name>/locks.py`` as ``PROBE``, with its
driver: PostgreSQL reads ``pg_locks`` and ``relfilenode``, MySQL/MariaDB asks
for ``ALGORITHM=INSTANT`` then ``INPLACE, LOCK=NONE``, SQLite compares each
table's root page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from migrator.schema import Column, Table


@dataclass(slots=True)
class Measured:
    """What one statement did on the scratch space."""

    ms: int = 0
    locks: dict[str, str] = field(default_factory=dict)  # table -> strongest lock mode held
    rewritten: list[str] = field(default_factory=list)  # tables whose storage was replaced
    algorithm: str = ""  # MySQL/MariaDB ALTER TABLE: INSTANT, INPLACE or COPY
    note: str = ""  # e.g. "ran outside a transaction: locks not visible"

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {"ms": self.ms, "locks": self.locks,
                                    "rewritten": self.rewritten}
        if self.algorithm:
            found["algorithm"] = self.algorithm
        if self.note:
            found["note"] = self.note
        return found


class LockProbe(Protocol):
    """A dialect's measurements, on a backend of that dialect (``Any``: the probe
    reaches for its own driver's connection)."""

    def run(self, backend: Any, sql: str, transactional: bool) -> Measured:
        """Run ``sql`` (in a transaction of its own when ``transactional``) and measure it;
        the driver's exception propagates when the statement fails."""
        ...

    def rows(self, backend: Any, sql: str) -> list[tuple[Any, ...]]:
        """The rows a query returns, outside any migration's transaction."""
        ...

    def storage(self, backend: Any) -> dict[str, object]:
        """Each table's storage identity (relfilenode, root page): a change is a rewrite.
        Empty where the dialect cannot tell."""
        ...

    def columns(self, backend: Any, table: Table) -> tuple[Column, ...]:
        """The table's columns, for synthetic rows (the catalog's, or the dialect's own)."""
        ...

    def quote(self, name: str) -> str: ...

    def as_text(self, expr: str) -> str:
        """SQL turning an integer expression into text, for text columns."""
        ...

    def as_bool(self, expr: str) -> str: ...

    def rewrite_rules(self) -> frozenset[str]:
        """The rule IDs that predict a rewrite (or a table copy) of an existing table."""
        ...
