"""Helpers for the server-only tests, built on the contract suite's adapters.

``Server`` is one isolated namespace on a real server (see
``contract/backends.py``); the CLI runs through the one runner in
``clihelp``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from clihelp import TIMEOUT, Result, cli, start
from clihelp import cli_args as _migrator_args
from contract.backends import MY_ENV, PG_ENV, connect, with_query
from contract.backends import ServerDb as Server

CLI_TIMEOUT = TIMEOUT

__all__ = ["CLI_TIMEOUT", "MY_ENV", "PG_ENV", "Result", "Server", "cli_args", "connect",
           "run_cli", "start_cli", "with_query"]


def cli_args(url: str, directory: Path, *args: str) -> list[str]:
    return _migrator_args("-u", url, "-d", str(directory), *args)


def run_cli(url: str, directory: Path, *args: str, cwd: Path | None = None) -> Result:
    return cli(cwd or directory.parent, "-u", url, "-d", str(directory), *args)


def start_cli(url: str, directory: Path, *args: str) -> subprocess.Popen[str]:
    return start(directory.parent, "-u", url, "-d", str(directory), *args)
