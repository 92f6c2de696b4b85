"""Which out-of-order migrations ``up`` applies without ``--allow-out-of-order``.

A pending migration older than the newest applied one is refused (exit 3):
whether it is harmless there depends on what ran after its version. Two
ways out besides the flag: its file says ``-- migrator: out-of-order-ok``
(the author vouches), or ``up --prove-order`` showed on scratch spaces that
the order does not change the schema (``migrator.dba.order``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from migrator.errors import DriftError
from migrator.plan import Entry
from migrator.source import OUT_OF_ORDER_OK


class ProvenOrder(NamedTuple):
    """What a proof showed: after exactly ``applied``, ``late`` may run out of order."""

    applied: frozenset[str]
    late: frozenset[str]


def applied_versions(entries: Sequence[Entry]) -> frozenset[str]:
    return frozenset(e.version for e in entries if e.is_applied and not e.repeatable)


def opted_in(entry: Entry) -> bool:
    return entry.migration is not None and OUT_OF_ORDER_OK in entry.migration.up.directives


def unexcused(
    entries: Sequence[Entry], targets: Sequence[Entry], proven: ProvenOrder | None
) -> list[Entry]:
    """The targets the order check still judges.

    A proof holds for the applied versions it started from: if another run
    applied or rolled back one since, it proves nothing and ``up`` refuses.
    """
    if proven is not None and applied_versions(entries) != proven.applied:
        raise DriftError("the applied migrations changed while their order was being proven "
                         "(another run?); nothing was run: run 'migrator up --prove-order' "
                         "again")
    late = proven.late if proven is not None else frozenset()
    return [e for e in targets if not opted_in(e) and e.version not in late]
