"""``dump`` and ``squash``: the schema as SQL, and many migrations made one."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, command
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.api import Migrator
    from migrator.cli.context import Context


class DumpOptions(NamedTuple):
    output: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "DumpOptions":
        return cls(args.output)


def _dump_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def dump(ctx: "Context", opts: DumpOptions) -> ExitCode:
    from migrator.atomicfile import write_atomically
    from migrator.dba.dump import dump_schema
    from migrator.output import dump_json

    text = dump_schema(ctx.url(), ctx.settings.migrations_table)
    if opts.output:
        write_atomically(Path(opts.output), text)
        ctx.reporter.say(f"wrote schema dump to {opts.output}")
    if ctx.json:
        dump_json({"file": opts.output, "sql": text})
    elif not opts.output:
        ctx.out(text)
    return ExitCode.OK


def write_dump(ctx: "Context", m: "Migrator", path: str) -> None:
    """After ``up``/``down --dump FILE``: refresh the committed dump."""
    from migrator.atomicfile import write_atomically
    from migrator.dba.dump import dump_schema

    write_atomically(Path(path), dump_schema(m.url, m.table))
    ctx.reporter.say(f"wrote schema dump to {path}")


class SquashOptions(NamedTuple):
    to: str
    name: str
    dry_run: bool
    history_only: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "SquashOptions":
        return cls(args.to, args.name, args.dry_run, args.history_only)


def _squash_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION", required=True,
                   help="the newest migration to squash; the new file takes its version")
    p.add_argument("--name", default="squashed", help="name of the new migration")
    p.add_argument("--dry-run", action="store_true", help="build and prove it; write nothing")
    p.add_argument("--history-only", action="store_true",
                   help="on a database that applied the old migrations, turn their rows "
                        "into the squashed migration's row now (its next 'up' does it too)")


def squash(ctx: "Context", opts: SquashOptions) -> ExitCode:
    from migrator.dba.squash import rewrite_history
    from migrator.dba.squash import squash as squash_files
    from migrator.output import dump_json

    s = ctx.settings
    if opts.history_only:
        h = rewrite_history(ctx.url(), s.migrations_dir, s.migrations_table, opts.to,
                            s.lock_timeout)
        if ctx.json:
            dump_json({"removed": h.removed, "recorded": h.recorded})
        elif h.recorded:
            ctx.out(f"replaced the rows of {', '.join(h.removed)} by {h.recorded}\n")
        else:
            ctx.reporter.say("nothing to rewrite: this database has no rows of the squashed "
                             "migrations, or was rewritten already")
        return ExitCode.OK
    r = squash_files(s.migrations_dir, s.migrations_table, opts.to, name=opts.name,
                     dry_run=opts.dry_run, url=s.url or None)
    if ctx.json:
        dump_json({
            "dry_run": opts.dry_run,
            "squashed": [{"version": m.version, "name": m.name} for m in r.squashed],
            "up_file": str(r.up_file), "down_file": str(r.down_file) if r.down_file else None,
            "statements": r.statements, "moved": [str(p) for p in r.moved],
        })
        return ExitCode.OK
    verb = "would replace" if opts.dry_run else "replaced"
    ctx.out(f"{verb} {len(r.squashed)} migrations by {r.up_file} ({r.statements} statements)\n")
    ctx.reporter.say(
        "proven: the new file builds the same schema and rows as the old ones. A database "
        "that applied them gets its row in their place on its next 'migrator up', running "
        "nothing"
    )
    return ExitCode.OK


COMMANDS: dict[str, Command] = {
    "dump": command(
        _dump_parser,
        DumpOptions.from_args, dump,
        examples=("migrator dump -o schema.sql",
                  "migrator dump | diff schema.sql -   # is the committed dump current?"),
        exits=(("0", "dumped"), ("1", "the database could not be read")),
    ),
    "squash": command(
        _squash_parser,
        SquashOptions.from_args, squash,
        examples=("migrator squash --to 20260101120000 --dry-run",
                  "migrator squash --to 20260101120000",
                  "migrator --url \"$PROD\" squash --to 20260101120000 --history-only"),
        exits=(("0", "squashed (or, with --dry-run, proven)"),
               ("1", "the squashed migration builds other schema or rows; --history-only: "
                     "the database failed"),
               ("4", "another run holds the migration lock (--history-only)")),
    ),
}
