"""``hash`` and ``rebase``: migrations.sum, and moving a branch's migrations after a merge."""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, NoOptions, command, no_options
from migrator.cli.options import every_url
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.cli.context import Context


def hash_sum(ctx: "Context", opts: NoOptions) -> ExitCode:
    from migrator.files import discover_all
    from migrator.integrity import changes, sum_path, write_sum
    from migrator.output import dump_json
    from migrator.scaffold import directory_lock

    directory = ctx.settings.migrations_dir
    if not directory.is_dir():
        discover_all(directory)  # raises the usual "does not exist" message
    with directory_lock(directory):
        found = discover_all(directory)  # every file must load before it is hashed
        created = not sum_path(directory).exists()
        changed = changes(directory, found)
        written = write_sum(directory, found)
    if ctx.json:
        dump_json({"sum": str(written.path), "created": created,
                   "migrations": written.migrations, "repeatables": written.repeatables,
                   "total": written.total, "changes": changed})
        return ExitCode.OK
    if changed:
        ctx.reporter.say(f"changes since the previous {written.path.name}:")
    for c in changed:
        ctx.reporter.say(f"  {c['file'] or c['label']}: {c['detail']}")
    ctx.out(f"{written.path}\n")
    verb = "created" if created else "rewrote"
    ctx.reporter.say(f"{verb} {written.path}: {written.migrations} migration(s), "
                     f"{written.repeatables} repeatable(s); commit it with the migrations")
    return ExitCode.OK


class RebaseOptions(NamedTuple):
    versions: tuple[str, ...]
    urls: tuple[str, ...]
    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RebaseOptions":
        return cls(tuple(args.versions), tuple(every_url(args)), args.dry_run)


def _rebase_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("versions", nargs="+", metavar="VERSION",
                   help="an unapplied migration of this branch (its version or label); "
                        "moved in the order given. Each database given with -u (repeatable; "
                        "default: the configured URL) is asked first whether it applied it")
    p.add_argument("--dry-run", action="store_true", help="list the renames; change nothing")


def rebase(ctx: "Context", opts: RebaseOptions) -> ExitCode:
    from migrator.dba.rebase import rebase as rebase_files
    from migrator.output import dump_json

    s = ctx.settings
    urls = list(opts.urls) or ([s.url] if s.url else [])
    r = rebase_files(s.migrations_dir, opts.versions, urls, s.migrations_table,
                     dry_run=opts.dry_run)
    if ctx.json:
        dump_json({
            "dry_run": opts.dry_run,
            "rebased": [{"from_version": m.old_version, "version": m.version,
                         "name": m.name, "from": m.old, "to": m.label,
                         "files": [[str(a), str(b)] for a, b in m.renames]}
                        for m in r.moved],
            "checked": r.checked,
            "sum": str(r.sum.path) if r.sum else None,
        })
        return ExitCode.OK
    ctx.out("".join(f"{m.old} -> {m.label}\n" for m in r.moved))
    if not r.checked:
        ctx.reporter.say("note: no database was asked whether it applied them; pass -u URL "
                         "for each one that may have")
    verb = "would rename" if opts.dry_run else "renamed"
    where = f", {len(r.checked)} database(s) checked" if r.checked else ""
    rewrote = f"; rewrote {r.sum.path}" if r.sum else ""
    ctx.reporter.say(f"{verb} {len(r.moved)} migration(s){where}{rewrote}")
    return ExitCode.OK


COMMANDS: dict[str, Command] = {
    "hash": command(
        no_options, NoOptions.from_args, hash_sum,
        examples=("migrator hash   # creates or rewrites migrations/migrations.sum",),
        exits=(("0", "written; its path is on stdout, what changed on stderr"),),
    ),
    "rebase": command(
        _rebase_parser,
        RebaseOptions.from_args, rebase,
        examples=("migrator rebase 20260101120000   # after taking the target's migrations.sum",
                  "migrator rebase 20260101120000 20260102090000 -u $PROD_URL -u $STAGING_URL"),
        exits=(("0", "renamed (or, with --dry-run, listed)"),
               ("2", "a VERSION names no migration, or a database given applied it"),
               ("3", "another migration disagrees with migrations.sum")),
    ),
}
