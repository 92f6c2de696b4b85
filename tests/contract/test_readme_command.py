"""The README's test command, from a fresh shell, runs the server tests too.

Nothing but the local servers is needed: with neither
MIGRATOR_TEST_POSTGRES_URL nor MIGRATOR_TEST_MYSQL_URL set, the contract
suite is collected for every backend and its server tests run, not skip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clihelp import TIMEOUT, clean_env

from contract.backends import BACKENDS, MY_ENV, PG_ENV, REQUIRE_ENV, Backend

ROOT = Path(__file__).resolve().parents[2]


def fresh_shell_pytest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in clean_env().items()
           if k not in (PG_ENV, MY_ENV, REQUIRE_ENV) and not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def test_every_backend_is_collected_without_the_variables() -> None:
    done = fresh_shell_pytest("--collect-only", "-q", "tests/contract/test_lifecycle.py")
    assert done.returncode == 0, done.stdout + done.stderr
    for backend in BACKENDS:
        assert f"test_baseline_records_without_running[{backend.name}]" in done.stdout, \
            done.stdout


def test_server_tests_run_and_do_not_skip_without_the_variables(backend: Backend) -> None:
    done = fresh_shell_pytest("-q", "-rs", "tests/contract/test_lifecycle.py",
                              "-k", f"test_baseline_records_without_running and {backend.name}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "skipped" not in done.stdout, done.stdout
