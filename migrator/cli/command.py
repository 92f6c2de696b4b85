"""What a command is: its parser, its typed options, its handler, and its help epilog."""

# No ``from __future__ import annotations`` here nor in the command modules:
# NamedTuple turns string annotations into ForwardRefs, compiling each one, which
# doubles the cost of the options classes that --help creates.
import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.cli.context import Context

Opts = TypeVar("Opts")
Populate = Callable[[argparse.ArgumentParser], None]

USAGE_EXIT = ("2", "usage or configuration error (bad flag, URL, config or migration file)")


class Command:
    """One ``migrator`` command; built by :func:`command`, which ties options to handler.

    Its one-line help is in catalog.py, so that ``migrator --help`` needs no
    command module. A plain class: every run creates this type, and a
    NamedTuple type costs more to create than the few lines below.
    """

    __slots__ = ("examples", "execute", "exits", "populate")

    def __init__(
        self,
        populate: Populate,
        execute: "Callable[[Context, argparse.Namespace], ExitCode]",
        examples: tuple[str, ...],
        exits: tuple[tuple[str, str], ...],
    ) -> None:
        self.populate = populate
        self.execute = execute
        self.examples = examples
        self.exits = exits

    def epilog(self) -> str:
        """Examples and exit codes for ``migrator COMMAND --help``."""
        lines = ["examples:", *(f"  {e}" for e in self.examples), "", "exit codes:"]
        codes = dict((USAGE_EXIT, *self.exits))
        lines += [f"  {code:<3} {text}" for code, text in sorted(codes.items())]
        return "\n".join(lines)


def command(
    populate: Populate,
    options: Callable[[argparse.Namespace], Opts],
    run: "Callable[[Context, Opts], ExitCode]",
    *,
    examples: tuple[str, ...],
    exits: tuple[tuple[str, str], ...],
) -> Command:
    """A Command whose handler gets its own typed options object, built from the parse."""

    def execute(ctx: "Context", args: argparse.Namespace) -> ExitCode:
        return run(ctx, options(args))

    return Command(populate, execute, examples, exits)


def no_options(p: argparse.ArgumentParser) -> None:
    """For commands that take only the global options."""


class NoOptions:
    """The options of a command that has none of its own."""

    __slots__ = ()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "NoOptions":
        return cls()


def positive(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
