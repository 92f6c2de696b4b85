"""One function per CLI command: settings in, API call, rendering out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from migrator import config
from migrator.api import Migrator, RunResult
from migrator.errors import (
    ConfigError,
    ExitCode,
    Interrupted,
    IrreversibleError,
    MigrationFailed,
    MigratorError,
)
from migrator.output import (
    Painter,
    Reporter,
    dry_run_script,
    dump_json,
    status_json,
    status_table,
    use_colour,
)
from migrator.plan import MISSING, MODIFIED, OUT_OF_ORDER, PENDING
from migrator.progress import StepResult


class Context:
    """What every command needs: output channels and the resolved settings."""

    __slots__ = ("_settings", "json", "opts", "paint_out", "reporter")

    def __init__(
        self, json: bool, reporter: Reporter, paint_out: Painter, opts: dict[str, Any]
    ) -> None:
        self.json = json
        self.reporter = reporter
        self.paint_out = paint_out
        self.opts = opts
        self._settings: config.Settings | None = None

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> Context:
        no_color = bool(opts.get("no_color"))
        verbosity = 0 if opts.get("quiet") else 2 if opts.get("verbose") else 1
        reporter = Reporter(sys.stderr, verbosity=verbosity,
                            colour=use_colour(sys.stderr, no_color))
        return cls(bool(opts.get("json")), reporter,
                   Painter(use_colour(sys.stdout, no_color)), opts)

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            flags = {k: self.opts.get(k) for k in config.FILE_KEYS}
            self._settings = config.resolve(flags)
        return self._settings

    def migrator(self) -> Migrator:
        s = self.settings
        if not s.url:
            raise ConfigError(
                "no database URL: pass --url, set DATABASE_URL, or put url = \"...\" "
                "in migrator.toml"
            )
        return Migrator(s.url, s.migrations_dir, table=s.migrations_table,
                        lock_timeout=s.lock_timeout, progress=self.reporter)

    def out(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def fail(self, exc: MigratorError, document: dict[str, Any] | None = None) -> ExitCode:
        message = str(exc)
        if isinstance(exc, Interrupted):
            message += (
                "; a migration still in progress was rolled back (a no-transaction file may "
                "have run part-way), migrations that had committed stay applied, and the lock "
                "was released"
            )
        if self.json:
            doc = dict(document or {})
            if isinstance(exc, MigrationFailed):
                key = "rolled_back" if exc.info.direction == "down" else "applied"
                doc.setdefault(key, [s.to_json() for s in exc.completed])
            elif isinstance(exc, IrreversibleError):
                doc.setdefault("rolled_back", [])  # refused before anything ran
            doc["error"] = {"kind": exc.kind, "message": message, **exc.details()}
            if isinstance(exc, MigrationFailed):
                doc["error"]["message"] = exc.info.db_error.message
                doc["error"]["summary"] = message
            dump_json(doc)
        self.reporter.error(message)
        return exc.exit_code


def _steps_json(steps: list[StepResult]) -> list[dict[str, object]]:
    return [s.to_json() for s in steps if not s.skipped]


def _summary(ctx: Context, result: RunResult, verb: str) -> None:
    done = result.done
    if not done:
        ctx.reporter.say(f"nothing to {'apply' if verb == 'applied' else 'roll back'}")
        return
    total = result.duration_ms  # wall clock: COMMIT and fsync included
    plural = "" if len(done) == 1 else "s"
    ctx.reporter.say(f"{verb} {len(done)} migration{plural} in {total} ms")


def cmd_new(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    from migrator.scaffold import new_migration

    paths = new_migration(ctx.settings.migrations_dir, opts["name"], opts["layout"])
    if ctx.json:
        dump_json({"created": [str(p) for p in paths]})
    else:
        ctx.out("".join(f"{p}\n" for p in paths))
    return ExitCode.OK


def _dry_run(ctx: Context, m: Migrator, opts: dict[str, Any], direction: str) -> ExitCode:
    from migrator.backends import open_backend

    if direction == "up":
        items = m.plan_up(to=opts.get("to"), allow_modified=opts["allow_modified"],
                          allow_out_of_order=opts["allow_out_of_order"])
    else:
        items = m.plan_down(steps=opts.get("steps"), to=opts.get("to"),
                            everything=opts["all"], allow_modified=opts["allow_modified"])
    backend = open_backend(m.url, table=m.table, readonly=True, busy_timeout=1.0)
    try:
        statements = {  # prepare already split every file: replay its spans
            i.source.path: list(i.spans.statements(i.source.text) if i.spans
                                else backend.split(i.source.text))
            for i in items
        }
        script = dry_run_script(items, backend.dry_run_sql(), direction,
                                backend.display_url, statements)
    finally:
        backend.close()
    if ctx.json:
        key = "applied" if direction == "up" else "rolled_back"
        dump_json({"dry_run": True, key: [
            {"version": i.migration.version, "name": i.migration.name,
             "file": i.source.path, "statements": i.total} for i in items], "sql": script})
    else:
        ctx.out(script)
    return ExitCode.OK


def cmd_up(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    m = ctx.migrator()
    if opts["dry_run"]:
        return _dry_run(ctx, m, opts, "up")
    result = m.up(to=opts.get("to"), allow_modified=opts["allow_modified"],
                  allow_out_of_order=opts["allow_out_of_order"],
                  single_transaction=opts["single_transaction"])
    _summary(ctx, result, "applied")
    if opts.get("dump"):
        _dba("write_dump")(ctx, m, opts["dump"])
    if ctx.json:
        dump_json({"applied": _steps_json(result.steps)})
    return ExitCode.OK


def cmd_down(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    m = ctx.migrator()
    if opts["dry_run"]:
        return _dry_run(ctx, m, opts, "down")
    result = m.down(steps=opts.get("steps"), to=opts.get("to"), everything=opts["all"],
                    allow_modified=opts["allow_modified"])
    _summary(ctx, result, "rolled back")
    if opts.get("dump"):
        _dba("write_dump")(ctx, m, opts["dump"])
    if ctx.json:
        dump_json({"rolled_back": _steps_json(result.steps)})
    return ExitCode.OK


def cmd_redo(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    down, up = ctx.migrator().redo(steps=opts["steps"])
    _summary(ctx, up, "applied")
    if ctx.json:
        dump_json({"rolled_back": _steps_json(down.steps), "applied": _steps_json(up.steps)})
    return ExitCode.OK


def cmd_status(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    entries = ctx.migrator().status()
    if ctx.json:
        dump_json(status_json(entries))
    else:
        ctx.out(status_table(entries, ctx.paint_out))
    if not opts["exit_code"]:
        return ExitCode.OK
    if any(e.state in (MODIFIED, MISSING) or e.note == OUT_OF_ORDER for e in entries):
        return ExitCode.DRIFT
    if any(e.state == PENDING for e in entries):
        return ExitCode.FAILED
    return ExitCode.OK


def cmd_verify(ctx: Context, opts: dict[str, Any]) -> ExitCode:
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


def cmd_baseline(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    recorded = ctx.migrator().baseline(opts["version"])
    if ctx.json:
        dump_json({"baselined": [{"version": m.version, "name": m.name} for m in recorded]})
    else:
        for m in recorded:
            ctx.out(f"recorded {m.label} as applied (not run)\n")
        ctx.reporter.say(f"baselined {len(recorded)} migration(s) up to {opts['version']}")
    return ExitCode.OK


def _message(ctx: Context, message: str) -> ExitCode:
    if ctx.json:
        dump_json({"message": message})
    else:
        ctx.out(message + "\n")
    return ExitCode.OK


def cmd_unlock(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    return _message(ctx, ctx.migrator().unlock())


def cmd_repair(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    return _message(ctx, ctx.migrator().repair(opts["version"], applied=bool(opts["applied"])))


def cmd_wait(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    m = ctx.migrator()
    waited = m.wait(max(float(opts["timeout"]), 0.0))
    if ctx.json:
        dump_json({"ready": True, "waited_s": round(waited, 3)})
    else:
        ctx.reporter.say(f"database is ready (waited {waited:.1f}s)")
    return ExitCode.OK


COMMANDS: dict[str, Callable[[Context, dict[str, Any]], ExitCode]] = {
    "new": cmd_new,
    "up": cmd_up,
    "down": cmd_down,
    "redo": cmd_redo,
    "status": cmd_status,
    "verify": cmd_verify,
    "baseline": cmd_baseline,
    "unlock": cmd_unlock,
    "repair": cmd_repair,
    "wait": cmd_wait,
}


def _dba(name: str) -> Any:
    """A function from migrator.dba.commands, imported only when its command runs."""
    from migrator.dba import commands as dba

    return getattr(dba, name)


def _dba_command(name: str) -> Callable[[Context, dict[str, Any]], ExitCode]:
    def command(ctx: Context, opts: dict[str, Any]) -> ExitCode:
        return ExitCode(_dba(f"cmd_{name}")(ctx, opts))

    return command


for _name in ("check", "test", "rehearse", "dump", "adopt", "convert", "squash"):
    COMMANDS[_name] = _dba_command(_name)


def dispatch(ctx: Context, opts: dict[str, Any]) -> ExitCode:
    return COMMANDS[opts["command"]](ctx, opts)
