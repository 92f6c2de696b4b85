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

from contract.backends import BACKENDS, MY_ENV, PG_ENV, REQUIRE_ENV, Server, usable

ROOT = Path(__file__).resolve().parents[2]
PROBE = "test_baseline_records_without_running"


def test_every_backend_runs_from_a_fresh_shell_without_the_variables() -> None:
    for backend in BACKENDS:
        if isinstance(backend, Server):
            usable(backend)  # a server that is down here skips this too, loudly
    here = [b for b in BACKENDS if b.unavailable() is None]
    env = {k: v for k, v in clean_env().items()
           if k not in (PG_ENV, MY_ENV, REQUIRE_ENV) and not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rs",
         "tests/contract/test_lifecycle.py", "-k", PROBE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for backend in here:  # every server among them, collected and run, not skipped
        assert f"{PROBE}[{backend.name}] PASSED" in done.stdout, done.stdout
    assert f"{len(here)} passed" in done.stdout, done.stdout
