"""Scratch namespaces on a server for ``migrator test``, and schema snapshots of them.

PostgreSQL gets a temporary schema in the user's database and MySQL/MariaDB a
temporary database, each named ``migrator_test_<random>`` and dropped in a
``finally``, so a failing migration leaves nothing behind. Snapshots come from
the catalogs, scoped to that namespace, with its name replaced by
``<schema>`` so a snapshot reads the same whatever the random name was.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from migrator.backends import scheme_of
from migrator.errors import ConfigError

SERVER_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb")
PLACEHOLDER = "<schema>"
_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")
_DEFINER = re.compile(r" DEFINER=`[^`]*`@`[^`]*`")


@dataclass(slots=True)
class Scratch:
    """Where the test run migrates, and how to read that place's schema as lines."""

    url: str
    table: str
    snapshot: Callable[[], list[str]]
    name: str = ""  # the server namespace's name, for the report; "" for a SQLite file


def is_server_url(url: str | None) -> bool:
    return bool(url) and scheme_of(url or "") in SERVER_SCHEMES


def scratch_name() -> str:
    return f"migrator_test_{secrets.token_hex(6)}"


def _with_search_path(url: str, schema: str) -> str:
    """The URL with ``search_path`` set to the scratch schema (and any ``schema=`` dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("search_path", "schema")]
    query.append(("search_path", schema))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query),
                       parts.fragment))


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@contextlib.contextmanager
def server_scratch(url: str, table: str) -> Iterator[Scratch]:
    """Create the scratch namespace, yield it, and drop it whatever happens."""
    bare = table.split(".")[-1]  # the bookkeeping table lives in the scratch namespace too
    if scheme_of(url) in ("postgres", "postgresql"):
        with _postgres_scratch(url, bare) as scratch:
            yield scratch
    else:
        with _mysql_scratch(url, bare) as scratch:
            yield scratch


# -- PostgreSQL ---------------------------------------------------------------

@contextlib.contextmanager
def _postgres_scratch(url: str, table: str) -> Iterator[Scratch]:
    name = scratch_name()
    from migrator.backends.postgres.backend import PostgresBackend

    admin = PostgresBackend(url, table=table, readonly=True, busy_timeout=10.0)
    conn: Any = admin.conn
    try:
        try:
            conn.execute(f'CREATE SCHEMA "{name}"')
        except Exception as exc:
            raise ConfigError(
                f"cannot create the scratch schema {name} in {admin.display_url}: "
                f"{' '.join(str(exc).split())} (the user needs CREATE on the database)"
            ) from exc
        try:
            # Catalog functions print names visible on the search_path unqualified.
            conn.execute("SELECT set_config('search_path', %s, false)", (f'"{name}"',))
            yield Scratch(_with_search_path(url, name), table,
                          lambda: postgres_schema_text(conn, name, table), f"schema {name}")
        finally:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        admin.close()


def _pg_rows(conn: Any, sql: str, schema: str, table: str = "") -> list[tuple[Any, ...]]:
    return list(conn.execute(sql, {"s": schema, "t": table}).fetchall())


def postgres_schema_text(conn: Any, schema: str, table: str) -> list[str]:
    """Tables with their columns and constraints, then indexes, views, sequences,
    types, functions and triggers, each sorted by name; the bookkeeping table is left out."""
    lines: list[str] = []
    columns = _pg_rows(conn, (
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, c.relkind "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum"), schema)
    constraints = _pg_rows(conn, (
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(s)s AND k.contype <> 'n' ORDER BY c.relname, k.conname"), schema)
    by_table: dict[str, list[str]] = {}
    for rel, col, typ, notnull, default, identity, generated, _kind in columns:
        if rel == table:
            continue
        text = f"  {col} {typ}" + (" NOT NULL" if notnull else "")
        if generated:
            text += f" GENERATED ALWAYS AS ({default}) STORED"
        elif default is not None:
            text += f" DEFAULT {default}"
        if identity:
            text += " GENERATED " + ("ALWAYS" if identity == "a" else "BY DEFAULT") + \
                " AS IDENTITY"
        by_table.setdefault(rel, []).append(text)
    for rel, con, definition in constraints:
        if rel != table:
            by_table.setdefault(rel, []).append(f"  CONSTRAINT {con} {definition}")
    for rel in sorted(by_table):
        lines.append(f"-- table {rel}")
        lines.extend(by_table[rel])
    queries = (
        ("index", "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %(s)s "
                  "AND tablename <> %(t)s ORDER BY 1"),
        ("view", "SELECT viewname, definition FROM pg_views WHERE schemaname = %(s)s ORDER BY 1"),
        ("materialized view", "SELECT matviewname, definition FROM pg_matviews "
                              "WHERE schemaname = %(s)s ORDER BY 1"),
        ("sequence", "SELECT sequencename, concat_ws(' ', data_type, 'START', start_value, "
                     "'INCREMENT', increment_by, 'MIN', min_value, 'MAX', max_value, "
                     "CASE WHEN cycle THEN 'CYCLE' END) FROM pg_sequences "
                     "WHERE schemaname = %(s)s ORDER BY 1"),
        ("type", "SELECT t.typname, CASE t.typtype WHEN 'e' THEN 'ENUM (' || "
                 "(SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) "
                 "FROM pg_enum e WHERE e.enumtypid = t.oid) || ')' "
                 "WHEN 'd' THEN 'DOMAIN ' || format_type(t.typbasetype, t.typtypmod) "
                 "ELSE 'COMPOSITE' END FROM pg_type t "
                 "JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_class c "
                 "ON c.oid = t.typrelid WHERE n.nspname = %(s)s AND t.typtype IN ('e', 'd', 'c') "
                 "AND (c.relkind IS NULL OR c.relkind = 'c') ORDER BY 1"),
        ("function", "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) "
                     "|| ')', pg_get_functiondef(p.oid) FROM pg_proc p "
                     "JOIN pg_namespace n ON n.oid = p.pronamespace "
                     "WHERE n.nspname = %(s)s AND p.prokind IN ('f', 'p') ORDER BY 1"),
        ("trigger", "SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid) "
                    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %(s)s AND NOT t.tgisinternal ORDER BY 1"),
    )
    for kind, sql in queries:
        for name, definition in _pg_rows(conn, sql, schema, table):
            lines.append(f"-- {kind} {name}")
            lines.extend(ln.rstrip() for ln in str(definition).strip().splitlines())
    return [_placeholder(line, schema) for line in lines]


def _placeholder(line: str, name: str) -> str:
    return line.replace(f'"{name}"', PLACEHOLDER).replace(f"`{name}`", PLACEHOLDER) \
        .replace(name, PLACEHOLDER)


# -- MySQL / MariaDB ----------------------------------------------------------

@contextlib.contextmanager
def _mysql_scratch(url: str, table: str) -> Iterator[Scratch]:
    name = scratch_name()
    from migrator.backends.mysql.backend import MysqlBackend

    admin = MysqlBackend(url, table=table, readonly=True, busy_timeout=10.0)
    conn: Any = admin.conn
    try:
        try:
            _my_rows(conn, f"CREATE DATABASE `{name}`")
        except Exception as exc:
            raise ConfigError(
                f"cannot create the scratch database {name} on {admin.display_url}: "
                f"{' '.join(str(exc).split())}; 'migrator test' on MySQL/MariaDB needs a "
                "user that may CREATE and DROP databases"
            ) from exc
        try:
            yield Scratch(_with_database(url, name), table,
                          lambda: mysql_schema_text(conn, name, table), f"database {name}")
        finally:
            _my_rows(conn, f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


def _my_rows(conn: Any, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params or None)
        return list(cur.fetchall()) if cur.description else []


def mysql_schema_text(conn: Any, database: str, table: str) -> list[str]:
    """SHOW CREATE output for tables, views, triggers and routines, sorted by name;
    migrator's own tables are left out."""
    q = f"`{database}`"
    lines: list[str] = []
    objects = _my_rows(conn, f"SHOW FULL TABLES FROM {q}")
    ours = {table, f"{table}_state", f"{table}_lock"}  # mysql.py's journal and lock tables
    for name, kind in sorted((str(r[0]), str(r[1])) for r in objects):
        if name in ours:
            continue
        if kind == "VIEW":
            sql = str(_my_rows(conn, f"SHOW CREATE VIEW {q}.`{name}`")[0][1])
            lines.append(f"-- view {name}")
        else:
            sql = str(_my_rows(conn, f"SHOW CREATE TABLE {q}.`{name}`")[0][1])
            sql = _AUTO_INCREMENT.sub("", sql)
            lines.append(f"-- table {name}")
        lines.extend(_DEFINER.sub("", sql).splitlines())
    triggers = _my_rows(conn, "SELECT trigger_name FROM information_schema.triggers "
                              "WHERE trigger_schema = %s ORDER BY 1", (database,))
    for (trigger,) in triggers:
        sql = str(_my_rows(conn, f"SHOW CREATE TRIGGER {q}.`{trigger}`")[0][2])
        lines.append(f"-- trigger {trigger}")
        lines.extend(_DEFINER.sub("", sql).splitlines())
    routines = _my_rows(conn, "SELECT routine_type, routine_name FROM "
                              "information_schema.routines WHERE routine_schema = %s "
                              "ORDER BY 1, 2", (database,))
    for kind, routine in routines:
        sql = str(_my_rows(conn, f"SHOW CREATE {kind} {q}.`{routine}`")[0][2])
        lines.append(f"-- {str(kind).lower()} {routine}")
        lines.extend(_DEFINER.sub("", sql).splitlines())
    return [_placeholder(line.rstrip(), database) for line in lines]
