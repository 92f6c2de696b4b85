"""``migrator dump`` text for a PostgreSQL schema: pg_dump's, made stable.

pg_dump's run-to-run noise (its random ``\\restrict`` key, version comments) is
stripped so two dumps of the same schema are the same bytes. Without a usable
pg_dump the dump falls back to the server's own pg_get_*def text in name order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from migrator.backends.postgres import tools
from migrator.backends.postgres.tools import ident
from migrator.files import version_key
from migrator.state import StateSql, render_dump, squeeze

if TYPE_CHECKING:
    from migrator.backends.postgres.session import PgSession

NOW = "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
NOISE = re.compile(r"^(?:\\restrict |\\unrestrict |-- Dumped (?:from|by) )")


def dump_text(backend: PgSession, schema: str) -> str:
    """The schema's objects, then the bookkeeping table with its rows as INSERTs."""
    applied = sorted(backend.applied(), key=lambda r: (version_key(r.version), r.version))
    table = backend.sql.table
    # the objects live in the URL's schema; the table may name a schema of its own
    table_schema = StateSql(table).table.rpartition(".")[0] or schema
    state = StateSql(f"{table_schema}.{StateSql(table).bare_name}")
    own = state.bare_name if table_schema == schema else ""
    body = _body(backend, schema, own)
    create = state.create()
    if table_schema != schema:
        create = f"CREATE SCHEMA IF NOT EXISTS {ident(table_schema)};\n{create}"
    return render_dump(body, create, state, applied, NOW)


def _body(backend: PgSession, schema: str, bare: str) -> str:
    tool = tools.usable("pg_dump", int(backend.conn.info.server_version))
    if tool is None:
        return _catalog_text(backend, schema, bare)
    argv = [tool, "--schema-only", "--no-owner", "--no-privileges",
            f"--schema={ident(schema)}"]
    if bare:
        argv.append(f"--exclude-table={ident(schema)}.{ident(bare)}")
    dbname, env = tools.connection(backend.settings.conninfo)
    argv.append(f"--dbname={dbname}")
    text = tools.run(argv, env, "pg_dump")
    return squeeze([ln for ln in text.splitlines() if not NOISE.match(ln)])


def _catalog_text(backend: PgSession, schema: str, bare: str) -> str:
    """Without pg_dump: columns, constraints, indexes, views and functions by name."""
    q = backend.conn.execute
    out: list[str] = [f"CREATE SCHEMA IF NOT EXISTS {ident(schema)};",
                      f"SET search_path TO {ident(schema)};", ""]
    foreign: list[str] = []
    tables = [r[0] for r in q(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname <> %s ORDER BY 1",
        (schema, bare)).fetchall()]
    for name in tables:
        qualified = f"{ident(schema)}.{ident(name)}"
        cols = q(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum", (qualified,)).fetchall()
        defs = [f"    {ident(c)} {t}" + (" NOT NULL" if nn else "")
                + (f" DEFAULT {d}" if d is not None else "") for c, t, nn, d in cols]
        cons = q(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY contype, conname", (qualified,)).fetchall()
        defs += [f"    CONSTRAINT {ident(c)} {d}" for c, t, d in cons if t != "f"]
        out += [f"CREATE TABLE {qualified} (", ",\n".join(defs), ");", ""]
        # after every table, as pg_dump does: a key may name a table sorted later
        foreign += [f"ALTER TABLE {qualified} ADD CONSTRAINT {ident(c)} {d};"
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
        out += [f"CREATE VIEW {ident(schema)}.{ident(name)} AS",
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
