"""Fixtures shared by every test module; keep them small and general."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from clihelp import MakeMigrations


def pytest_configure(config: pytest.Config) -> None:
    """Point the server variables at the local servers that answer, when they are unset.

    So the README's plain ``pytest`` runs every server test, also those that
    read MIGRATOR_TEST_*_URL themselves (test_examples.py); a server that
    does not answer is left unset and its tests skip, loudly.
    """
    from contract.backends import BACKENDS, Server

    for backend in BACKENDS:
        if isinstance(backend, Server) and not os.environ.get(backend.env) \
                and backend.unavailable() is None:
            os.environ[backend.env] = backend.url()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``@pytest.mark.slow`` tests unless a ``-m`` expression asks for them."""
    if config.getoption("markexpr"):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly, at the end, that a server's tests did not run."""
    from contract.backends import UNAVAILABLE

    for name, reason in sorted(UNAVAILABLE.items()):
        terminalreporter.write_sep("!", f"{name.upper()} TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"{reason}; see README.md, Development")


@pytest.fixture
def make_migrations(tmp_path: Path) -> MakeMigrations:
    """Write ``{relative path: text or bytes}`` under a fresh migrations directory.

    Paths may contain '/' for the directory layout (``"0002_x/up.sql"``).
    Calling it again adds files to the same directory.
    """
    root = tmp_path / "migrations"
    root.mkdir(exist_ok=True)

    def make(files: Mapping[str, str | bytes]) -> Path:
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_bytes(content.encode("utf-8"))  # no newline translation
        return root

    return make
