"""Argument parsers for the DBA commands; argparse only, so start-up stays light."""

from __future__ import annotations

import argparse
from collections.abc import Callable

ADOPT_TOOLS = ("dbmate", "golang-migrate", "goose", "sqlx", "diesel", "flyway")
CONVERT_TOOLS = ("dbmate", "goose", "flyway", "sqlx")

Populate = Callable[[argparse.ArgumentParser], None]


def _check(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 2)")
    p.add_argument("--dialect", metavar="NAME",
                   help="split as sqlite, postgres or mysql does; default: the URL's, else sqlite")


def _test(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from-db", metavar="URL",
                   help="start from a copy of this database instead of an empty one")


def _rehearse(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION", help="stop after this version")
    p.add_argument("--allow-modified", action="store_true",
                   help="run even if applied files changed or disappeared")
    p.add_argument("--allow-out-of-order", action="store_true",
                   help="apply pending migrations older than the newest applied one")


def _dump(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def _adopt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="tool", required=True, choices=ADOPT_TOOLS)
    p.add_argument("--source-table", metavar="NAME",
                   help="the other tool's table, if not its default name")
    p.add_argument("--dry-run", action="store_true", help="show what would be recorded")


def _convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="tool", required=True, choices=CONVERT_TOOLS)
    p.add_argument("source", metavar="SRC", help="the other tool's migrations directory")
    p.add_argument("dest", metavar="DEST", help="new directory for migrator's files")
    p.add_argument("--dry-run", action="store_true", help="list the files; write nothing")


def _squash(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="VERSION", required=True,
                   help="the newest migration to squash; the new file takes its version")
    p.add_argument("--name", default="squashed", help="name of the new migration")
    p.add_argument("--dry-run", action="store_true", help="build and prove it; write nothing")
    p.add_argument("--history-only", action="store_true",
                   help="on a database that applied the old migrations, turn their rows "
                        "into the squashed migration's row (run after squashing the files)")


# name -> (help, fills in the command's own options); the order is the order of --help.
COMMANDS: dict[str, tuple[str, Populate]] = {
    "check": ("check every migration file for problems; no database needed", _check),
    "test": ("apply, roll back and re-apply each migration on a scratch database", _test),
    "rehearse": ("run 'up' on a temporary copy of the database, then discard it", _rehearse),
    "dump": ("print the schema and applied versions as deterministic SQL", _dump),
    "adopt": ("record what another tool applied as applied in migrator's table", _adopt),
    "convert": ("rewrite another tool's migration files into migrator's layout", _convert),
    "squash": ("replace every migration up to VERSION by one equivalent migration", _squash),
}

