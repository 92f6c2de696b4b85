"""``adopt`` and ``convert``: coming from dbmate, golang-migrate, goose, sqlx, diesel, Flyway."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, command
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.cli.context import Context

ADOPT_TOOLS = ("dbmate", "golang-migrate", "goose", "sqlx", "diesel", "flyway")
CONVERT_TOOLS = ("dbmate", "goose", "flyway", "sqlx")


class AdoptOptions(NamedTuple):
    tool: str
    source_table: str | None
    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "AdoptOptions":
        return cls(args.tool, args.source_table, args.dry_run)


def _adopt_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="tool", required=True, choices=ADOPT_TOOLS)
    p.add_argument("--source-table", metavar="NAME",
                   help="the other tool's table, if not its default name")
    p.add_argument("--dry-run", action="store_true", help="show what would be recorded")


def adopt(ctx: "Context", opts: AdoptOptions) -> ExitCode:
    from migrator.dba.adopt import adopt as adopt_history
    from migrator.output import dump_json

    s = ctx.settings
    r = adopt_history(ctx.url(), s.migrations_dir, s.migrations_table, opts.tool,
                      source_table=opts.source_table, dry_run=opts.dry_run,
                      lock_timeout=s.lock_timeout)
    if ctx.json:
        dump_json({
            "from": r.tool, "source_table": r.source_table, "dry_run": opts.dry_run,
            "table": s.migrations_table, "backup_table": r.backup,
            "recorded": [{"version": m.version, "name": m.name} for m in r.recorded],
            "already_recorded": [{"version": m.version, "name": m.name} for m in r.already],
            "notes": r.notes,
        })
        return ExitCode.OK
    verb = "would record" if opts.dry_run else "recorded"
    for m in r.recorded:
        ctx.out(f"{verb} {m.label} as applied (not run)\n")
    for note in r.notes:
        ctx.reporter.say(f"note: {note}")
    if r.backup is not None and opts.dry_run:
        ctx.reporter.say(f"would convert {r.source_table} in place into migrator's table, "
                         f"keeping {r.tool}'s rows in {r.backup}")
    elif r.backup is not None:
        ctx.reporter.say(f"{r.source_table} is migrator's table now, {r.tool}'s rows are kept "
                         f"in {r.backup}; later commands need no --migrations-table")
    ctx.reporter.say(
        f"{verb} {len(r.recorded)} migration(s) from {r.tool}'s {r.source_table} in "
        f"{s.migrations_table}; {len(r.already)} were already recorded"
    )
    return ExitCode.OK


class ConvertOptions(NamedTuple):
    tool: str
    source: str
    dest: str
    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ConvertOptions":
        return cls(args.tool, args.source, args.dest, args.dry_run)


def _convert_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="tool", required=True, choices=CONVERT_TOOLS)
    p.add_argument("source", metavar="SRC", help="the other tool's migrations directory")
    p.add_argument("dest", metavar="DEST", help="new directory for migrator's files")
    p.add_argument("--dry-run", action="store_true", help="list the files; write nothing")


def convert(ctx: "Context", opts: ConvertOptions) -> ExitCode:
    from migrator.dba.convert import convert as convert_files
    from migrator.output import dump_json

    r = convert_files(opts.tool, Path(opts.source), Path(opts.dest), dry_run=opts.dry_run)
    if ctx.json:
        dump_json({
            "dry_run": opts.dry_run,
            "migrations": [{"version": c.version, "name": c.name, "source": c.source,
                            "no_transaction": c.no_transaction, "down": c.down is not None,
                            "notes": c.notes} for c in r.migrations],
            "written": [str(p) for p in r.written],
            "skipped": r.skipped,
        })
        return ExitCode.OK
    ctx.out("".join(f"{p}\n" for p in r.written))
    for c in r.migrations:
        for note in c.notes:
            ctx.reporter.say(f"note: {c.source}: {note}")
    for path in r.skipped:
        ctx.reporter.say(f"skipped {path}: not a migration file")
    verb = "would write" if opts.dry_run else "wrote"
    ctx.reporter.say(f"{verb} {len(r.migrations)} migration(s); run 'migrator check' on the "
                     "result before the first 'up'")
    return ExitCode.OK


COMMANDS: dict[str, Command] = {
    "adopt": command(
        _adopt_parser,
        AdoptOptions.from_args, adopt,
        examples=("migrator adopt --from dbmate --dry-run",
                  "migrator adopt --from goose --source-table goose_db_version"),
        exits=(("0", "recorded (or, with --dry-run, listed)"),
               ("1", "the database refused"),
               ("4", "another run holds the migration lock")),
    ),
    "convert": command(
        _convert_parser,
        ConvertOptions.from_args, convert,
        examples=("migrator convert --from dbmate db/migrations migrations --dry-run",
                  "migrator convert --from flyway src/main/resources/db/migration migrations"),
        exits=(("0", "converted (or, with --dry-run, listed)"),),
    ),
}
