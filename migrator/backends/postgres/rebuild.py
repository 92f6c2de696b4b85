"""``squash``'s rebuild script for a PostgreSQL schema: pg_dump's, made relocatable.

pg_dump orders every object kind by its dependencies and writes rows,
sequence values, identity columns and triggers in an order that restores;
what it cannot do is leave names unqualified. The script must rebuild the
schema wherever the migration runs (a scratch schema while squash proves
it), so every qualifier naming the dumped schema is removed, found by
PostgreSQL's own scanner: outside string literals, plus the ``'s.seq'``
literals of ``::regclass`` casts and ``setval``. Session settings pg_dump
writes are dropped, except ``check_function_bodies``, kept as ``SET LOCAL``
so it ends with the migration's transaction.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pglast.parser import Token, scan

from migrator.backends.postgres import tools
from migrator.backends.postgres.dump import NOISE
from migrator.backends.postgres.split import masked, statement_bounds
from migrator.backends.postgres.tools import ident

if TYPE_CHECKING:
    from migrator.backends.postgres.session import PgSession

_DROPPED = re.compile(r"(?:SET\s|SELECT\s+pg_catalog\.set_config\s*\(|CREATE\s+SCHEMA\s|"
                      r"COMMENT\s+ON\s+SCHEMA\s|ALTER\s+SCHEMA\s)", re.IGNORECASE)
_NO_BODY_CHECK = re.compile(r"SET\s+check_function_bodies\s*=\s*false", re.IGNORECASE)
_INSERT = re.compile(r"INSERT INTO ")
_IDENTS = frozenset({"IDENT"})
# Objects the down script drops, outermost first; CASCADE takes what hangs on them.
_DROPS = (
    ("MATERIALIZED VIEW", "SELECT quote_ident(c.relname) FROM pg_class c "
     "WHERE c.relnamespace = %(n)s::regnamespace AND c.relkind = 'm'"),
    ("VIEW", "SELECT quote_ident(c.relname) FROM pg_class c "
     "WHERE c.relnamespace = %(n)s::regnamespace AND c.relkind = 'v'"),
    ("FOREIGN TABLE", "SELECT quote_ident(c.relname) FROM pg_class c "
     "WHERE c.relnamespace = %(n)s::regnamespace AND c.relkind = 'f'"),
    ("TABLE", "SELECT quote_ident(c.relname) FROM pg_class c "
     "WHERE c.relnamespace = %(n)s::regnamespace AND c.relkind IN ('r', 'p') "
     "AND NOT c.relispartition AND c.relname <> %(t)s"),
    ("SEQUENCE", "SELECT quote_ident(c.relname) FROM pg_class c "
     "WHERE c.relnamespace = %(n)s::regnamespace AND c.relkind = 'S'"),
    ("AGGREGATE", "SELECT quote_ident(p.proname) || '(' || "
     "pg_get_function_identity_arguments(p.oid) || ')' FROM pg_proc p "
     "WHERE p.pronamespace = %(n)s::regnamespace AND p.prokind = 'a'"),
    ("ROUTINE", "SELECT quote_ident(p.proname) || '(' || "
     "pg_get_function_identity_arguments(p.oid) || ')' FROM pg_proc p "
     "WHERE p.pronamespace = %(n)s::regnamespace AND p.prokind IN ('f', 'p', 'w')"),
    ("DOMAIN", "SELECT quote_ident(t.typname) FROM pg_type t "
     "WHERE t.typnamespace = %(n)s::regnamespace AND t.typtype = 'd'"),
    ("TYPE", "SELECT quote_ident(t.typname) FROM pg_type t LEFT JOIN pg_class c "
     "ON c.oid = t.typrelid WHERE t.typnamespace = %(n)s::regnamespace "
     "AND t.typtype IN ('e', 'r', 'c', 'm') AND (c.oid IS NULL OR c.relkind = 'c') "
     "AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.oid = t.typelem "
     "AND a.typarray = t.oid)"),
    ("COLLATION", "SELECT quote_ident(c.collname) FROM pg_collation c "
     "WHERE c.collnamespace = %(n)s::regnamespace"),
)


def rebuild_script(backend: PgSession, schema: str, bare: str) -> tuple[str, str]:
    server_version = int(backend.conn.info.server_version)
    tool = tools.need("pg_dump", server_version, "'migrator squash' on PostgreSQL")
    # privileges stay: GRANTs are part of what the migrations did; owners are whoever runs it
    argv = [tool, "--no-owner", "--inserts", "--rows-per-insert=1000",
            "--no-publications", "--no-subscriptions", "--no-security-labels",
            f"--schema={ident(schema)}"]
    if bare:
        argv.append(f"--exclude-table={ident(schema)}.{ident(bare)}")
    dbname, env = tools.connection(backend.settings.conninfo)
    argv.append(f"--dbname={dbname}")
    text = "\n".join(ln for ln in tools.run(argv, env, "pg_dump").splitlines()
                     if not NOISE.match(ln))
    up: list[str] = []
    for first, end, _line in statement_bounds(text):
        sql = text[first:end]
        if _NO_BODY_CHECK.match(sql):
            up.insert(0, "SET LOCAL check_function_bodies = false;")
        elif not _DROPPED.match(sql):
            up.append(_relocatable(sql, schema))
    return "\n\n".join(up) + "\n", _down(backend, schema, bare)


def _relocatable(sql: str, schema: str) -> str:
    """The statement with every qualifier naming ``schema`` removed."""
    if sql.startswith("INSERT INTO "):  # rows: only the table name is SQL
        for prefix in (f"{ident(schema)}.", f"{schema}."):
            if sql.startswith(prefix, 12):
                return sql[:12] + sql[12 + len(prefix):]
        return sql
    tokens = [t for t in scan(masked(sql)) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    cuts: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        text = sql[token.start:token.end + 1]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after is not None and after.name == "ASCII_46" and after.start == token.end + 1 \
                and _names(token, text, schema):
            cuts.append((token.start, after.end + 1, ""))
        elif token.name == "SCONST" and _qualified_literal(tokens, i, sql):
            unqualified = _strip_literal(text, schema)
            if unqualified != text:
                cuts.append((token.start, token.end + 1, unqualified))
    for start, stop, replacement in reversed(cuts):
        sql = sql[:start] + replacement + sql[stop:]
    return sql


def _names(token: Token, text: str, schema: str) -> bool:
    if text.startswith('"'):
        return text == ident(schema)
    return (token.name in _IDENTS or token.kind != "NO_KEYWORD") and text.lower() == schema


def _qualified_literal(tokens: list[Token], i: int, sql: str) -> bool:
    """A literal naming an object: ``'s.seq'::regclass`` or ``setval('s.seq', ...)``."""
    if i + 2 < len(tokens) and tokens[i + 1].name == "TYPECAST":
        cast = tokens[i + 2]
        return sql[cast.start:cast.end + 1].lower() in ("regclass", "pg_catalog.regclass")
    return i >= 2 and tokens[i - 1].name == "ASCII_40" and \
        sql[tokens[i - 2].start:tokens[i - 2].end + 1].lower() == "setval"


def _strip_literal(text: str, schema: str) -> str:
    inner = text[1:-1].replace("''", "'")
    for prefix in (ident(schema) + ".", schema + "."):
        if inner.startswith(prefix):
            return "'" + inner[len(prefix):].replace("'", "''") + "'"
    return text


def _down(backend: PgSession, schema: str, bare: str) -> str:
    out: list[str] = []
    for kind, query in _DROPS:  # extension members go with their extension: left out
        rows = backend.conn.execute(
            f"{query} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.deptype = 'e' "
            "AND d.objid = " + _oid_of(query) + ") ORDER BY 1",
            {"n": ident(schema), "t": bare}).fetchall()
        out += [f"DROP {kind} IF EXISTS {name} CASCADE;" for (name,) in rows]
    return "\n".join(out) + ("\n" if out else "")


def _oid_of(query: str) -> str:
    alias = query.split(" FROM ", 1)[1].split()[1]  # "pg_class c" -> c
    return f"{alias}.oid"
