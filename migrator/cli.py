"""The ``migrator`` command: parse, resolve settings, call the API, render.

Global options work before or after the command name. Every failure ends
in one exit code from SPEC.md and a message on stderr (or a JSON document
on stdout with --json); no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from migrator.errors import ConfigError, ExitCode, Interrupted, MigrationFailed, MigratorError

if TYPE_CHECKING:  # the DBA parsers themselves load only when their command runs
    from migrator.dba.parsers import Populate

GLOBAL_KEYS = ("url", "migrations_dir", "migrations_table", "lock_timeout")


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """Raises instead of exiting, so that --json still gets its one JSON document."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


def _usage_error(exc: _UsageError, as_json: bool) -> int:
    exc.parser.print_usage(sys.stderr)
    print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
    if as_json:
        from migrator.output import dump_json

        dump_json({"error": {"kind": "usage", "message": exc.message}})
    return int(ExitCode.USAGE)


def _global_options(parser: argparse.ArgumentParser) -> None:
    s = argparse.SUPPRESS
    g = parser.add_argument_group("global options (before or after the command)")
    g.add_argument("-u", "--url", default=s, help="database URL [$DATABASE_URL]")
    g.add_argument("-d", "--migrations-dir", default=s, metavar="DIR",
                   help="migrations directory [$MIGRATIONS_DIR, default ./migrations]")
    g.add_argument("--migrations-table", default=s, metavar="NAME",
                   help="bookkeeping table [$MIGRATIONS_TABLE, default schema_migrations]")
    g.add_argument("--lock-timeout", default=s, metavar="SECONDS",
                   help="wait this long for the migration lock [$MIGRATOR_LOCK_TIMEOUT, "
                        "default 0]")
    g.add_argument("--json", action="store_true", default=s,
                   help="one JSON document on stdout")
    g.add_argument("-q", "--quiet", action="store_true", default=s, help="less on stderr")
    g.add_argument("-v", "--verbose", action="store_true", default=s,
                   help="more on stderr (every statement)")
    g.add_argument("--no-color", action="store_true", default=s, help="no colour [$NO_COLOR]")


class _Fallback(Exception):
    """The slim parser met something only the full parser may answer."""


class _SlimParser(argparse.ArgumentParser):
    """Never prints or exits: help, version and usage errors are the full parser's job."""

    def error(self, message: str) -> NoReturn:
        raise _Fallback(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _Fallback(message)

    def _print_message(self, message: str, file: object = None) -> None:
        raise _Fallback(message)

    def _get_formatter(self) -> argparse.HelpFormatter:
        # Here only add_argument's metavar check uses it: a fixed width spares
        # the terminal-size query per call and the import of shutil.
        return argparse.HelpFormatter(prog=self.prog, width=80)


def _dump_option(p: argparse.ArgumentParser) -> None:
    """``up``/``down --dump FILE``: keep a committed schema dump current."""
    p.add_argument("--dump", metavar="FILE",
                   help="after the run, write the schema dump (as 'migrator dump') to FILE")


def _new(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="letters, digits, '_' and '-'")
    p.add_argument("--layout", choices=("pair", "dir"), default="pair")


def _up(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION", help="stop after this version")
    p.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    p.add_argument("--allow-modified", action="store_true",
                   help="run even if applied files changed or disappeared")
    p.add_argument("--allow-out-of-order", action="store_true",
                   help="apply pending migrations older than the newest applied one")
    p.add_argument("--single-transaction", action="store_true",
                   help="apply all pending migrations in one transaction: all or nothing")
    _dump_option(p)


def _down(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--steps", type=_positive, metavar="N", help="roll back N migrations")
    which.add_argument("--to", metavar="VERSION", help="roll back everything after VERSION")
    which.add_argument("--all", action="store_true", help="roll back every migration")
    p.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    p.add_argument("--allow-modified", action="store_true",
                   help="roll back even if up files changed since they were applied")
    _dump_option(p)


def _redo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=_positive, default=1, metavar="N")


def _status(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 if migrations are pending, 3 on drift")


def _version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", metavar="VERSION")


def _repair(p: argparse.ArgumentParser) -> None:
    _version_arg(p)
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--applied", action="store_true",
                         help="the whole up file is in effect: record it as applied")
    outcome.add_argument("--rolled-back", action="store_true",
                         help="none of it is in effect: remove its row")


def _wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up after this long (default 60)")


def _nothing(p: argparse.ArgumentParser) -> None:
    pass


# name -> (help, fills in the command's own options); the DBA commands follow
# (migrator.dba.parsers.COMMANDS). The order is the order of --help.
_COMMANDS: dict[str, tuple[str, Populate]] = {
    "new": ("write an empty up/down pair with the next timestamp", _new),
    "up": ("apply pending migrations", _up),
    "down": ("roll back migrations (default: the newest one)", _down),
    "redo": ("roll back and re-apply the newest migration(s)", _redo),
    "status": ("list migrations and their state", _status),
    "verify": ("check applied migrations against their files' checksums", _nothing),
    "baseline": ("record migrations up to VERSION as applied without running them",
                 _version_arg),
    "unlock": ("remove a left-over migration lock", _nothing),
    "repair": ("record whether a migration that stopped part-way is in effect", _repair),
    "wait": ("wait until the database server accepts connections", _wait),
}


def _commands(only: str | None) -> dict[str, tuple[str, Populate]]:
    """Every command, or just ``only`` (KeyError if there is no such command)."""
    if only in _COMMANDS:
        return {only: _COMMANDS[only]}
    from migrator.dba.parsers import COMMANDS

    return {**_COMMANDS, **COMMANDS} if only is None else {only: COMMANDS[only]}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``only``, a slim one that knows just that command.

    The slim parser never prints or exits (it raises _Fallback instead): it is
    only a shortcut for :func:`parse_args`, and each command's own options are
    built by the same code in both.
    """
    parser = (_Parser if only is None else _SlimParser)(
        prog="migrator",
        description="Apply plain-SQL migrations, one transaction per file.",
        epilog="exit codes: 0 done, 1 migration failed (or status --exit-code found pending), "
               "2 usage/configuration error, 3 drift, 4 locked",
    )
    from migrator import __version__

    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, populate) in _commands(only).items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p)
        populate(p)
    return parser


# The global options as the pre-scan knows them; short ones may be clustered (-qv, -qu URL).
_LONG_WITH_VALUE = frozenset({"--url", "--migrations-dir", "--migrations-table",
                              "--lock-timeout"})
_LONG_FLAGS = frozenset({"--json", "--quiet", "--verbose", "--no-color"})


def _short_cluster(arg: str) -> int | None:
    """How many tokens after ``-qv``/``-qu``/``-dDIR`` are its value; None if not global."""
    for i, ch in enumerate(arg[1:], 2):
        if ch in "ud":
            return 0 if i < len(arg) else 1
        if ch not in "qv":
            return None
    return 0


def _is_command(name: str) -> bool:
    if name in _COMMANDS:
        return True
    from migrator.dba.parsers import COMMANDS

    return name in COMMANDS


def _guess_command(argv: Sequence[str]) -> str | None:
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
            if name in _LONG_WITH_VALUE:
                skip = 0 if eq else 1
            elif arg not in _LONG_FLAGS:
                return None
        elif arg.startswith("-") and arg != "-":
            cluster = _short_cluster(arg)
            if cluster is None:
                return None
            skip = cluster
        else:
            return arg if _is_command(arg) else None
    return None


def parse_args(argv: Sequence[str], *, fast: bool = True) -> argparse.Namespace:
    """What ``build_parser().parse_args(argv)`` returns or raises, usually cheaper.

    Building all 17 sub-parsers costs more than many commands take to run, so
    first try a parser with only the command guessed from argv. Its result is
    the full parser's whenever it parses cleanly: both parsers have the same
    top-level options, so they hand the same tokens to the same sub-parser.
    Anything else (a wrong guess, a usage error, --help, --version) goes to
    the full parser, which prints its own help and messages.
    """
    guess = _guess_command(argv) if fast else None
    if guess is not None:
        try:
            args = build_parser(only=guess).parse_args(argv)
        except _Fallback:
            pass
        else:
            if args.command == guess:
                return args
    return build_parser().parse_args(argv)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise Interrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse_args(argv)
    except _UsageError as exc:
        return _usage_error(exc, "--json" in argv)
    opts: dict[str, Any] = vars(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    from migrator.commands import Context, dispatch

    ctx = Context.from_options(opts)
    try:
        try:
            return int(dispatch(ctx, opts))
        except KeyboardInterrupt:
            raise Interrupted(signal.SIGINT) from None
    except MigratorError as exc:
        return int(ctx.fail(exc))
    except BrokenPipeError:
        return int(ExitCode.OK)


__all__ = ["ConfigError", "MigrationFailed", "build_parser", "main", "parse_args"]
