"""``diff`` and ``drift``: the next migration written from a desired schema, and the
live schema checked against what its applied migrations build."""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, command
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.cli.context import Context
    from migrator.diff.generate import DiffResult


class DiffOptions(NamedTuple):
    to: str | None
    to_url: str | None
    from_url: str | None
    name: str
    renames: tuple[str, ...]
    allow_destructive: bool
    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "DiffOptions":
        return cls(args.to, args.to_url, args.from_url, args.name, tuple(args.rename or ()),
                   args.allow_destructive, args.dry_run)


def _diff_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="FILE",
                   help="the desired schema as plain DDL (a schema.sql, a 'migrator dump')")
    p.add_argument("--to-url", metavar="URL", help="take the desired schema from this database")
    p.add_argument("--from-url", metavar="URL",
                   help="take the current schema from this live database (read only) instead "
                        "of replaying the migrations")
    p.add_argument("--name", default="diff", help="name of the new migration (default: diff)")
    p.add_argument("--rename", action="append", metavar="OLD:NEW",
                   help="OLD:NEW for a table, TABLE.OLD:NEW for a column (repeatable); renames "
                        "are never guessed")
    p.add_argument("--allow-destructive", action="store_true",
                   help="write a migration whose up drops tables/columns or changes types")
    p.add_argument("--dry-run", action="store_true",
                   help="prove it and print both files; write nothing")


def diff(ctx: "Context", opts: DiffOptions) -> ExitCode:
    from migrator.diff.generate import DiffRequest, generate

    s = ctx.settings
    result = generate(DiffRequest(
        s.migrations_dir, s.migrations_table, url=s.url or None, to_file=opts.to,
        to_url=opts.to_url, from_url=opts.from_url, renames=opts.renames, name=opts.name,
        allow_destructive=opts.allow_destructive, dry_run=opts.dry_run,
        variables=ctx.variables()))
    if ctx.json:
        _diff_json(result, opts)
        return ExitCode.OK
    for warning in result.warnings:
        ctx.reporter.say(f"warning: {warning}")
    if result.equal:
        ctx.reporter.say("no difference: the desired schema is what the current one is; "
                         "nothing written")
        return ExitCode.OK
    if opts.dry_run:
        ctx.out(f"-- up\n{result.up_text}\n-- down\n{result.down_text}")
        if result.destructive and not opts.allow_destructive:
            ctx.reporter.say("note: writing this migration needs --allow-destructive ("
                             + "; ".join(result.destructive) + ")")
        ctx.reporter.say("proven; nothing written (--dry-run)")
        return ExitCode.OK
    for path in result.files:
        ctx.out(f"{path}\n")
    ctx.reporter.say(f"wrote {len(result.up.steps)} up and {len(result.down.steps)} down "
                     "statements, proven on a scratch copy: up gives the desired schema, "
                     "down the current one")
    return ExitCode.OK


def _diff_json(r: "DiffResult", opts: DiffOptions) -> None:
    from migrator.output import dump_json

    dump_json({
        "equal": r.equal, "dry_run": opts.dry_run, "written": r.written,
        "files": [str(p) for p in r.files],
        "proof": None if r.equal else "passed",
        "steps": {"up": len(r.up.steps), "down": len(r.down.steps)},
        "destructive": r.destructive, "warnings": r.warnings,
        "up": r.up_text or None, "down": r.down_text or None,
    })


class DriftOptions(NamedTuple):
    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "DriftOptions":
        return cls()


def _drift_parser(p: argparse.ArgumentParser) -> None:
    """Only the global options (-u URL, --migrations-dir, --json)."""


def drift(ctx: "Context", opts: DriftOptions) -> ExitCode:
    from migrator.diff.drift import drift as compare

    s = ctx.settings
    r = compare(ctx.url(), s.migrations_dir, s.migrations_table, ctx.variables())
    if ctx.json:
        from migrator.output import dump_json

        dump_json({"drift": r.drifted, "applied": r.applied, "difference": r.difference,
                   "back": r.back_text or None, "keep": r.keep_text or None,
                   "warnings": list(r.back.warnings)})
    elif not r.drifted:
        ctx.reporter.say(f"no drift: the schema is what the {len(r.applied)} applied "
                         "migration(s) build")
    else:
        ctx.out("\n".join(r.difference) + "\n\n")
        ctx.out("-- to bring the live database back:\n" + r.back_text + "\n")
        ctx.out("-- to keep the live change as a migration (up file):\n" + r.keep_text)
        ctx.reporter.say("drift: the live schema differs from what its applied migrations "
                         "build")
    return ExitCode.DRIFT if r.drifted else ExitCode.OK


COMMANDS: dict[str, Command] = {
    "diff": command(
        _diff_parser, DiffOptions.from_args, diff,
        examples=("migrator diff --to schema.sql --name add_orders",
                  "migrator diff --to schema.sql --dry-run",
                  "migrator diff --to schema.sql --rename users.mail:email",
                  "migrator --url \"$DEV\" diff --from-url \"$DEV\" --to-url \"$REFERENCE\""),
        exits=(("0", "written (or proven with --dry-run), or no difference"),
               ("1", "the desired schema file fails to apply"),
               ("2", "destructive steps without --allow-destructive (listed), bad --rename"),
               ("3", "the proof failed: the remaining difference is shown, nothing written")),
    ),
    "drift": command(
        _drift_parser, DriftOptions.from_args, drift,
        examples=("migrator drift -u sqlite:///app.db",
                  "migrator drift -u \"$PROD\" --json"),
        exits=(("0", "the live schema is what its applied migrations build"),
               ("3", "drift: shown as SQL both ways (or applied files are missing)")),
    ),
}
