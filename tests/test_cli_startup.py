"""What ``migrator --help`` and ``migrator status`` import: only what they use.

bench/run.py times start-up; this pins the import set behind it, so a heavy
module (a driver, sqlparse, json, the engine, another command's module) that
slips onto the start-up path fails a test rather than only a benchmark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clihelp import TIMEOUT, clean_env

HEAVY = ("sqlparse", "json", "tomllib", "dataclasses", "logging", "psycopg", "pymysql",
         "pglast", "duckdb", "dotenv", "click")


def _imported(cwd: Path, *args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "migrator", *args],
                          cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_help_imports_no_engine_and_no_database_code(tmp_path: Path) -> None:
    modules = _imported(tmp_path, "--help")
    assert _heavy(modules) == []
    assert sorted(m for m in modules if m.startswith(("migrator.backends", "migrator.api",
                                                      "migrator.engine", "migrator.dba",
                                                      "migrator.output", "hashlib"))) == []
    # the command list and its one-line help come from the catalog: no command module
    assert sorted(m for m in modules if m.startswith("migrator.cli.")) == [
        "migrator.cli.catalog", "migrator.cli.options", "migrator.cli.parsing"]


def test_status_imports_only_its_own_command_module(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    modules = _imported(tmp_path, "status", "--url", "sqlite:///app.db")
    assert _heavy(modules) == []
    assert sorted(m for m in modules if m.startswith("migrator.cli.")) == [
        "migrator.cli.catalog", "migrator.cli.command", "migrator.cli.context",
        "migrator.cli.options", "migrator.cli.parsing", "migrator.cli.report"]
    for module in ("migrator.engine", "migrator.splitting", "migrator.dba",
                   "migrator.backends.sqlite.split"):
        assert module not in modules


def test_status_reads_a_dotenv_file_only_when_there_is_one(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///app.db\n")
    modules = _imported(tmp_path, "status")
    assert "migrator.cli.envfile" in modules
    assert _heavy(modules) == []
