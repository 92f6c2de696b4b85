"""Exit codes and the one exception tree the CLI catches.

Every error a user can cause maps to an exit code from SPEC.md, so shell
scripts can branch on ``$?`` without parsing text.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, NamedTuple


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    DRIFT = 3
    LOCKED = 4
    SIGINT = 130
    SIGTERM = 143


class MigratorError(Exception):
    """Base class: ``str(exc)`` is the complete message a user sees."""

    exit_code: ExitCode = ExitCode.FAILED
    kind: str = "error"

    def details(self) -> dict[str, object]:
        """Extra fields for the JSON ``error`` object."""
        return {}


class ConfigError(MigratorError):
    """Bad flag, URL, config file or directory."""

    exit_code = ExitCode.USAGE
    kind = "config"


class FileProblem(NamedTuple):
    """One thing wrong with one migration file, located for a human.

    Value types here are NamedTuples, not dataclasses: importing dataclasses
    and generating their methods costs ~15 ms, a tenth of ``status``.
    """

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class MigrationFileError(MigratorError):
    """Migration files that cannot be run; lists every problem at once."""

    exit_code = ExitCode.USAGE
    kind = "migration-files"

    def __init__(self, problems: Sequence[FileProblem], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        self.hint = hint
        count = len(self.problems)
        head = "invalid migration file" if count == 1 else f"{count} problems in migration files"
        lines = [f"{head}; nothing was run"]
        lines += [f"  {p}" for p in self.problems]
        if hint:
            lines.append(f"  hint: {hint}")
        super().__init__("\n".join(lines))

    def details(self) -> dict[str, object]:
        return {
            "problems": [
                {"file": p.path, "line": p.line, "message": p.message} for p in self.problems
            ]
        }


class DriftError(MigratorError):
    """Applied history and files disagree, or a foreign table is in the way."""

    exit_code = ExitCode.DRIFT
    kind = "drift"

    def __init__(self, message: str, problems: Sequence[dict[str, object]] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message)

    def details(self) -> dict[str, object]:
        return {"problems": self.problems} if self.problems else {}


class LockError(MigratorError):
    """Another process holds the migration lock, or the database stayed busy."""

    exit_code = ExitCode.LOCKED
    kind = "locked"


class ServerUnavailable(ConfigError):
    """The database server did not accept a connection; ``migrator wait`` retries on it."""

    kind = "unavailable"


class DatabaseFailed(MigratorError):
    """The database failed a command outside any migration file (a lost connection)."""

    kind = "database"

    def __init__(self, display_url: str, error: DbError) -> None:
        self.error = error
        if error.lost:
            text = (f"lost the connection to {display_url}: {error}\n"
                    "  state: the server rolled back what this command had not committed "
                    "('migrator status' shows what is recorded)\n"
                    "  next:  run the command again once the server is back")
        else:
            text = (f"{display_url} failed: {error}\n"
                    "  state: the database rolled back what this command had not committed")
        super().__init__(text)

    def details(self) -> dict[str, object]:
        return {"code": self.error.code, "message": self.error.message,
                "lost": self.error.lost, "summary": str(self)}


class UnfinishedMigration(MigratorError):
    """A migration on a non-transactional backend failed or was killed part-way."""

    kind = "unfinished"


class IrreversibleError(MigratorError):
    """``down`` asked for a migration that has no down file."""

    exit_code = ExitCode.FAILED
    kind = "irreversible"


class Interrupted(MigratorError):
    """SIGINT/SIGTERM arrived; the current file was rolled back."""

    kind = "interrupted"

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.exit_code = ExitCode.SIGINT if signum == signal.SIGINT else ExitCode.SIGTERM
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}")


class DbError(NamedTuple):
    """A database's own complaint, normalised across drivers."""

    code: str
    message: str
    detail: str | None = None
    hint: str | None = None
    position: int | None = None  # 1-based character offset in the statement
    # The machine ran out (disk full, a size limit, I/O failure), not the file's SQL:
    # the backend says so, so the advice can be "free space", whatever the database.
    resource: bool = False
    # The connection ended under the statement (a server restart, a terminated session):
    # the file may be fine, and what it did is what the server kept (see the state line).
    lost: bool = False

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        if self.detail:
            text += f"\n  detail: {self.detail}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class FailureInfo(NamedTuple):
    """Where a migration failed; every message and JSON document is built from it."""

    version: str
    name: str
    file: str
    statement: int  # 1-based; 0 when the failure is not tied to one statement
    total: int
    line: int
    sql: str
    db_error: DbError
    transactional: bool
    direction: str = "up"


class MigrationFailed(MigratorError):
    """A migration's statement failed; the file was rolled back (or reported partial)."""

    kind = "migration-failed"

    def __init__(self, info: FailureInfo, message: str) -> None:
        self.info = info
        self.completed: list[Any] = []  # StepResults that committed before this failure
        super().__init__(message)

    def details(self) -> dict[str, object]:
        i = self.info
        return {
            "version": i.version,
            "name": i.name,
            "file": i.file,
            "statement": i.statement,
            "statements": i.total,
            "line": i.line,
            "sql": i.sql,
            "code": i.db_error.code,
            "message": i.db_error.message,
            "rolled_back": i.transactional,
        }
