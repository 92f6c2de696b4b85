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
from typing import Any, NoReturn

from migrator.errors import ConfigError, ExitCode, Interrupted, MigrationFailed, MigratorError

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="migrator",
        description="Apply plain-SQL migrations, one transaction per file.",
        epilog="exit codes: 0 done, 1 migration failed (or status --exit-code found pending), "
               "2 usage/configuration error, 3 drift, 4 locked",
    )
    from migrator import __version__
    from migrator.dba.parsers import add_dump_option, add_parsers

    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p)
        return p

    p = command("new", "write an empty up/down pair with the next timestamp")
    p.add_argument("name", help="letters, digits, '_' and '-'")
    p.add_argument("--layout", choices=("pair", "dir"), default="pair")

    p = command("up", "apply pending migrations")
    p.add_argument("--to", metavar="VERSION", help="stop after this version")
    p.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    p.add_argument("--allow-modified", action="store_true",
                   help="run even if applied files changed or disappeared")
    p.add_argument("--allow-out-of-order", action="store_true",
                   help="apply pending migrations older than the newest applied one")
    p.add_argument("--single-transaction", action="store_true",
                   help="apply all pending migrations in one transaction: all or nothing")
    add_dump_option(p)

    p = command("down", "roll back migrations (default: the newest one)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--steps", type=_positive, metavar="N", help="roll back N migrations")
    which.add_argument("--to", metavar="VERSION", help="roll back everything after VERSION")
    which.add_argument("--all", action="store_true", help="roll back every migration")
    p.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    p.add_argument("--allow-modified", action="store_true",
                   help="roll back even if up files changed since they were applied")
    add_dump_option(p)

    p = command("redo", "roll back and re-apply the newest migration(s)")
    p.add_argument("--steps", type=_positive, default=1, metavar="N")

    p = command("status", "list migrations and their state")
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 if migrations are pending, 3 on drift")

    command("verify", "check applied migrations against their files' checksums")
    p = command("baseline", "record migrations up to VERSION as applied without running them")
    p.add_argument("version", metavar="VERSION")
    command("unlock", "remove a left-over migration lock")
    p = command("repair", "record whether a migration that stopped part-way is in effect")
    p.add_argument("version", metavar="VERSION")
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--applied", action="store_true",
                         help="the whole up file is in effect: record it as applied")
    outcome.add_argument("--rolled-back", action="store_true",
                         help="none of it is in effect: remove its row")
    p = command("wait", "wait until the database server accepts connections")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up after this long (default 60)")
    add_parsers(command)  # check, test, rehearse, dump, adopt, convert
    return parser


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
        args = build_parser().parse_args(argv)
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


__all__ = ["ConfigError", "MigrationFailed", "build_parser", "main"]
