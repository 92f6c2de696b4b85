"""What a run reports as it goes: the hooks and the per-file result.

Kept apart from the engine so that ``status`` and the CLI's reporter can be
imported without the splitter and the pre-flight checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from migrator.errors import FileProblem
    from migrator.files import Migration
    from migrator.splitting import Statement

UP, DOWN = "up", "down"


class StepResult(NamedTuple):
    version: str
    name: str
    direction: str
    duration_ms: int
    statements: int
    skipped: bool = False  # another process applied it first

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "name": self.name, "duration_ms": self.duration_ms}


class Progress:
    """Hooks the engine calls; the CLI prints from them, tests kill from them."""

    def run_started(self, direction: str, total: int) -> None:
        """Before the first of the ``total`` files a run will apply or roll back."""

    def migration_started(self, migration: Migration, direction: str, total: int) -> None:
        pass

    def statement_started(self, migration: Migration, statement: Statement, total: int) -> None:
        pass

    def statements_done(self, migration: Migration, done: int, total: int) -> None:
        """Now and then during a file run without statement_started (the fast path):
        how many of its statements are done. For a live progress line."""

    def before_commit(self, migration: Migration, direction: str) -> None:
        pass

    def migration_finished(self, step: StepResult) -> None:
        pass

    def warning(self, problem: FileProblem) -> None:
        pass
