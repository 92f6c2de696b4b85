"""``up`` (dbmate: ``migrate``), ``down`` (dbmate: ``rollback``) and ``redo``."""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, command, positive
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.api import Migrator, RunResult
    from migrator.cli.context import Context
    from migrator.lockretry import LockWait, RetryPolicy
    from migrator.ordering import ProvenOrder
    from migrator.progress import StepResult
    from migrator.replaces import Fold

RUN_EXITS = (
    ("0", "done (or nothing to do)"),
    ("1", "a migration failed and was rolled back; the ones before it stay applied"),
    ("3", "drift: an applied file changed or disappeared (see --allow-modified)"),
    ("4", "another run holds the migration lock (see --lock-timeout, unlock)"),
)


def _dump_option(p: argparse.ArgumentParser) -> None:
    """``up``/``down --dump FILE``: keep a committed schema dump current."""
    p.add_argument("--dump", metavar="FILE",
                   help="after the run, write the schema dump (as 'migrator dump') to FILE "
                        "(instead of schema_file, if that is set)")


def _write_dump(ctx: "Context", m: "Migrator", flag: str | None) -> None:
    """After a successful run: the dump to ``--dump FILE``, else to ``schema_file``."""
    path = flag or ctx.settings.schema_file
    if path:
        from migrator.cli.schema import write_dump

        write_dump(ctx, m, path)


class UpOptions(NamedTuple):
    to: str | None
    dry_run: bool
    allow_modified: bool
    allow_out_of_order: bool
    single_transaction: bool
    dump: str | None
    wait: bool
    wait_timeout: float
    lock_retries: int | None  # None: not given, the config's (lock_retries) applies
    file_lock_timeout: float | None
    prove_order: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "UpOptions":
        return cls(args.to, args.dry_run, args.allow_modified, args.allow_out_of_order,
                   args.single_transaction, args.dump, args.wait, args.wait_timeout,
                   args.lock_retries, args.file_lock_timeout, args.prove_order)


def _retries(text: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _seconds(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < 31_536_000:
        raise argparse.ArgumentTypeError("must be more than 0 and less than a year")
    return value


def _up_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION", help="stop after this version")
    p.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    p.add_argument("--allow-modified", action="store_true",
                   help="run even if applied files changed or disappeared")
    p.add_argument("--allow-out-of-order", action="store_true",
                   help="apply pending migrations older than the newest applied one")
    p.add_argument("--prove-order", action="store_true",
                   help="first prove on scratch spaces (as 'migrator check-order') that "
                        "applying those older migrations now builds the schema that version "
                        "order builds, and apply them only then")
    p.add_argument("--single-transaction", action="store_true",
                   help="apply all pending migrations in one transaction: all or nothing")
    _dump_option(p)
    p.add_argument("--wait", action="store_true",
                   help="first wait until the database server accepts connections "
                        "(as 'migrator wait')")
    p.add_argument("--wait-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="with --wait, give up after this long (default 60)")
    _retry_options(p)


def _retry_options(p: argparse.ArgumentParser) -> None:
    """``up``/``down``/``redo``: retry a file that times out waiting for a lock."""
    p.add_argument("--lock-retries", type=_retries, default=None, metavar="N",
                   help="a file whose statement times out waiting for a lock (PostgreSQL "
                        "55P03, MySQL 1205) is rolled back and tried again, with a jittered "
                        "doubling pause, up to N times; each wait names the blocking "
                        "sessions [$MIGRATOR_LOCK_RETRIES, lock_retries in the config, "
                        "default 0: fail at once]")
    p.add_argument("--file-lock-timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="how long one statement of a file may wait for a lock (PostgreSQL "
                        "lock_timeout, MySQL lock_wait_timeout) [$MIGRATOR_FILE_LOCK_TIMEOUT, "
                        "file_lock_timeout in the config; default: the URL's lock_timeout / "
                        "lock_wait_timeout, else the server's]")


class Retrying:
    """The retry policy of one run (flags over environment over config) and the
    waits it reported, for the JSON document."""

    def __init__(self, ctx: "Context", retries: int | None, timeout: float | None,
                 *, flags_only: bool = False) -> None:
        self.ctx = ctx
        self.waits: list[LockWait] = []
        if not flags_only:
            s = ctx.settings
            retries = s.lock_retries if retries is None else retries
            timeout = s.file_lock_timeout if timeout is None else timeout
        self.retries = retries or 0
        self.policy = _policy(self.retries, timeout)

    def waited(self, wait: "LockWait") -> None:
        self.waits.append(wait)
        self.ctx.reporter.say(wait.describe(self.retries))

    def add_to(self, document: dict[str, object]) -> dict[str, object]:
        if self.policy is not None:
            document["retries"] = [w.to_json() for w in self.waits]
        return document


def _policy(retries: int, timeout: float | None) -> "RetryPolicy | None":
    if not retries and timeout is None:
        return None
    from migrator.lockretry import RetryPolicy

    return RetryPolicy(retries, timeout)


class DownOptions(NamedTuple):
    steps: int | None
    to: str | None
    all: bool
    dry_run: bool
    allow_modified: bool
    dump: str | None
    lock_retries: int | None
    file_lock_timeout: float | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "DownOptions":
        return cls(args.steps, args.to, args.all, args.dry_run, args.allow_modified, args.dump,
                   args.lock_retries, args.file_lock_timeout)


def _down_parser(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--steps", type=positive, metavar="N", help="roll back N migrations")
    which.add_argument("--to", metavar="VERSION", help="roll back everything after VERSION")
    which.add_argument("--all", action="store_true", help="roll back every migration")
    p.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    p.add_argument("--allow-modified", action="store_true",
                   help="roll back even if up files changed since they were applied")
    _dump_option(p)
    _retry_options(p)


class RedoOptions(NamedTuple):
    steps: int
    lock_retries: int | None
    file_lock_timeout: float | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RedoOptions":
        return cls(args.steps, args.lock_retries, args.file_lock_timeout)


def _redo_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=positive, default=1, metavar="N")
    _retry_options(p)


def _steps_json(steps: "list[StepResult]") -> list[dict[str, object]]:
    return [s.to_json() for s in steps if not s.skipped]


def _summary(ctx: "Context", result: "RunResult", verb: str) -> None:
    done = result.done
    if not done:
        ctx.reporter.say(f"nothing to {'apply' if verb == 'applied' else 'roll back'}")
        return
    total = result.duration_ms  # wall clock: COMMIT and fsync included
    plural = "" if len(done) == 1 else "s"
    ctx.reporter.say(f"{verb} {len(done)} migration{plural} in {total} ms")


def _folded(ctx: "Context", folds: "list[Fold]") -> None:
    for f in folds:
        ctx.reporter.say(f"recorded {f.migration.label} in place of {', '.join(f.versions)} "
                         "(squashed; nothing run)")


def _dry_run(
    ctx: "Context", m: "Migrator", items_of: str, opts: UpOptions | DownOptions,
    late_ok: "bool | ProvenOrder" = False,
) -> ExitCode:
    from migrator.backends import open_backend
    from migrator.output import dry_run_script, dump_json

    folds = []
    if isinstance(opts, UpOptions):
        items = m.plan_up(to=opts.to, allow_modified=opts.allow_modified,
                          allow_out_of_order=late_ok)
        folds = m.plan_replacements()
    else:
        items = m.plan_down(steps=opts.steps, to=opts.to, everything=opts.all,
                            allow_modified=opts.allow_modified)
    backend = open_backend(m.url, table=m.table, readonly=True, busy_timeout=1.0)
    try:
        statements = {  # prepare already split every file: replay its spans
            i.source.path: list(i.spans.statements(i.source.text) if i.spans
                                else backend.split(i.source.text))
            for i in items
        }
        sql = backend.dry_run_sql()
        first: list[str] = []
        if folds:
            from migrator.replaces import dry_run_lines

            first = dry_run_lines(folds, sql)
        script = dry_run_script(items, sql, items_of, backend.display_url, statements, first)
    finally:
        backend.close()
    if ctx.json:
        key = "applied" if items_of == "up" else "rolled_back"
        document: dict[str, object] = {"dry_run": True, key: [
            {"version": i.migration.version, "name": i.migration.name,
             "file": i.source.path, "statements": i.total} for i in items], "sql": script}
        if folds:
            document["replaced"] = [f.to_json() for f in folds]
        dump_json(document)
    else:
        ctx.out(script)
    return ExitCode.OK


def wait_for_server(ctx: "Context", m: "Migrator", timeout: float) -> float:
    """Block until the database accepts a connection; say how long it took."""
    waited = m.wait(max(timeout, 0.0))
    if not ctx.json:
        ctx.reporter.say(f"database is ready (waited {waited:.1f}s)")
    return waited


def up(ctx: "Context", opts: UpOptions) -> ExitCode:
    from migrator.output import dump_json

    m = ctx.migrator()
    if opts.wait:
        wait_for_server(ctx, m, opts.wait_timeout)
    late_ok: bool | ProvenOrder = opts.allow_out_of_order
    proof = None
    if opts.prove_order and not late_ok:
        from migrator.cli.order import proven_order

        late_ok, proof = proven_order(ctx, m, opts.to, opts.allow_modified)
    if opts.dry_run:
        return _dry_run(ctx, m, "up", opts, late_ok)
    # A retry policy from the environment or the config does not make every
    # --single-transaction run fail: only the flags are refused there.
    retry = Retrying(ctx, opts.lock_retries, opts.file_lock_timeout,
                     flags_only=opts.single_transaction)
    result = m.up(to=opts.to, allow_modified=opts.allow_modified, allow_out_of_order=late_ok,
                  single_transaction=opts.single_transaction,
                  lock_retries=retry.policy, on_lock_wait=retry.waited,
                  on_folded=lambda folds: _folded(ctx, folds))
    _summary(ctx, result, "applied")
    _write_dump(ctx, m, opts.dump)
    if ctx.json:
        document: dict[str, object] = {"applied": _steps_json(result.steps)}
        if result.replaced:
            document["replaced"] = [f.to_json() for f in result.replaced]
        if proof is not None:
            document["order"] = proof.to_json()
        dump_json(retry.add_to(document))
    return ExitCode.OK


def down(ctx: "Context", opts: DownOptions) -> ExitCode:
    from migrator.output import dump_json

    m = ctx.migrator()
    if opts.dry_run:
        return _dry_run(ctx, m, "down", opts)
    retry = Retrying(ctx, opts.lock_retries, opts.file_lock_timeout)
    result = m.down(steps=opts.steps, to=opts.to, everything=opts.all,
                    allow_modified=opts.allow_modified, lock_retries=retry.policy,
                    on_lock_wait=retry.waited)
    _summary(ctx, result, "rolled back")
    _write_dump(ctx, m, opts.dump)
    if ctx.json:
        dump_json(retry.add_to({"rolled_back": _steps_json(result.steps)}))
    return ExitCode.OK


def redo(ctx: "Context", opts: RedoOptions) -> ExitCode:
    from migrator.output import dump_json

    m = ctx.migrator()
    retry = Retrying(ctx, opts.lock_retries, opts.file_lock_timeout)
    rolled_back, applied = m.redo(steps=opts.steps, lock_retries=retry.policy,
                                  on_lock_wait=retry.waited)
    _summary(ctx, applied, "applied")
    _write_dump(ctx, m, None)
    if ctx.json:
        dump_json(retry.add_to({"rolled_back": _steps_json(rolled_back.steps),
                                "applied": _steps_json(applied.steps)}))
    return ExitCode.OK


COMMANDS: dict[str, Command] = {
    "up": command(
        _up_parser, UpOptions.from_args, up,
        examples=(
            "migrator --url sqlite:///app.db up",
            "migrator up --to 20260101120000      # stop after this version",
            "migrator up --dry-run                # print the SQL; change nothing",
            "migrator up --wait --wait-timeout 30 # in a container: wait for the server",
            "migrator up --lock-retries 5 --file-lock-timeout 2  # busy server: fail fast, retry",
            "migrator up --prove-order            # late files: apply if the order is harmless",
            "migrator migrate                     # dbmate's name for 'up'",
        ),
        exits=(*RUN_EXITS, ("2", "usage or configuration error, or (--wait) the server "
                                 "stayed unreachable")),
    ),
    "down": command(
        _down_parser,
        DownOptions.from_args, down,
        examples=(
            "migrator down                        # the newest migration",
            "migrator down --steps 3",
            "migrator down --to 20260101120000    # everything after this version",
            "migrator down --all --dry-run",
            "migrator down --lock-retries 3 --file-lock-timeout 2  # busy server: fail fast, retry",
            "migrator rollback                    # dbmate's name for 'down'",
        ),
        exits=(*RUN_EXITS[:1],
               ("1", "a down file failed and was rolled back, or a migration has no down file"),
               *RUN_EXITS[2:]),
    ),
    "redo": command(
        _redo_parser,
        RedoOptions.from_args, redo,
        examples=("migrator redo", "migrator redo --steps 2",
                  "migrator redo --lock-retries 3 --file-lock-timeout 2  # busy server"),
        exits=RUN_EXITS,
    ),
}
