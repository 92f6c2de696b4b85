"""CLI functions for the DBA commands: settings in, one dba module call, rendering out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.errors import ConfigError, ExitCode
from migrator.output import dump_json

if TYPE_CHECKING:
    from migrator.api import Migrator
    from migrator.commands import Context


def _url(ctx: Context) -> str:
    url = ctx.settings.url
    if not url:
        raise ConfigError(
            "no database URL: pass --url, set DATABASE_URL, or put url = \"...\" "
            "in migrator.toml"
        )
    return url


def cmd_check(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.check import check_directory

    report = check_directory(ctx.settings.migrations_dir, url=ctx.settings.url or None,
                             dialect=opts.get("dialect"))
    failed = bool(report.errors) or (opts["strict"] and bool(report.warnings))
    if ctx.json:
        dump_json({
            "ok": not failed,
            "files": report.files,
            "migrations": report.migrations,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "problems": [f.to_json() for f in report.findings],
        })
    else:
        ctx.out("".join(f"{f}\n" for f in report.findings))
        ctx.reporter.say(
            f"{report.files} file(s) checked: {len(report.errors)} error(s), "
            f"{len(report.warnings)} warning(s)"
        )
    return ExitCode.USAGE if failed else ExitCode.OK


def cmd_test(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.testrun import PASSED, MigrationTest, run_tests

    def show(result: MigrationTest) -> None:
        if ctx.json:
            return
        ctx.out(f"{result.outcome:<15} {result.version}_{result.name}\n")
        if result.message and result.outcome != PASSED:
            ctx.out("".join(f"    {line}\n" for line in result.message.splitlines()))
        if result.diff:
            ctx.out("".join(f"    {line}\n" for line in result.diff.splitlines()))

    s = ctx.settings
    report = run_tests(s.migrations_dir, s.migrations_table, from_db=opts.get("from_db"),
                       on_result=show, url=s.url)
    if report.scratch:
        ctx.reporter.say(f"tested in the scratch {report.scratch}, dropped afterwards")
    if ctx.json:
        document: dict[str, Any] = {"ok": report.ok,
                                    "migrations": [r.to_json() for r in report.results]}
        if report.scratch:
            document["scratch"] = report.scratch
        dump_json(document)
    else:
        counts: dict[str, int] = {}
        for r in report.results:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        ctx.reporter.say(", ".join(f"{n} {outcome}" for outcome, n in counts.items())
                         or "no migrations to test")
    return ExitCode.OK if report.ok else ExitCode.FAILED


def cmd_rehearse(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.rehearse import rehearse

    s = ctx.settings
    r = rehearse(_url(ctx), s.migrations_dir, s.migrations_table, ctx.reporter,
                 to=opts.get("to"), allow_modified=opts["allow_modified"],
                 allow_out_of_order=opts["allow_out_of_order"])
    applied = [step.to_json() for step in (r.result.done if r.result else [])]
    if r.failure is not None:
        applied = [step.to_json() for step in r.failure.completed]
    document: dict[str, Any] = {
        "rehearsal": True, "database": str(r.source), "size_bytes": r.size_bytes,
        "copy_ms": r.copy_ms, "total_ms": r.total_ms, "pending": r.pending,
        "applied": applied, "ok": r.failure is None,
    }
    ctx.reporter.say(f"rehearsed on a copy of {r.source} ({r.size_bytes:,} bytes, copied in "
                     f"{r.copy_ms} ms); the copy was discarded and {r.source} was not touched")
    if r.failure is not None:
        return ctx.fail(r.failure, document)
    if ctx.json:
        dump_json(document)
    else:
        ctx.reporter.say(f"{len(applied)} migration(s) would apply in {r.total_ms} ms")
    return ExitCode.OK


def cmd_dump(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.dump import dump_schema, write_atomically

    text = dump_schema(_url(ctx), ctx.settings.migrations_table)
    output = opts.get("output")
    if output:
        write_atomically(Path(output), text)
        ctx.reporter.say(f"wrote schema dump to {output}")
    if ctx.json:
        dump_json({"file": output, "sql": text})
    elif not output:
        ctx.out(text)
    return ExitCode.OK


def write_dump(ctx: Context, m: Migrator, path: str) -> None:
    """After ``up``/``down --dump FILE``: refresh the committed dump."""
    from migrator.dba.dump import dump_schema, write_atomically

    write_atomically(Path(path), dump_schema(m.url, m.table))
    ctx.reporter.say(f"wrote schema dump to {path}")


def cmd_adopt(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.adopt import adopt

    s = ctx.settings
    r = adopt(_url(ctx), s.migrations_dir, s.migrations_table, opts["tool"],
              source_table=opts.get("source_table"), dry_run=opts["dry_run"],
              lock_timeout=s.lock_timeout)
    if ctx.json:
        dump_json({
            "from": r.tool, "source_table": r.source_table, "dry_run": opts["dry_run"],
            "table": s.migrations_table,
            "recorded": [{"version": m.version, "name": m.name} for m in r.recorded],
            "already_recorded": [{"version": m.version, "name": m.name} for m in r.already],
            "notes": r.notes,
        })
        return ExitCode.OK
    verb = "would record" if opts["dry_run"] else "recorded"
    for m in r.recorded:
        ctx.out(f"{verb} {m.label} as applied (not run)\n")
    for note in r.notes:
        ctx.reporter.say(f"note: {note}")
    ctx.reporter.say(
        f"{verb} {len(r.recorded)} migration(s) from {r.tool}'s {r.source_table} in "
        f"{s.migrations_table}; {len(r.already)} were already recorded"
    )
    return ExitCode.OK


def cmd_convert(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.convert import convert

    r = convert(opts["tool"], Path(opts["source"]), Path(opts["dest"]),
                dry_run=opts["dry_run"])
    if ctx.json:
        dump_json({
            "dry_run": opts["dry_run"],
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
    verb = "would write" if opts["dry_run"] else "wrote"
    ctx.reporter.say(f"{verb} {len(r.migrations)} migration(s); run 'migrator check' on the "
                     "result before the first 'up'")
    return ExitCode.OK


def cmd_squash(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.dba.squash import rewrite_history, squash

    s = ctx.settings
    if opts["history_only"]:
        h = rewrite_history(_url(ctx), s.migrations_dir, s.migrations_table, opts["to"],
                            s.lock_timeout)
        if ctx.json:
            dump_json({"removed": h.removed, "recorded": h.recorded})
        elif h.recorded:
            ctx.out(f"replaced the rows of {', '.join(h.removed)} by {h.recorded}\n")
        else:
            ctx.reporter.say("nothing to rewrite: this database has no rows of the squashed "
                             "migrations, or was rewritten already")
        return ExitCode.OK
    r = squash(s.migrations_dir, s.migrations_table, opts["to"], name=opts["name"],
               dry_run=opts["dry_run"], url=s.url or None)
    if ctx.json:
        dump_json({
            "dry_run": opts["dry_run"],
            "squashed": [{"version": m.version, "name": m.name} for m in r.squashed],
            "up_file": str(r.up_file), "down_file": str(r.down_file) if r.down_file else None,
            "statements": r.statements, "moved": [str(p) for p in r.moved],
        })
        return ExitCode.OK
    verb = "would replace" if opts["dry_run"] else "replaced"
    ctx.out(f"{verb} {len(r.squashed)} migrations by {r.up_file} ({r.statements} statements)\n")
    ctx.reporter.say(
        "proven: the new file builds the same schema and rows as the old ones. On databases "
        f"that applied them, run 'migrator squash --to {opts['to']} --history-only'"
    )
    return ExitCode.OK
