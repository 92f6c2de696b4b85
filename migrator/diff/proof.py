"""The proof: the generated pair applied through the real engine, then both models compared.

On the scratch space that holds the current schema (bookkeeping emptied),
the pair runs as an ordinary migration from a temporary directory, so its
directives act (``foreign-keys-off``, ``no-transaction``). After up the
space must equal the desired model, after down the current one, both as the
dialect's ``comparable`` sees them. Anything else: nothing is written, and
the remaining difference is shown.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Callable
from pathlib import Path

from migrator.api import Migrator
from migrator.backends.base import ScratchSpace
from migrator.dba.spaces import schema_of
from migrator.diff.dialects import Differ
from migrator.errors import DriftError, MigratorError
from migrator.progress import Progress
from migrator.schema import Schema

SHOWN_LINES = 60
PROOF_LABEL = "1_diff"


class ProofFailed(DriftError):
    """The generated migration does not do what it claims; nothing was written."""

    kind = "proof-failed"

    def __init__(self, message: str, difference: list[str]) -> None:
        self.difference = difference
        shown = difference[:SHOWN_LINES]
        if len(difference) > SHOWN_LINES:
            shown.append(f"... {len(difference) - SHOWN_LINES} more lines")
        super().__init__("\n".join([message, *shown]))

    def details(self) -> dict[str, object]:
        return {"difference": self.difference}


def difference(expected: Schema, got: Schema, expected_name: str, got_name: str) -> list[str]:
    return list(difflib.unified_diff(expected.lines(), got.lines(), expected_name, got_name,
                                     lineterm="", n=1))


def prove(space: ScratchSpace, differ: Differ, up: str, down: str, current: Schema,
          desired: Schema) -> None:
    """Raise ProofFailed unless up makes ``desired`` and down gives ``current`` back."""
    with tempfile.TemporaryDirectory(prefix="migrator-diff-proof-") as directory:
        trial = Path(directory)
        (trial / f"{PROOF_LABEL}.up.sql").write_text(up, encoding="utf-8")
        (trial / f"{PROOF_LABEL}.down.sql").write_text(down, encoding="utf-8")
        m = Migrator(space.url, trial, table=space.table, progress=Progress())
        _step(m.up, "up")
        _compare(space, differ, desired, "desired schema", "after the generated up")
        _step(m.down, "down")
        _compare(space, differ, current, "current schema", "after the generated down")


def _step(run: Callable[[], object], direction: str) -> None:
    try:
        run()
    except MigratorError as exc:
        raise ProofFailed(f"the generated {direction} file fails on a scratch copy of the "
                          f"schema; nothing was written:\n{exc}", []) from exc


def _compare(space: ScratchSpace, differ: Differ, expected: Schema, expected_name: str,
             got_name: str) -> None:
    want = differ.comparable(expected)
    got = differ.comparable(schema_of(space))
    if got != want:
        raise ProofFailed(f"the proof failed: {got_name}, the schema differs from the "
                          f"{expected_name}; nothing was written", difference(want, got,
                                                                                expected_name,
                                                                                got_name))
