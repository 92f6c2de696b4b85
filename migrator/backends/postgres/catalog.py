"""PostgreSQL's catalog for the DBA commands: one walker of one schema.

The schema is the URL's (first ``search_path`` entry) or the session's
current one; the bookkeeping table is left out. Definitions come from the
server's own ``pg_get_*def`` functions, with the schema's name written as
``<schema>`` so two schemas built by the same migrations read the same.
What ``CREATE EXTENSION`` or attaching a partition makes by itself (an
extension's functions, a partition's copies of its parent's constraints,
indexes and triggers) is left out: the model holds what a diff must create.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from psycopg import sql as pgsql

from migrator.backends.base import ScratchSpace
from migrator.backends.postgres import dump, scratch
from migrator.schema import PLACEHOLDER, Column, Constraint, Index, Schema, SchemaObject, Table
from migrator.state import StateSql

if TYPE_CHECKING:
    from migrator.backends.postgres.session import PgSession

# an extension's own tables, functions, types and sequences: CREATE EXTENSION makes them
_OWN = ("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{cls}'::regclass "
        "AND e.objid = {oid} AND e.deptype = 'e')")
_KINDS = {"p": "primary", "f": "foreign", "u": "unique", "c": "check", "x": "exclude",
          "t": "trigger"}
_COLUMNS = (
    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, "
    # a collation other than the type's own: what COLLATE declared
    "(SELECT quote_ident(l.collname) FROM pg_type y JOIN pg_collation l "
    "ON l.oid = a.attcollation WHERE y.oid = a.atttypid AND a.attcollation <> y.typcollation) "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 "
    "AND NOT a.attisdropped AND c.relname <> %(t)s AND " + _OWN.format(cls="pg_class",
                                                                      oid="c.oid") +
    " ORDER BY c.relname, a.attnum")
_CONSTRAINTS = (
    "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k "
    "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %(s)s AND k.contype <> 'n' AND c.relname <> %(t)s "
    # not a partition's copy of its parent's constraint: the partition gets it by attaching
    "AND k.conparentid = 0 AND (k.contype <> 'c' OR k.conislocal) AND "
    + _OWN.format(cls="pg_class", oid="c.oid") + " ORDER BY c.relname, k.conname")
_INDEXES = ("SELECT i.indexname, i.tablename, i.indexdef, x.indisunique FROM pg_indexes i "
            "JOIN pg_index x ON x.indexrelid = format('%%I.%%I', i.schemaname, "
            "i.indexname)::regclass WHERE i.schemaname = %(s)s AND i.tablename <> %(t)s AND "
            "NOT (SELECT r.relispartition FROM pg_class r WHERE r.oid = x.indexrelid) AND "
            + _OWN.format(cls="pg_class", oid="x.indrelid"))
# partitioning, as the table's definition: "PARTITION OF p FOR VALUES ...", "PARTITION BY ..."
_PARTITIONS = (
    "SELECT c.relname, concat_ws(E'\\n', 'PARTITION OF ' || quote_ident(p.relname) || ' ' || "
    "pg_get_expr(c.relpartbound, c.oid), 'PARTITION BY ' || pg_get_partkeydef(c.oid)) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition "
    "LEFT JOIN pg_class p ON p.oid = i.inhparent "
    "WHERE n.nspname = %(s)s AND (c.relispartition OR c.relkind = 'p')")
_OBJECTS = (
    ("view", "SELECT viewname, definition, '' FROM pg_views WHERE schemaname = %(s)s"),
    ("materialized view", "SELECT matviewname, definition, '' FROM pg_matviews "
                          "WHERE schemaname = %(s)s"),
    ("sequence", "SELECT sequencename, concat_ws(' ', data_type, 'START', start_value, "
                 "'INCREMENT', increment_by, 'MIN', min_value, 'MAX', max_value, "
                 "CASE WHEN cycle THEN 'CYCLE' END, (SELECT 'OWNED BY ' || "
                 "quote_ident(c.relname) || '.' || quote_ident(a.attname) FROM pg_depend d "
                 "JOIN pg_class c ON c.oid = d.refobjid JOIN pg_attribute a "
                 "ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                 "WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
                 "AND d.objid = (quote_ident(schemaname) || '.' || "
                 "quote_ident(sequencename))::regclass)), '' FROM pg_sequences "
                 "WHERE schemaname = %(s)s AND " + _OWN.format(
                     cls="pg_class", oid="(quote_ident(schemaname) || '.' || "
                     "quote_ident(sequencename))::regclass")),
    ("type", "SELECT t.typname, CASE t.typtype WHEN 'e' THEN 'ENUM (' || "
             "(SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) "
             "FROM pg_enum e WHERE e.enumtypid = t.oid) || ')' "
             "WHEN 'd' THEN concat_ws(' ', 'DOMAIN ' || format_type(t.typbasetype, "
             "t.typtypmod), (SELECT 'COLLATE ' || quote_ident(l.collname) FROM pg_type b "
             "JOIN pg_collation l ON l.oid = t.typcollation WHERE b.oid = t.typbasetype "
             "AND t.typcollation <> b.typcollation), 'DEFAULT ' || t.typdefault, "
             "CASE WHEN t.typnotnull THEN 'NOT NULL' END, (SELECT string_agg('CONSTRAINT ' "
             "|| quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid), ' ' "
             "ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid)) "
             "ELSE 'COMPOSITE (' || (SELECT string_agg(quote_ident(a.attname) || ' ' || "
             "format_type(a.atttypid, a.atttypmod) || coalesce(' COLLATE ' || (SELECT "
             "quote_ident(l.collname) FROM pg_type y JOIN pg_collation l ON l.oid = "
             "a.attcollation WHERE y.oid = a.atttypid AND a.attcollation <> y.typcollation), "
             "''), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.typrelid "
             "AND a.attnum > 0 AND NOT a.attisdropped) || ')' END, '' FROM pg_type t "
             "JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_class c "
             "ON c.oid = t.typrelid WHERE n.nspname = %(s)s AND t.typtype IN ('e', 'd', 'c') "
             "AND (c.relkind IS NULL OR c.relkind = 'c') AND "
             + _OWN.format(cls="pg_type", oid="t.oid")),
    ("function", "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) "
                 "|| ')', pg_get_functiondef(p.oid), '' FROM pg_proc p "
                 "JOIN pg_namespace n ON n.oid = p.pronamespace "
                 "WHERE n.nspname = %(s)s AND p.prokind IN ('f', 'p') AND "
                 + _OWN.format(cls="pg_proc", oid="p.oid")),
    ("extension", "SELECT x.extname, 'EXTENSION', '' FROM pg_extension x "
                  "JOIN pg_namespace n ON n.oid = x.extnamespace WHERE n.nspname = %(s)s"),
    ("trigger", "SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), c.relname "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %(s)s AND NOT t.tgisinternal AND t.tgparentid = 0"),
)


class PostgresCatalog:
    """The ``Catalog`` of one PostgreSQL schema, read through its backend's connection."""

    def __init__(self, backend: PgSession) -> None:
        self.backend = backend

    @property
    def namespace(self) -> str:
        first = self.backend.settings.first_schema
        if first:
            return first
        row = self.backend.conn.execute("SELECT current_schema()").fetchone()
        return str(row[0] if row and row[0] else "public")

    @property
    def own_table(self) -> str:
        """The bookkeeping table's name when it lives in this schema, else ""."""
        table_schema = StateSql(self.backend.sql.table).table.rpartition(".")[0]
        return self.backend.sql.bare_name if table_schema in ("", self.namespace) else ""

    def schema(self) -> Schema:
        return schema_model(self.backend, self.namespace, self.own_table)

    def dump(self) -> str:
        return dump.dump_text(self.backend, self.namespace)

    def rebuild_script(self) -> tuple[str, str]:
        from migrator.backends.postgres import rebuild  # the scanner: only squash needs it

        return rebuild.rebuild_script(self.backend, self.namespace, self.own_table)

    def read_table(self, name: str) -> list[dict[str, object]] | None:
        schema, _, table = name.rpartition(".")
        qualified = pgsql.Identifier(schema, table) if schema else pgsql.Identifier(table)
        conn = self.backend.conn
        row = conn.execute("SELECT to_regclass(%s)", (qualified.as_string(conn),)).fetchone()
        if row is None or row[0] is None:
            return None
        cursor = conn.execute(pgsql.SQL("SELECT * FROM {}").format(qualified))
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def scratch(self) -> AbstractContextManager[ScratchSpace]:
        return scratch.scratch_schema(self.backend)

    def copy(self) -> AbstractContextManager[ScratchSpace]:
        return scratch.database_copy(self.backend)


def schema_model(backend: PgSession, schema: str, table: str) -> Schema:
    """Tables with columns and constraints, indexes, then views, sequences, types,
    functions and triggers; the bookkeeping table ``table`` is left out."""
    params = {"s": schema, "t": table}
    run = backend.conn.execute
    words = _Placeholder(schema)
    columns: dict[str, list[Column]] = {}
    for rel, col, typ, notnull, default, identity, generated, collation in run(_COLUMNS,
                                                                              params):
        columns.setdefault(rel, []).append(_column(words, col, typ, notnull, default,
                                                   identity, generated, collation))
    constraints: dict[str, list[Constraint]] = {}
    for rel, name, kind, definition in run(_CONSTRAINTS, params):
        constraints.setdefault(rel, []).append(
            Constraint(words(name), _KINDS.get(kind, kind), words(definition)))
    partitioning = {rel: words(text) for rel, text in run(_PARTITIONS, params)}
    tables = tuple(Table(words(rel), tuple(columns.get(rel, ())),
                         tuple(constraints.get(rel, ())), partitioning.get(rel, ""))
                   for rel in sorted(columns.keys() | constraints.keys()))
    indexes = list(Index(words(name), words(rel), words(definition), bool(unique))
                   for name, rel, definition, unique in run(_INDEXES, params))
    indexes.sort(key=lambda i: i.name)
    objects = list(SchemaObject(kind, words(str(name)), words(str(definition).strip()),
                                words(str(on)))
                   for kind, query in _OBJECTS for name, definition, on in run(query, params))
    objects.sort(key=lambda o: (o.kind, o.name))
    return Schema(tables, tuple(indexes), tuple(objects))  # in name order: models compare


def _column(words: _Placeholder, name: str, typ: str, notnull: bool, default: str | None,
            identity: str, generated: str, collation: str | None = None) -> Column:
    extra: str | None = None
    if generated:
        extra = f"GENERATED ALWAYS AS ({default}) " + ("STORED" if generated == "s"
                                                        else "VIRTUAL")
        default = None
    elif identity:
        extra = "GENERATED " + ("ALWAYS" if identity == "a" else "BY DEFAULT") + \
            " AS IDENTITY"
    return Column(words(name), words(typ), not notnull,
                  None if default is None else words(default),
                  None if extra is None else words(extra), collation)


class _Placeholder:
    """Writes the schema's own name as ``<schema>`` wherever the server's text names it."""

    def __init__(self, schema: str) -> None:
        quoted = '"' + schema.replace('"', '""') + '"'
        self._pattern = re.compile(
            rf"{re.escape(quoted)}|(?<![\w$]){re.escape(schema)}(?![\w$])")

    def __call__(self, text: Any) -> str:
        return self._pattern.sub(PLACEHOLDER, str(text))
