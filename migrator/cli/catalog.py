"""Which module holds each command, so that a run imports only its own.

The modules are imported by name in :func:`group`; none of them imports this
one back, so there is no import cycle.
"""

from __future__ import annotations

from migrator.cli.command import Command

# command -> the module that holds its parser and handler; the order is --help's.
GROUP: dict[str, str] = {
    "new": "admin", "up": "apply", "down": "apply", "redo": "apply",
    "status": "report", "verify": "report",
    "baseline": "admin", "unlock": "admin", "repair": "admin", "wait": "admin",
    "check": "prove", "test": "prove", "rehearse": "prove",
    "dump": "schema", "adopt": "interop", "convert": "interop", "squash": "schema",
}
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
        case _:
            raise KeyError(module)
    return COMMANDS


def load(name: str) -> Command:
    """The command called ``name`` (or one of its aliases); KeyError if none."""
    canonical = CANONICAL.get(name, name)
    return group(GROUP[canonical])[canonical]
