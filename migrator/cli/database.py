"""``create``, ``drop`` and ``load``: dbmate's commands for the database a URL names."""

import argparse
import sys
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, NoOptions, command, no_options
from migrator.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from migrator.backends import Admin
    from migrator.cli.context import Context


def _admin(url: str) -> "Admin":
    from migrator.backends import admin, dialect_of_url

    return admin(dialect_of_url(url))


def _say(ctx: "Context", message: str, **document: object) -> None:
    if ctx.json:
        from migrator.output import dump_json

        dump_json({**document, "message": message})
    else:
        ctx.out(message + "\n")


def create(ctx: "Context", opts: NoOptions) -> ExitCode:
    url = ctx.url()
    _say(ctx, _admin(url).create(url))
    return ExitCode.OK


class DropOptions(NamedTuple):
    force: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "DropOptions":
        return cls(args.force)


def _drop_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="drop without asking (needed when stdin is not a terminal)")


def _confirmed(what: str) -> bool:
    """Ask on the terminal; only 'y' or 'yes' drops."""
    sys.stderr.write(f"drop {what}? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        sys.stderr.write("\n")  # Ctrl-D: end the prompt's line
    return answer.strip().lower() in ("y", "yes")


def drop(ctx: "Context", opts: DropOptions) -> ExitCode:
    url = ctx.url()
    admin = _admin(url)
    if not opts.force:
        what = admin.describe(url)
        if not sys.stdin.isatty():
            raise ConfigError(f"not dropping {what}: stdin is not a terminal to ask on; "
                              "pass --force to drop it without asking")
        if not _confirmed(what):
            ctx.reporter.error(f"not confirmed; {what} was not dropped")
            if ctx.json:
                from migrator.output import dump_json

                dump_json({"dropped": False, "message": "not confirmed"})
            return ExitCode.FAILED
    _say(ctx, admin.drop(url), dropped=True)
    return ExitCode.OK


class LoadOptions(NamedTuple):
    file: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "LoadOptions":
        return cls(args.file)


def _load_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="a file written by 'migrator dump' ('-': stdin)")


def _read(file: str) -> str:
    try:
        if file == "-":
            return sys.stdin.read()
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def load(ctx: "Context", opts: LoadOptions) -> ExitCode:
    from migrator.config import redact_url
    from migrator.dba.load import load_dump

    url, s = ctx.url(), ctx.settings
    name = "stdin" if opts.file == "-" else opts.file
    text = _read(opts.file)
    count = load_dump(url, s.migrations_table, name, text, s.lock_timeout,
                      _admin(url).loadable)
    _say(ctx, f"loaded {name} into {redact_url(url)} ({count} statements)",
         file=name, statements=count)
    return ExitCode.OK


REFUSED = ("2", "a bad URL, or the server refused (its message is shown)")

COMMANDS: dict[str, Command] = {
    "create": command(
        no_options, NoOptions.from_args, create,
        examples=("migrator --url sqlite:///app.db create",
                  "migrator --url postgres://postgres@localhost/app create && migrator up"),
        exits=(("0", "created, or it already existed (the message says which)"),
               ("1", "the disk is full (DuckDB; no partial file is left)"), REFUSED),
    ),
    "drop": command(
        _drop_parser, DropOptions.from_args, drop,
        examples=("migrator drop            # asks: drop DATABASE? [y/N]",
                  "migrator drop --force    # in scripts and CI: no question"),
        exits=(("0", "dropped, or it did not exist"), ("1", "not confirmed at the prompt"),
               ("2", "stdin is not a terminal and no --force, a bad URL, or the server "
                     "refused (a database in use, privileges)"),
               ("4", "a run holds the migration lock of the database file")),
    ),
    "load": command(
        _load_parser, LoadOptions.from_args, load,
        examples=("migrator dump -o db/schema.sql",
                  "migrator --url sqlite:///fresh.db load db/schema.sql"),
        exits=(("0", "loaded"),
               ("1", "a statement failed (on PostgreSQL, SQLite and DuckDB nothing was loaded)"),
               ("2", "the database is not empty, or FILE cannot be read or split"),
               ("4", "another run holds the migration lock")),
    ),
}
