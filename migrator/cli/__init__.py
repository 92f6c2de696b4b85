"""The ``migrator`` command: parse, read .env, resolve settings, run one command, render.

Every failure ends in one exit code from SPEC.md and a message on stderr (or
a JSON document on stdout with --json); no traceback reaches the user. Each
command lives beside its parser in a module of this package (see catalog.py).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from migrator.cli.parsing import UsageError, build_parser, find_command, parse_args
from migrator.errors import ConfigError, ExitCode, Interrupted, MigrationFailed, MigratorError


def _usage_error(exc: UsageError, as_json: bool) -> int:
    exc.parser.print_usage(sys.stderr)
    print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
    if as_json:
        from migrator.output import dump_json

        dump_json({"error": {"kind": "usage", "message": exc.message}})
    return int(ExitCode.USAGE)


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise Interrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse_args(argv)
    except UsageError as exc:
        return _usage_error(exc, "--json" in argv)
    from migrator.cli.context import Context, GlobalOptions

    options = GlobalOptions.from_namespace(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Before the Context: a .env file may set NO_COLOR as well as DATABASE_URL.
    # Most runs have none, and then do not import the reader.
    if not options.no_env_file and (options.env_file or os.path.exists(".env")):
        from migrator.cli import envfile

        try:
            envfile.load(options.env_file)
        except ConfigError as exc:
            return int(Context.create(options).fail(exc))
    ctx = Context.create(options)
    try:
        try:
            return int(find_command(args.command).execute(ctx, args))
        except KeyboardInterrupt:
            raise Interrupted(signal.SIGINT) from None
    except MigratorError as exc:
        return int(ctx.fail(exc))
    except BrokenPipeError:
        return int(ExitCode.OK)


__all__ = ["ConfigError", "MigrationFailed", "build_parser", "main", "parse_args"]
