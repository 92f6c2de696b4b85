"""PostgreSQL's client programs (pg_dump, psql), found and run for the catalog.

pg_dump knows every object kind a hand-written catalog walk would miss, so
``dump``, ``rebuild_script`` and ``copy`` lean on it. A password goes in the
environment, never in argv, which ``ps`` shows everyone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from migrator.errors import ConfigError

TOOL_TIMEOUT = 300
_VERSION = re.compile(r"(\d+)(?:\.\d+)?")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def usable(tool: str, server_version: int) -> str | None:
    """The tool's path, if installed and not older than the server's major version
    (pg_dump refuses a newer server)."""
    path = shutil.which(tool)
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False,
                         timeout=60).stdout
    match = _VERSION.search(out)
    return path if match and int(match.group(1)) >= server_version // 10000 else None


def need(tool: str, server_version: int, what: str) -> str:
    path = usable(tool, server_version)
    if path is None:
        raise ConfigError(
            f"{what} needs PostgreSQL's {tool} (version {server_version // 10000} or newer) "
            "on the PATH; install the PostgreSQL client tools (e.g. the postgresql-client "
            "package)")
    return path


def connection(conninfo: str, dbname: str | None = None) -> tuple[str, dict[str, str]]:
    """(--dbname argument, environment) for a client tool; the password goes in the env."""
    params: dict[str, Any] = conninfo_to_dict(conninfo)
    if dbname is not None:
        params["dbname"] = dbname
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def run(argv: list[str], env: dict[str, str], tool: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT,
                          check=False)
    if proc.returncode != 0:
        raise ConfigError(f"{tool} failed (exit {proc.returncode}): {_detail(proc.stderr)}")
    return proc.stdout


def pipe(dump: list[str], restore: list[str], env: dict[str, str]) -> None:
    """``pg_dump ... | psql ...``, both checked. Only the consumer holds the pipe's read
    end, so a consumer that dies stops the producer (SIGPIPE) instead of blocking it."""
    with tempfile.TemporaryFile() as dump_err, \
            subprocess.Popen(dump, stdout=subprocess.PIPE, stderr=dump_err,
                             env=env) as producer:
        assert producer.stdout is not None
        with subprocess.Popen(restore, stdin=producer.stdout, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env) as consumer:
            producer.stdout.close()
            _out, restore_err = consumer.communicate(timeout=TOOL_TIMEOUT)
        producer.wait(timeout=TOOL_TIMEOUT)
        dump_err.seek(0)
        dumped = dump_err.read().decode(errors="replace")
    if producer.returncode != 0:
        raise ConfigError(f"pg_dump failed (exit {producer.returncode}): {_detail(dumped)}")
    if consumer.returncode != 0:
        raise ConfigError(f"psql failed (exit {consumer.returncode}): "
                          f"{_detail(restore_err.decode(errors='replace'))}")


def _detail(stderr: str) -> str:
    return " ".join(stderr.split())[:500]
