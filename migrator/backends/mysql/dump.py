"""``migrator dump`` for MySQL/MariaDB: mysqldump's text, made stable.

mysqldump (mariadb-dump) knows every object kind and option a catalog walk
could miss, so it is preferred; its run-to-run noise (``AUTO_INCREMENT=N``)
is stripped so two dumps of the same schema are the same bytes. Without it
the dump is the server's own SHOW CREATE text from the catalog walker, in
kind and name order. The applied migrations follow as INSERTs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from migrator.backends.mysql.walker import AUTO_INCREMENT, own_tables, walk
from migrator.errors import ConfigError
from migrator.files import version_key
from migrator.state import StateSql, render_dump, squeeze

if TYPE_CHECKING:
    from migrator.backends.mysql.connection import MysqlConnection

NOW = "DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%s.000Z')"
TOOL_TIMEOUT = 300


def dump(backend: MysqlConnection) -> str:
    """The dump text of the database ``backend`` is connected to."""
    applied = sorted(backend.applied(), key=lambda r: (version_key(r.version), r.version))
    state = StateSql(backend.sql.bare_name, quote_char="`")
    body = _body(backend, state.bare_name)
    create = state.create("VARCHAR(255)", "VARCHAR(191)") + " ENGINE=InnoDB"
    return render_dump(body, create, state, applied, NOW)


def _body(backend: MysqlConnection, bare: str) -> str:
    tool = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    if tool is None:
        return _show_create(backend)
    db = backend.database
    p = backend.params
    argv = [tool, "--no-data", "--skip-comments", "--skip-dump-date", "--routines",
            "--triggers", "--skip-add-drop-table", "--skip-lock-tables",
            f"--user={p['user']}", "--default-character-set=utf8mb4"]
    argv += ([f"--socket={p['unix_socket']}"] if p.get("unix_socket")
             else [f"--host={p['host']}", f"--port={p['port']}", "--protocol=TCP"])
    argv += [f"--ignore-table={db}.{name}" for name in sorted(own_tables(bare))]
    argv += ["--", db]
    # the password goes in the environment, not argv, which 'ps' shows everyone
    env = {**os.environ, "MYSQL_PWD": str(p.get("password") or "")}
    text = _run(argv, env, os.path.basename(tool))
    return squeeze([AUTO_INCREMENT.sub("", ln) for ln in text.splitlines()])


def _run(argv: list[str], env: dict[str, str], tool: str) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                              timeout=TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{tool} could not be run: {exc}") from exc
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split())[:500]
        raise ConfigError(f"{tool} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def _show_create(backend: MysqlConnection) -> str:
    """Without mysqldump: SHOW CREATE for every object, by kind and name."""
    out: list[str] = ["SET FOREIGN_KEY_CHECKS = 0;", ""]  # keys may name tables sorted later
    for obj in walk(backend, events=False):
        text = AUTO_INCREMENT.sub("", obj.sql) if obj.kind in ("table", "view", "sequence") \
            else obj.sql
        out += [text + ";", ""]
    out.append("SET FOREIGN_KEY_CHECKS = 1;")
    return "\n".join(out)
