"""``check``, ``test`` and ``rehearse``: prove migrations before they reach production."""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, command
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from pathlib import Path

    from migrator.cli.context import Context
    from migrator.dba.testrun import MigrationTest


class CheckOptions(NamedTuple):
    strict: bool
    dialect: str | None
    format: str | None
    pending: bool
    since: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CheckOptions":
        return cls(args.strict, args.dialect, args.format, args.pending, args.since)


def _check_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 2)")
    p.add_argument("--dialect", metavar="NAME",
                   help="split and lint as this database does (a backend's name, e.g. "
                        "postgres); default: the URL's, else sqlite [config: dialect]")
    p.add_argument("--format", choices=("text", "json", "github", "sarif"),
                   help="text (path:line:col: severity RULE message), json (as --json), "
                        "github (workflow annotations) or sarif (2.1.0, code scanning)")
    p.add_argument("--pending", action="store_true",
                   help="only the migrations not yet applied to the database (-u URL)")
    p.add_argument("--since", metavar="GIT-REF",
                   help="only the migrations whose files changed since this git ref")


def check(ctx: "Context", opts: CheckOptions) -> ExitCode:
    from migrator.backends import dialect_named
    from migrator.dba.check import check_directory
    from migrator.output import dump_json

    s = ctx.settings
    name = opts.dialect or s.dialect
    dialect = dialect_named(name).name if name else None  # an unknown name is a usage error
    only = _selected(ctx, opts)
    report = check_directory(s.migrations_dir, dialect=dialect, url=s.url or None, only=only)
    failed = bool(report.errors) or (opts.strict and bool(report.warnings))
    problems = [f.to_json() for f in report.findings]
    form = opts.format or ("json" if ctx.json else "text")
    if form == "json":
        document: dict[str, object] = {
            "ok": not failed,
            "files": report.files,
            "migrations": report.migrations,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "problems": problems,
        }
        if report.suppressed:  # only then: the document stays as it was for a file without
            document["suppressed"] = report.suppressed
        dump_json(document)
    elif form == "sarif":
        from migrator import __version__
        from migrator.lint.formats import sarif

        dump_json(sarif(problems, report.rules, __version__))
    elif form == "github":
        from migrator.lint.formats import github

        ctx.out(github(problems))
    else:
        ctx.out("".join(f"{f}\n" for f in report.findings))
    if form != "json":
        suppressed = f", {report.suppressed} suppressed" if report.suppressed else ""
        ctx.reporter.say(
            f"{report.files} file(s) checked: {len(report.errors)} error(s), "
            f"{len(report.warnings)} warning(s){suppressed}"
        )
    return ExitCode.USAGE if failed else ExitCode.OK


def _selected(ctx: "Context", opts: CheckOptions) -> "list[Path] | None":
    """The up files of the migrations to check, or None for all of them."""
    if not opts.pending and opts.since is None:
        return None
    from pathlib import Path

    chosen: set[Path] | None = None
    if opts.pending:
        from migrator.plan import PENDING

        entries = ctx.migrator().status()
        chosen = {Path(e.migration.up.path).resolve() for e in entries
                  if e.state == PENDING and e.migration is not None}
    if opts.since is not None:
        from migrator.lint.since import changed_since

        changed = changed_since(ctx.settings.migrations_dir, opts.since)
        chosen = changed if chosen is None else chosen & changed
    return sorted(chosen or ())


class TestOptions(NamedTuple):
    from_db: str | None
    locks: bool
    rows: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TestOptions":
        return cls(args.from_db, args.locks, args.rows)


def _test_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from-db", metavar="URL",
                   help="start from a copy of this database instead of an empty one")
    p.add_argument("--locks", action="store_true",
                   help="measure what each statement locks and rewrites, on tables "
                        "filled with synthetic rows, and compare with the safety rules")
    p.add_argument("--rows", type=int, default=1000, metavar="N",
                   help="synthetic rows in each empty table for --locks (default 1000)")


def _locks(ctx: "Context", opts: TestOptions) -> ExitCode:
    from migrator.errors import ConfigError
    from migrator.lint.measure import MigrationLocks, measure_locks
    from migrator.output import dump_json

    if opts.from_db is not None:
        raise ConfigError("--locks measures on an empty scratch space; drop --from-db")

    def show(result: MigrationLocks) -> None:
        if ctx.json:
            return
        filled = f"  (rows in: {', '.join(result.filled)})" if result.filled else ""
        ctx.out(f"{result.version}_{result.name}{filled}\n")
        for s in result.statements:
            m = s.measured
            parts = [f"{m.ms} ms"] + [f"{t} {mode}" for t, mode in m.locks.items()]
            if m.algorithm:
                parts.append(f"ALGORITHM={m.algorithm}")
            if m.rewritten:
                parts.append(f"rewritten: {', '.join(m.rewritten)}")
            if m.note:
                parts.append(m.note)
            lint = f"  [lint: {', '.join(s.lint)}]" if s.lint else ""
            ctx.out(f"  statement {s.index} (line {s.line}): {'; '.join(parts)}{lint}\n")
            ctx.out("".join(f"    lint disagrees: {d}\n" for d in s.disagreements))
        if result.rebuilt:
            ctx.out(f"  rebuilt by this file: {', '.join(result.rebuilt)}\n")
        if result.error:
            ctx.out(f"  failed: {result.error}\n")

    s = ctx.settings
    report = measure_locks(s.migrations_dir, s.migrations_table, url=s.url or None,
                           rows=opts.rows, on_result=show, variables=ctx.variables())
    if ctx.json:
        dump_json({"ok": report.ok, "rows": report.rows, "scratch": report.scratch,
                   "disagreements": report.disagreements,
                   "migrations": [m.to_json() for m in report.migrations]})
    else:
        where = f" in the scratch {report.scratch}" if report.scratch else ""
        ctx.reporter.say(f"{len(report.migrations)} migration(s) measured{where} with "
                         f"{report.rows} rows a table; {report.disagreements} disagreement(s) "
                         "with the safety rules")
    return ExitCode.OK if report.ok else ExitCode.FAILED


def test(ctx: "Context", opts: TestOptions) -> ExitCode:
    if opts.locks:
        return _locks(ctx, opts)
    from migrator.dba.testrun import PASSED, run_tests
    from migrator.output import dump_json

    def show(result: "MigrationTest") -> None:
        if ctx.json:
            return
        ctx.out(f"{result.outcome:<15} {result.version}_{result.name}\n")
        if result.message and result.outcome != PASSED:
            ctx.out("".join(f"    {line}\n" for line in result.message.splitlines()))
        if result.diff:
            ctx.out("".join(f"    {line}\n" for line in result.diff.splitlines()))

    s = ctx.settings
    report = run_tests(s.migrations_dir, s.migrations_table, from_db=opts.from_db,
                       on_result=show, url=s.url, variables=ctx.variables())
    if report.scratch:
        ctx.reporter.say(f"tested in the scratch {report.scratch}, dropped afterwards")
    if ctx.json:
        document: dict[str, object] = {"ok": report.ok,
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


class RehearseOptions(NamedTuple):
    to: str | None
    allow_modified: bool
    allow_out_of_order: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RehearseOptions":
        return cls(args.to, args.allow_modified, args.allow_out_of_order)


def _rehearse_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION", help="stop after this version")
    p.add_argument("--allow-modified", action="store_true",
                   help="run even if applied files changed or disappeared")
    p.add_argument("--allow-out-of-order", action="store_true",
                   help="apply pending migrations older than the newest applied one")


def rehearse(ctx: "Context", opts: RehearseOptions) -> ExitCode:
    from migrator.dba.rehearse import rehearse as rehearse_on_copy
    from migrator.output import dump_json

    s = ctx.settings
    r = rehearse_on_copy(ctx.url(), s.migrations_dir, s.migrations_table, ctx.reporter,
                         to=opts.to, allow_modified=opts.allow_modified,
                         allow_out_of_order=opts.allow_out_of_order,
                         variables=ctx.variables())
    applied = [step.to_json() for step in (r.result.done if r.result else [])]
    if r.failure is not None:
        applied = [step.to_json() for step in r.failure.completed]
    document: dict[str, object] = {
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


COMMANDS: dict[str, Command] = {
    "check": command(
        _check_parser,
        CheckOptions.from_args, check,
        examples=("migrator check",
                  "migrator check --strict --dialect postgres   # a pre-commit hook, no URL",
                  "migrator check --pending -u postgres://db/app   # only what 'up' would run",
                  "migrator check --since origin/main --format github   # in CI"),
        exits=(("0", "no errors (with --strict: no warnings either)"),
               ("2", "errors (with --strict: or warnings) listed on stdout, or a usage "
                     "error")),
    ),
    "test": command(
        _test_parser,
        TestOptions.from_args, test,
        examples=("migrator test",
                  "migrator test --from-db sqlite:///prod-copy.db",
                  "migrator test --locks --rows 100000 -u postgres://localhost/app"),
        exits=(("0", "every migration passed"),
               ("1", "a migration failed, or its down file does not restore the schema")),
    ),
    "rehearse": command(
        _rehearse_parser,
        RehearseOptions.from_args, rehearse,
        examples=("migrator rehearse", "migrator rehearse --to 20260101120000 --json"),
        exits=(("0", "'up' would succeed"), ("1", "a migration failed on the copy"),
               ("3", "drift: an applied file changed or disappeared")),
    ),
}
