"""``status`` and ``verify``: what is applied, and whether it still matches its files."""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, NoOptions, command, no_options
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Sequence

    from migrator.cli.context import Context
    from migrator.plan import Entry


class StatusOptions(NamedTuple):
    exit_code: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "StatusOptions":
        return cls(args.exit_code)


def _status_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 if migrations are pending, 3 on drift")


def status_verdict(entries: "Sequence[Entry]", *, as_json: bool) -> tuple[ExitCode, str]:
    """The exit code of ``status --exit-code`` and the one line saying why it is not 0."""
    from migrator.plan import MISSING, MODIFIED, OUT_OF_ORDER, PENDING

    counts = {"modified": sum(e.state == MODIFIED for e in entries),
              # a repeatable whose file is gone is not drift: nothing is left to re-run
              "missing": sum(e.state == MISSING and not e.repeatable for e in entries),
              "out of order": sum(e.note == OUT_OF_ORDER for e in entries)}
    if any(counts.values()):
        found = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        return ExitCode.DRIFT, f"drift: {found} ({'see the JSON' if as_json else 'see above'})"
    pending = sum(e.state == PENDING for e in entries)
    if pending:
        plural = "" if pending == 1 else "s"
        return ExitCode.FAILED, f"{pending} pending migration{plural}: run 'migrator up'"
    return ExitCode.OK, ""


def status(ctx: "Context", opts: StatusOptions) -> ExitCode:
    from migrator.output import dump_json, status_json, status_table

    entries = ctx.migrator().status()
    if ctx.json:
        dump_json(status_json(entries))
    else:
        ctx.out(status_table(entries, ctx.paint_out))
    if not opts.exit_code:
        return ExitCode.OK
    code, why = status_verdict(entries, as_json=ctx.json)
    if why:  # even with -q: it is the reason for a non-zero exit, as an error message is
        ctx.reporter.stream.write(why + "\n")
        ctx.reporter.stream.flush()
    return code


def verify(ctx: "Context", opts: NoOptions) -> ExitCode:
    from migrator.output import dump_json

    report = ctx.migrator().verify()
    if ctx.json:
        dump_json({
            "ok": report.ok,
            "checked": report.checked,
            "problems": [{"version": p.version, "file": p.file, "kind": p.kind}
                         for p in report.problems],
            "notes": [{"version": p.version, "file": p.file, "kind": p.kind,
                       "detail": p.detail} for p in report.notes],
        })
    else:
        for p in report.problems:
            where = p.file or f"version {p.version}"
            ctx.out(f"{p.kind}: {where} ({p.detail})\n")
        for p in report.notes:
            ctx.out(f"ok: {p.file}: {p.detail}; not counted as a change\n")
        verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        ctx.out(f"{verdict}: {report.checked} applied migration(s) checked\n")
    return ExitCode.OK if report.ok else ExitCode.DRIFT


COMMANDS: dict[str, Command] = {
    "status": command(
        _status_parser, StatusOptions.from_args, status,
        examples=(
            "migrator status",
            "migrator status --exit-code >/dev/null   # CI: fail unless up to date",
            "migrator status --json | jq -r '.migrations[].state'",
        ),
        exits=(("0", "listed (with --exit-code: everything applied, no drift)"),
               ("1", "with --exit-code: migrations are pending (one line on stderr says so)"),
               ("3", "with --exit-code: drift, an applied file changed or disappeared")),
    ),
    "verify": command(
        no_options,
        NoOptions.from_args, verify,
        examples=("migrator verify", "migrator verify --json"),
        exits=(("0", "every applied migration matches its file"),
               ("3", "drift: an applied file changed or disappeared (listed on stdout)")),
    ),
}
