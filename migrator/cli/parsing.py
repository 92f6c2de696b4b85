"""argparse for ``migrator``: a parser that knows only the command being run, when it can.

Global options work before or after the command name. Building every
sub-parser (and importing every command's module) costs more than many
commands take to run, so :func:`parse_args` first builds only the sub-parser
of the command guessed from argv, and falls back to the full parser for help,
version, usage errors and anything the guess cannot settle. A plain
``migrator --help`` is answered from the catalog's table alone.

argparse rather than click, the usual choice: importing click took about
24 ms here against argparse's 2 ms, more than a third of ``migrator status``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from migrator.cli import catalog
from migrator.cli.options import LONG_FLAGS, LONG_WITH_VALUE, add_global_options

if TYPE_CHECKING:
    from migrator.cli.command import Command


class UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """Raises instead of exiting, so that --json still gets its one JSON document."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


class Fallback(Exception):
    """The slim parser met something only the full parser may answer."""


class SlimParser(argparse.ArgumentParser):
    """Never prints or exits: help, version and usage errors are the full parser's job."""

    def error(self, message: str) -> NoReturn:
        raise Fallback(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise Fallback(message)

    def _print_message(self, message: str, file: object = None) -> None:
        raise Fallback(message)

    def _get_formatter(self) -> argparse.HelpFormatter:
        # Here only add_argument's metavar check uses it: a fixed width spares
        # the terminal-size query per call and the import of shutil.
        return argparse.HelpFormatter(prog=self.prog, width=80)


def find_command(name: str) -> Command:
    """The command ``name`` (an alias works too); KeyError if there is none."""
    if name == catalog.COMPLETION:
        from migrator.cli.completion import COMMAND

        return COMMAND
    return catalog.load(name)


def is_command(name: str) -> bool:
    return name in catalog.COMMANDS or name in catalog.CANONICAL


def build_parser(
    only: str | None = None, *, summary: bool = False, printing: bool = False
) -> argparse.ArgumentParser:
    """The parser of every command; with ``only``, a slim one that knows just that command.

    The slim parser never prints or exits (it raises Fallback instead): it is
    only a shortcut for :func:`parse_args`, and each command's own options are
    built by the same code in both. With ``summary``, the sub-parsers are
    empty: enough for ``migrator --help``, which lists only names and help.
    With ``printing``, the parser of ``only`` prints and exits as the full
    one does: ``migrator status --help`` needs no other command's module.
    """
    parser = (Parser if only is None or printing else SlimParser)(
        prog="migrator",
        description="Apply plain-SQL migrations, one transaction per file.",
        epilog="exit codes: 0 done, 1 migration failed (or status --exit-code found pending), "
               "2 usage/configuration error, 3 drift, 4 locked. 'migrator COMMAND --help' "
               "shows examples and that command's exit codes; 'migrator completion bash' "
               "prints shell completion.",
    )
    from migrator import __version__

    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = list(catalog.COMMANDS) if only is None else [catalog.canonical(only)]
    for name in names:
        help_text = catalog.COMMANDS[name][1]
        aliases = catalog.ALIASES.get(name, ())
        if summary:
            sub.add_parser(name, aliases=aliases, help=help_text, add_help=False)
            continue
        c = find_command(name)
        p = sub.add_parser(name, aliases=aliases, help=help_text, description=help_text,
                           epilog=c.epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
        add_global_options(p)
        c.populate(p)
    return parser


# The tokens of a plain ``migrator --help`` (maybe with global flags): the summary
# parser answers it without importing a single command module.
_HELP = frozenset({"-h", "--help"})
_SUMMARY_TOKENS = _HELP | LONG_FLAGS | {"-q", "-v"}


def _short_cluster(arg: str) -> int | None:
    """How many tokens after ``-qv``/``-qu``/``-dDIR`` are its value; None if not global."""
    for i, ch in enumerate(arg[1:], 2):
        if ch in "ud":
            return 0 if i < len(arg) else 1
        if ch not in "qv":
            return None
    return 0


def guess_command(argv: Sequence[str]) -> str | None:
    """The command name after the global options in front of it; None if unsure.

    Only a guess: an abbreviated option (``--ur up status``) or a typo fools
    it, and parse_args checks it by parsing.
    """
    skip = 0
    for arg in argv:
        if skip:
            skip -= 1
        elif arg.startswith("--"):
            name, eq, _ = arg.partition("=")
            if name in LONG_WITH_VALUE:
                skip = 0 if eq else 1
            elif arg not in LONG_FLAGS:
                return None
        elif arg.startswith("-") and arg != "-":
            cluster = _short_cluster(arg)
            if cluster is None:
                return None
            skip = cluster
        else:
            return arg if is_command(arg) else None
    return None


def parse_args(argv: Sequence[str], *, fast: bool = True) -> argparse.Namespace:
    """What ``build_parser().parse_args(argv)`` returns or raises, usually cheaper.

    The slim parser's result is the full parser's whenever it parses cleanly:
    both have the same top-level options, so they hand the same tokens to the
    same sub-parser. Anything else (a wrong guess, a usage error, --help,
    --version) goes to the full parser, which prints its own help and messages.
    """
    if fast and _HELP & set(argv) and set(argv) <= _SUMMARY_TOKENS:
        return build_parser(summary=True).parse_args(argv)  # prints the help and exits
    guess = guess_command(argv) if fast else None
    if guess is not None and _HELP & set(argv):
        return build_parser(only=guess, printing=True).parse_args(argv)  # help, then exit
    if guess is not None:
        try:
            args = build_parser(only=guess).parse_args(argv)
        except Fallback:
            pass
        else:
            if args.command == guess:
                return args
    return build_parser().parse_args(argv)
