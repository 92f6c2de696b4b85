"""The CLI's fast parse (only the guessed command's sub-parser) answers exactly as the full one.

``cli.parse_args`` first tries a parser that knows one command and falls back
to ``build_parser()`` for anything it cannot settle; these tests pin both
halves: same namespaces and same messages, and the shortcut really is taken.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clihelp import TIMEOUT, Result, clean_env

from migrator.cli import parsing as cli

# Parse cleanly; (command the pre-scan must guess, or None if only the full parser can tell).
VALID: list[tuple[list[str], str | None]] = [
    (["status"], "status"),
    (["status", "--url", "sqlite:///x.db"], "status"),
    (["status", "--exit-code", "--json"], "status"),
    (["status", "--exit"], "status"),
    (["--json", "status"], "status"),
    (["-u", "sqlite:///x.db", "status", "--json", "-q"], "status"),
    (["status", "-v", "--no-color", "-d", "sql", "--migrations-table", "t"], "status"),
    (["--url=sqlite:///x.db", "--migrations-dir=sql", "status"], "status"),
    (["--migrations-table=t", "--lock-timeout=5", "status"], "status"),
    (["-usqlite:///x.db", "-dsql", "status"], "status"),
    (["-qv", "status"], "status"),
    (["-qu", "sqlite:///x.db", "status"], "status"),
    (["-vdsql", "status"], "status"),
    (["-d", "status", "status"], "status"),
    (["--url", "up", "up"], "up"),
    (["-d", "down", "--url", "redo", "redo"], "redo"),
    (["--migrations-dir", "up", "status", "--url", "up"], "status"),
    (["status", "--migrations-d", "x", "--ur", "y", "--lock", "3"], "status"),
    (["--lock-timeout", "2.5", "status"], "status"),
    (["new", "add_users"], "new"),
    (["new", "x", "--layout", "dir"], "new"),
    (["new", "--layout=dir", "status"], "new"),
    (["up"], "up"),
    (["up", "--to", "20260101000000", "--dry-run", "--allow-modified", "--allow-out-of-order",
      "--single-transaction", "--dump", "schema.sql"], "up"),
    (["up", "--dry", "--allow-m", "--dump=s.sql", "--json"], "up"),
    (["down"], "down"),
    (["down", "--steps", "3"], "down"),
    (["down", "--to", "20260101000000", "--allow-modified"], "down"),
    (["down", "--all", "--dry-run", "--dump=f.sql"], "down"),
    (["redo"], "redo"),
    (["redo", "--steps", "2"], "redo"),
    (["verify", "--json"], "verify"),
    (["baseline", "20260101000000"], "baseline"),
    (["unlock", "-q"], "unlock"),
    (["repair", "20260101000000", "--applied"], "repair"),
    (["repair", "--rolled-back", "20260101000000"], "repair"),
    (["wait"], "wait"),
    (["wait", "--timeout", "1.5"], "wait"),
    (["check", "--strict"], "check"),
    (["test", "--from-db", "sqlite:///a.db"], "test"),
    (["rehearse", "--to", "1", "--allow-modified", "--allow-out-of-order"], "rehearse"),
    (["dump", "-o", "out.sql"], "dump"),
    (["dump", "-oout.sql", "--url", "sqlite:///x.db"], "dump"),
    (["adopt", "--from", "goose", "--source-table", "t", "--dry-run"], "adopt"),
    (["convert", "--from", "dbmate", "src", "dst", "--dry-run"], "convert"),
    (["squash", "--to", "5", "--name", "n", "--history-only", "--dry-run"], "squash"),
    (["hash", "--json"], "hash"),
    (["-u", "a", "rebase", "1", "2", "-u", "b", "--dry-run"], "rebase"),
    (["migrate", "--wait", "--wait-timeout", "5"], "migrate"),
    (["rollback", "--steps", "2", "--dump", "s.sql"], "rollback"),
    (["up", "--wait"], "up"),
    (["--env-file", "x.env", "status"], "status"),
    (["--env-file=x.env", "--no-env-file", "up"], "up"),
    (["status", "--no-env-file", "--env-file", "y.env"], "status"),
    (["check", "--dialect", "postgres", "--strict"], "check"),
    (["completion", "bash"], "completion"),
    (["-q", "completion", "fish"], "completion"),
    # Fooled pre-scans: an abbreviated global option takes the next token as its value.
    (["--migrations-d", "up", "status"], None),
    (["--ur", "status", "up", "--dry-run"], None),
    (["--url", "x", "--migrations-d", "up", "status"], None),
]

# Usage errors (exit 2).
USAGE_ERRORS: list[list[str]] = [
    [],
    ["bogus"],
    ["statu"],
    ["-x", "status"],
    ["status", "--bogus"],
    ["status", "-qx"],
    ["status", "extra"],
    ["status", "--url"],
    ["--url"],
    ["-d", "status"],
    ["--mig", "x", "status"],
    ["status", "--mig", "x"],
    ["up", "--allow", "x"],
    ["new"],
    ["new", "x", "--layout", "zip"],
    ["baseline"],
    ["repair", "1"],
    ["repair", "1", "--applied", "--rolled-back"],
    ["down", "--steps", "2", "--all"],
    ["down", "--steps", "0"],
    ["down", "--steps", "x"],
    ["redo", "--steps", "-1"],
    ["wait", "--timeout", "abc"],
    ["adopt"],
    ["adopt", "--from", "nope"],
    ["convert", "--from", "goose", "src"],
    ["squash"],
    ["rebase"],
    ["hash", "extra"],
    ["--json", "status", "--bogus"],
    ["--json", "bogus"],
    ["--json", "up", "--up", "up"],
    ["--ver"],
    ["status", "--version"],
    ["status", "-q", "--vers"],
    ["squash", "--h"],
    ["completion"],
    ["completion", "tcsh"],
    ["migrate", "--wait-timeout", "x"],
    ["rollback", "--steps", "0"],
    ["rollback", "--all", "--to", "1"],
    ["--env-file"],
    ["status", "--env-file"],
    ["check", "--dialect"],
    ["--json", "migrate", "--bogus"],
]

# Print help or the version and exit 0.
HELP_OR_VERSION: list[list[str]] = [
    ["--help"],
    ["-h"],
    ["-qh"],
    ["--he"],
    ["--json", "--help"],
    ["-q", "-h", "--no-color", "--no-env-file"],
    ["--help", "-v", "--help"],
    ["status", "--help"],
    ["status", "-h"],
    ["status", "-qh"],
    ["status", "--he"],
    ["up", "--dry-run", "--help"],
    ["--json", "status", "--help"],
    ["migrate", "--help"],
    ["rollback", "-h"],
    ["completion", "--help"],
    ["--version"],
    ["--vers"],
    ["-q", "--vers", "status"],
]

FAILING = USAGE_ERRORS + HELP_OR_VERSION

# The real entry point with the pre-scan switched off: what the CLI printed before.
_FULL_MAIN = (
    "import functools, sys\n"
    "from migrator import cli\n"
    "cli.parse_args = functools.partial(cli.parse_args, fast=False)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def _id(value: object) -> str:
    return " ".join(value) or "(none)" if isinstance(value, list) else str(value)


def _outcome(parse: Callable[[list[str]], argparse.Namespace], argv: list[str]) -> Any:
    try:
        return vars(parse(argv))
    except cli.UsageError as exc:
        return ("usage", exc.parser.prog, exc.message, exc.parser.format_usage())


def _full(argv: list[str]) -> argparse.Namespace:
    return cli.build_parser().parse_args(argv)


def _run(cwd: Path, *command: str) -> Result:
    proc = subprocess.run(
        [sys.executable, *command], cwd=cwd, env=clean_env(COLUMNS="100"),
        capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(("argv", "command"), VALID, ids=_id)
def test_same_namespace_as_full_parser(argv: list[str], command: str | None) -> None:
    expected = _full(argv)
    assert vars(cli.parse_args(argv)) == vars(expected)
    assert cli.guess_command(argv) == command
    if command is not None:  # the shortcut alone gets it right, no fallback needed
        assert vars(cli.build_parser(only=command).parse_args(argv)) == vars(expected)


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=_id)
def test_same_usage_error_in_process(argv: list[str]) -> None:
    full = _outcome(_full, argv)
    assert full[0] == "usage"
    assert _outcome(cli.parse_args, argv) == full


@pytest.mark.parametrize("argv", FAILING, ids=_id)
def test_slim_parser_never_prints(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    guess = cli.guess_command(argv)
    if guess is None:
        return
    with pytest.raises(cli.Fallback):
        cli.build_parser(only=guess).parse_args(argv)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("argv", FAILING, ids=_id)
def test_same_output_and_exit_code_as_full_parser(tmp_path: Path, argv: list[str]) -> None:
    fast = _run(tmp_path, "-m", "migrator", *argv)
    full = _run(tmp_path, "-c", _FULL_MAIN, *argv)
    assert fast == full
    assert fast.code == (0 if argv in HELP_OR_VERSION else 2), fast
    assert "Traceback" not in fast.err, fast


def test_status_builds_only_its_own_sub_parser(tmp_path: Path) -> None:
    slim = cli.build_parser(only="status")
    sub = next(a for a in slim._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == ["status"]
    probe = (
        "import sys\n"
        "from migrator import cli\n"
        "args = cli.parse_args(['status', '--url', 'sqlite:///x.db'])\n"
        "print(args.command, *sorted(m for m in sys.modules if m.startswith('migrator.cli.')))\n"
    )
    r = _run(tmp_path, "-c", probe)
    # the full parser imports every command module (admin, apply, prove, ...)
    expected = ("status migrator.cli.catalog migrator.cli.command migrator.cli.options "
                "migrator.cli.parsing migrator.cli.report\n")
    assert (r.code, r.out) == (0, expected), r


def test_full_parser_lists_every_command() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == [
        "new", "hash", "rebase", "up", "migrate", "down", "rollback", "redo", "status",
        "verify", "baseline", "unlock", "repair", "wait", "create", "drop", "load", "check",
        "test", "rehearse", "check-order", "dump", "adopt", "convert", "squash", "diff",
        "drift", "completion",
    ]
