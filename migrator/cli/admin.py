"""``new``, ``baseline``, ``unlock``, ``repair`` and ``wait``: files, bookkeeping, the server."""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, NoOptions, command, no_options
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.cli.context import Context

LOCKED = ("4", "another run holds the migration lock (see --lock-timeout)")


class NewOptions(NamedTuple):
    name: str
    layout: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "NewOptions":
        return cls(args.name, args.layout)


def _new_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="letters, digits, '_' and '-'")
    p.add_argument("--layout", choices=("pair", "dir"), default="pair")


def new(ctx: "Context", opts: NewOptions) -> ExitCode:
    from migrator.output import dump_json
    from migrator.scaffold import new_migration

    paths = new_migration(ctx.settings.migrations_dir, opts.name, opts.layout)
    if ctx.json:
        dump_json({"created": [str(p) for p in paths]})
    else:
        ctx.out("".join(f"{p}\n" for p in paths))
    return ExitCode.OK


class VersionOptions(NamedTuple):
    version: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "VersionOptions":
        return cls(args.version)


def _version_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", metavar="VERSION")


def baseline(ctx: "Context", opts: VersionOptions) -> ExitCode:
    from migrator.output import dump_json

    recorded = ctx.migrator().baseline(opts.version)
    if ctx.json:
        dump_json({"baselined": [{"version": m.version, "name": m.name} for m in recorded]})
    else:
        for m in recorded:
            ctx.out(f"recorded {m.label} as applied (not run)\n")
        ctx.reporter.say(f"baselined {len(recorded)} migration(s) up to {opts.version}")
    return ExitCode.OK


def _message(ctx: "Context", message: str) -> ExitCode:
    if ctx.json:
        from migrator.output import dump_json

        dump_json({"message": message})
    else:
        ctx.out(message + "\n")
    return ExitCode.OK


def unlock(ctx: "Context", opts: NoOptions) -> ExitCode:
    return _message(ctx, ctx.migrator().unlock())


class RepairOptions(NamedTuple):
    version: str
    applied: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RepairOptions":
        return cls(args.version, bool(args.applied))


def _repair_parser(p: argparse.ArgumentParser) -> None:
    _version_arg(p)
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--applied", action="store_true",
                         help="the whole up file is in effect: record it as applied")
    outcome.add_argument("--rolled-back", action="store_true",
                         help="none of it is in effect: remove its row")


def repair(ctx: "Context", opts: RepairOptions) -> ExitCode:
    return _message(ctx, ctx.migrator().repair(opts.version, applied=opts.applied))


class WaitOptions(NamedTuple):
    timeout: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "WaitOptions":
        return cls(args.timeout)


def _wait_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up after this long (default 60)")


def wait(ctx: "Context", opts: WaitOptions) -> ExitCode:
    from migrator.output import dump_json

    waited = ctx.migrator().wait(max(float(opts.timeout), 0.0))
    if ctx.json:
        dump_json({"ready": True, "waited_s": round(waited, 3)})
    else:
        ctx.reporter.say(f"database is ready (waited {waited:.1f}s)")
    return ExitCode.OK


COMMANDS: dict[str, Command] = {
    "new": command(
        _new_parser,
        NewOptions.from_args, new,
        examples=("migrator new create_users",
                  "migrator new add_orders --layout dir   # NNN_add_orders/up.sql, down.sql"),
        exits=(("0", "created; the paths are on stdout"),),
    ),
    "baseline": command(
        _version_arg,
        VersionOptions.from_args, baseline,
        examples=("migrator baseline 20260101120000   # an existing database, adopted as is",),
        exits=(("0", "recorded"), ("1", "the database refused the rows"), LOCKED),
    ),
    "unlock": command(
        no_options, NoOptions.from_args, unlock,
        examples=("migrator unlock   # after a run was killed with kill -9",),
        exits=(("0", "no lock is left"), ("1", "the database refused"), LOCKED),
    ),
    "repair": command(
        _repair_parser,
        RepairOptions.from_args, repair,
        examples=("migrator repair 20260101120000 --rolled-back   # none of it is in effect",
                  "migrator repair 20260101120000 --applied       # all of it is in effect"),
        exits=(("0", "recorded"), ("1", "the database refused"), LOCKED),
    ),
    "wait": command(
        _wait_parser,
        WaitOptions.from_args, wait,
        examples=("migrator wait --timeout 30 && migrator up",
                  "migrator up --wait   # the same in one command"),
        exits=(("0", "the server accepts connections"),
               ("2", "still unreachable after --timeout, or a bad URL or password")),
    ),
}
