"""``check-order``, and the proof behind ``up --prove-order``: may late migrations run now?"""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli.command import Command, command
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.api import Migrator
    from migrator.cli.context import Context
    from migrator.dba.order import OrderProof
    from migrator.ordering import ProvenOrder


class CheckOrderOptions(NamedTuple):
    to: str | None
    allow_modified: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CheckOrderOptions":
        return cls(args.to, args.allow_modified)


def _check_order_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION",
                   help="only the out-of-order migrations 'up --to VERSION' would apply")
    p.add_argument("--allow-modified", action="store_true",
                   help="replay changed applied files as they are now, instead of refusing")


def _prove(ctx: "Context", m: "Migrator", to: str | None, allow_modified: bool) -> "OrderProof":
    from migrator.dba.order import prove_order

    proof = prove_order(m.url, m.migrations_dir, m.table, to=to, allow_modified=allow_modified,
                        variables=ctx.variables())
    if proof.scratch:
        ctx.reporter.say(f"replayed in the scratch {', '.join(proof.scratch)}, "
                         "dropped afterwards")
    return proof


def check_order(ctx: "Context", opts: CheckOrderOptions) -> ExitCode:
    from migrator.output import dump_json

    proof = _prove(ctx, ctx.migrator(), opts.to, opts.allow_modified)
    if ctx.json:
        dump_json(proof.to_json())
    else:
        ctx.out(proof.summary() + "\n")
        if proof.difference:
            ctx.out(proof.difference + "\n")
    return ExitCode.OK if proof.equal else ExitCode.DRIFT


def proven_order(
    ctx: "Context", m: "Migrator", to: str | None, allow_modified: bool
) -> "tuple[ProvenOrder | bool, OrderProof]":
    """For ``up --prove-order``: what ``up`` may apply out of order, or DriftError."""
    from migrator.errors import DriftError

    proof = _prove(ctx, m, to, allow_modified)
    if not proof.late:
        return False, proof  # nothing late: up judges as it always does
    if not proof.equal:
        raise DriftError(
            f"{proof.summary()}; nothing was run:\n{proof.difference}",
            [{"version": x.version, "file": x.up.path, "kind": "out-of-order"}
             for x in proof.late])
    ctx.reporter.say(proof.summary())
    return proof.proven, proof


COMMANDS: dict[str, Command] = {
    "check-order": command(
        _check_order_parser,
        CheckOrderOptions.from_args, check_order,
        examples=("migrator check-order -u postgres://db/app",
                  "migrator check-order --json | jq .difference",
                  "migrator up --prove-order   # prove, then apply them if it holds"),
        exits=(("0", "nothing is out of order, or the order does not change the schema"),
               ("1", "the applied migrations fail in a scratch space: nothing to compare"),
               ("3", "the order changes the schema (printed as a diff), or drift")),
    ),
}
