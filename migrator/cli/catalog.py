"""Every command: its one-line help and the module that holds its parser and handler.

A run imports only its command's module (``migrator --help`` imports none:
the summaries are here). Those modules never import this one back, so there
is no import cycle; ``completion`` is loaded by parsing.py, as it reads this
table to describe every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrator.cli.command import Command

# command -> (module under migrator.cli, one-line help); the order is --help's.
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("admin", "write an empty up/down pair with the next timestamp"),
    "hash": ("branches", "write migrations.sum, the checksums that make branches conflict in git"),
    "rebase": ("branches", "move unapplied migrations to fresh versions after the newest one"),
    "up": ("apply", "apply pending migrations"),
    "down": ("apply", "roll back migrations (default: the newest one)"),
    "redo": ("apply", "roll back and re-apply the newest migration(s)"),
    "status": ("report", "list migrations and their state"),
    "verify": ("report", "check applied migrations against their files' checksums"),
    "baseline": ("admin", "record migrations up to VERSION as applied without running them"),
    "unlock": ("admin", "remove a left-over migration lock"),
    "repair": ("admin", "record whether a migration that stopped part-way is in effect"),
    "wait": ("admin", "wait until the database server accepts connections"),
    "create": ("database", "create the database the URL names (dbmate's create)"),
    "drop": ("database", "drop the database the URL names; asks first (dbmate's drop)"),
    "load": ("database", "apply a 'migrator dump' file to an empty database"),
    "check": ("prove", "check every migration file for problems; no database needed"),
    "test": ("prove", "apply, roll back and re-apply each migration on a scratch database"),
    "rehearse": ("prove", "run 'up' on a temporary copy of the database, then discard it"),
    "check-order": ("order", "prove on scratch spaces whether out-of-order migrations "
                    "change the schema"),
    "dump": ("schema", "print the schema and applied versions as deterministic SQL"),
    "adopt": ("interop", "record what another tool applied as applied in migrator's table"),
    "convert": ("interop", "rewrite another tool's migration files into migrator's layout"),
    "squash": ("schema", "replace every migration up to VERSION by one equivalent migration"),
    "diff": ("diff", "write the next migration from a desired schema file, proven first"),
    "drift": ("diff", "compare a live schema with what its applied migrations build"),
    "completion": ("completion", "print a shell completion script (bash, zsh or fish)"),
}
COMPLETION = "completion"
# dbmate's names, for its users' muscle memory: same command, same options.
ALIASES: dict[str, tuple[str, ...]] = {"up": ("migrate",), "down": ("rollback",)}
CANONICAL: dict[str, str] = {alias: name for name, names in ALIASES.items() for alias in names}


def group(module: str) -> dict[str, Command]:
    """The commands of one module under migrator.cli, imported on first use."""
    match module:
        case "admin":
            from migrator.cli.admin import COMMANDS
        case "apply":
            from migrator.cli.apply import COMMANDS
        case "report":
            from migrator.cli.report import COMMANDS
        case "prove":
            from migrator.cli.prove import COMMANDS
        case "schema":
            from migrator.cli.schema import COMMANDS
        case "interop":
            from migrator.cli.interop import COMMANDS
        case "database":
            from migrator.cli.database import COMMANDS
        case "order":
            from migrator.cli.order import COMMANDS
        case "branches":
            from migrator.cli.branches import COMMANDS
        case "diff":
            from migrator.cli.diff import COMMANDS
        case _:
            raise KeyError(module)
    return COMMANDS


def canonical(name: str) -> str:
    """The command a name or alias means; KeyError if neither."""
    command = CANONICAL.get(name, name)
    if command not in COMMANDS:
        raise KeyError(name)
    return command


def load(name: str) -> Command:
    """The command called ``name`` (or one of its aliases), except ``completion``."""
    command = canonical(name)
    return group(COMMANDS[command][0])[command]
