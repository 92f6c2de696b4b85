"""``migrator dump`` on PostgreSQL and MySQL/MariaDB: the server's own dump tool, made stable.

pg_dump and mysqldump know every object kind a hand-written catalog walk would
miss, so they are preferred; their run-to-run noise (pg_dump's random
``\\restrict`` key and version comments, ``AUTO_INCREMENT=N``) is stripped so two
dumps of the same schema are the same bytes. Without a usable tool the dump
falls back to the server's own SHOW CREATE / pg_get_*def text in name order.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

from migrator.backends import open_backend
from migrator.errors import ConfigError
from migrator.files import version_key
from migrator.state import AppliedMigration, StateSql, sql_literal

HEADER = "-- schema dump written by 'migrator dump'; do not edit"
PG_NOW = "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
MY_NOW = "DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%s.000Z')"
TOOL_TIMEOUT = 300
_PG_NOISE = re.compile(r"^(?:\\restrict |\\unrestrict |-- Dumped (?:from|by) )")
_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")


def dump_server(url: str, table: str) -> str:
    """The dump text of the PostgreSQL schema or MySQL/MariaDB database at ``url``."""
    backend: Any = open_backend(url, table=table, readonly=True, busy_timeout=30.0)
    try:
        applied = sorted(backend.applied(), key=lambda r: (version_key(r.version), r.version))
        if backend.name == "postgres":
            # the objects live in the URL's schema; the table may name a schema of its own
            schema = _pg_schema(backend)
            table_schema = StateSql(table).table.rpartition(".")[0] or schema
            state = StateSql(f"{table_schema}.{StateSql(table).bare_name}")
            own = state.bare_name if table_schema == schema else ""
            body = _pg_body(backend, schema, own)
            create, now = state.create(), PG_NOW
            if table_schema != schema:
                create = f"CREATE SCHEMA IF NOT EXISTS {_pg_ident(table_schema)};\n{create}"
        else:
            state = StateSql(StateSql(table).bare_name, quote_char="`")
            body = _my_body(backend, state.bare_name)
            create = state.create("VARCHAR(255)", "VARCHAR(191)") + " ENGINE=InnoDB"
            now = MY_NOW
    finally:
        backend.close()
    return _render(body, create, state, applied, now)


def _render(body: str, create: str, state: StateSql, applied: list[AppliedMigration],
            now: str) -> str:
    out = [HEADER, "", body.strip("\n"), "", "-- applied migrations", create + ";"]
    columns = "version, name, checksum, applied_at, duration_ms"
    for row in applied:
        values = ", ".join([sql_literal(row.version), sql_literal(row.name),
                            sql_literal(row.checksum), now, "0"])
        out.append(f"INSERT INTO {state.qualified} ({columns}) VALUES ({values});")
    return "\n".join(out) + "\n"


def _run(argv: list[str], env: dict[str, str], tool: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT,
                          check=False)
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split())[:500]
        raise ConfigError(f"{tool} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def _squeeze(lines: list[str]) -> str:
    """Blank-line runs left where noise was removed collapse to one."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out)


# -- PostgreSQL -----------------------------------------------------------------

def _pg_schema(backend: Any) -> str:
    schema = backend.settings.first_schema
    if schema:
        return str(schema)
    return str(backend.conn.execute("SELECT current_schema()").fetchone()[0])


def _pg_dump_usable(server_version: int) -> str | None:
    """pg_dump refuses a server of a newer major version than its own."""
    path = shutil.which("pg_dump")
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False,
                         timeout=60).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return path if match and int(match.group(1)) >= server_version // 10000 else None


def _pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_body(backend: Any, schema: str, bare: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    tool = _pg_dump_usable(int(backend.conn.info.server_version))
    if tool is None:
        return _pg_catalog(backend, schema, bare)
    argv = [tool, "--schema-only", "--no-owner", "--no-privileges",
            f"--schema={_pg_ident(schema)}"]
    if bare:
        argv.append(f"--exclude-table={_pg_ident(schema)}.{_pg_ident(bare)}")
    params = conninfo_to_dict(backend.settings.conninfo)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    password = params.pop("password", None)
    if password is not None:  # the environment, not argv, which 'ps' shows everyone
        env["PGPASSWORD"] = str(password)
    argv.append(f"--dbname={make_conninfo('', **params)}")
    text = _run(argv, env, "pg_dump")
    return _squeeze([ln for ln in text.splitlines() if not _PG_NOISE.match(ln)])


def _pg_catalog(backend: Any, schema: str, bare: str) -> str:
    """Without pg_dump: columns, constraints, indexes, views and functions by name."""
    q = backend.conn.execute
    out: list[str] = [f"CREATE SCHEMA IF NOT EXISTS {_pg_ident(schema)};",
                      f"SET search_path TO {_pg_ident(schema)};", ""]
    foreign: list[str] = []
    tables = [r[0] for r in q(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname <> %s ORDER BY 1",
        (schema, bare)).fetchall()]
    for name in tables:
        cols = q(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum", (f"{_pg_ident(schema)}.{_pg_ident(name)}",)).fetchall()
        defs = [f"    {_pg_ident(c)} {t}" + (" NOT NULL" if nn else "")
                + (f" DEFAULT {d}" if d is not None else "") for c, t, nn, d in cols]
        cons = q(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY contype, conname",
            (f"{_pg_ident(schema)}.{_pg_ident(name)}",)).fetchall()
        defs += [f"    CONSTRAINT {_pg_ident(c)} {d}" for c, t, d in cons if t != "f"]
        qualified = f"{_pg_ident(schema)}.{_pg_ident(name)}"
        out += [f"CREATE TABLE {qualified} (", ",\n".join(defs), ");", ""]
        # after every table, as pg_dump does: a key may name a table sorted later
        foreign += [f"ALTER TABLE {qualified} ADD CONSTRAINT {_pg_ident(c)} {d};"
                    for c, t, d in cons if t == "f"]
    out += [*foreign, ""] if foreign else []
    for (indexdef,) in q(
            "SELECT indexdef FROM pg_indexes i WHERE schemaname = %s AND tablename <> %s "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE n.nspname = i.schemaname "
            "AND c.conname = i.indexname) ORDER BY tablename, indexname",
            (schema, bare)).fetchall():
        out += [f"{indexdef};", ""]
    for name, definition in q(
            "SELECT viewname, definition FROM pg_views WHERE schemaname = %s ORDER BY 1",
            (schema,)).fetchall():
        out += [f"CREATE VIEW {_pg_ident(schema)}.{_pg_ident(name)} AS",
                str(definition).rstrip().rstrip(";") + ";", ""]
    for (definition,) in q(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.prokind IN ('f', 'p') "
            "ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)",
            (schema,)).fetchall():
        out += [str(definition).rstrip() + ";", ""]
    for (definition,) in q(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c "
            "ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname",
            (schema,)).fetchall():
        out += [f"{definition};", ""]
    return "\n".join(out)


# -- MySQL / MariaDB ------------------------------------------------------------

def _my_body(backend: Any, bare: str) -> str:
    db = str(backend.database)
    skip = [bare, f"{bare}_state", f"{bare}_lock"]
    tool = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    if tool is None:
        return _my_show_create(backend, skip)
    p = backend.params
    argv = [tool, "--no-data", "--skip-comments", "--skip-dump-date", "--routines",
            "--triggers", "--skip-add-drop-table", "--skip-lock-tables",
            f"--user={p['user']}", "--default-character-set=utf8mb4"]
    argv += ([f"--socket={p['unix_socket']}"] if p.get("unix_socket")
             else [f"--host={p['host']}", f"--port={p['port']}", "--protocol=TCP"])
    argv += [f"--ignore-table={db}.{name}" for name in skip]
    argv += ["--", db]
    env = {**os.environ, "MYSQL_PWD": str(p.get("password") or "")}
    text = _run(argv, env, os.path.basename(tool))
    return _squeeze([_AUTO_INCREMENT.sub("", ln) for ln in text.splitlines()])


def _my_show_create(backend: Any, skip: list[str]) -> str:
    """Without mysqldump: SHOW CREATE for every object, by kind and name."""
    q = backend._query
    out: list[str] = ["SET FOREIGN_KEY_CHECKS = 0;", ""]  # keys may name tables sorted later
    objects = q("SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = DATABASE() ORDER BY table_type, table_name")
    for name, kind in objects:
        if name in skip:
            continue
        what = "VIEW" if kind == "VIEW" else "TABLE"
        row = q(f"SHOW CREATE {what} `{name}`")[0]
        out += [_AUTO_INCREMENT.sub("", str(row[1])) + ";", ""]
    for (name,) in q("SELECT trigger_name FROM information_schema.triggers "
                     "WHERE trigger_schema = DATABASE() ORDER BY 1"):
        out += [str(q(f"SHOW CREATE TRIGGER `{name}`")[0][2]) + ";", ""]
    for name, kind in q("SELECT routine_name, routine_type FROM information_schema.routines "
                        "WHERE routine_schema = DATABASE() ORDER BY 2, 1"):
        out += [str(q(f"SHOW CREATE {kind} `{name}`")[0][2]) + ";", ""]
    out.append("SET FOREIGN_KEY_CHECKS = 1;")
    return "\n".join(out)
