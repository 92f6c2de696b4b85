"""What a MySQL/MariaDB database holds, read once for every DBA command.

One walker lists the database's objects with the server's own ``SHOW
CREATE`` text; the schema model (``test``), the dump (``dump``), the copy
(``rehearse``) and the rebuild script (``squash``) are all made from it, so
they never disagree on what exists. migrator's own tables (``<table>``,
``<table>_state``, ``<table>_lock``) are not the user's schema and are left
out of everything but the copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple

import pymysql  # type: ignore[import-untyped]

from migrator.backends.base import ScratchSpace
from migrator.schema import PLACEHOLDER, Schema, SchemaObject, Table

if TYPE_CHECKING:
    from migrator.backends.mysql.backend import MysqlBackend

AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")
DEFINER = re.compile(r" DEFINER=`[^`]*`@`[^`]*`")
_STARTS = re.compile(r" STARTS '[^']*'")
ROWS_PER_INSERT = 100
_TABLE_KINDS = {"BASE TABLE": "table", "SYSTEM VERSIONED": "table", "SEQUENCE": "sequence",
                "VIEW": "view"}
_DROP = {"table": "TABLE", "sequence": "SEQUENCE", "view": "VIEW", "trigger": "TRIGGER",
         "procedure": "PROCEDURE", "function": "FUNCTION", "event": "EVENT",
         "package": "PACKAGE", "package body": "PACKAGE BODY"}  # MariaDB's Oracle mode


class CatalogObject(NamedTuple):
    kind: str  # table | sequence | view | trigger | procedure | function | event
    name: str
    sql: str  # SHOW CREATE text as the server gives it (DEFINER, AUTO_INCREMENT=N kept)
    table: str = ""  # the table a trigger is on


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def own_tables(bare: str) -> set[str]:
    """The bookkeeping table and the journal and lock tables beside it (backend.py)."""
    return {bare, f"{bare}_state", f"{bare}_lock"}


def walk(backend: MysqlBackend, *, events: bool = True, skip: set[str] | None = None
         ) -> list[CatalogObject]:
    """Tables and sequences, then views (each by type, then name), triggers by name,
    routines by type and name, and events: the order ``migrator dump`` has always had."""
    q, db = backend._query, quote(backend.database)
    skip = own_tables(backend.sql.bare_name) if skip is None else skip
    out: list[CatalogObject] = []
    for name, kind in q("SELECT table_name, table_type FROM information_schema.tables "
                        "WHERE table_schema = DATABASE() ORDER BY table_type, table_name"):
        if str(name) in skip:
            continue
        what = _TABLE_KINDS.get(str(kind), "table")
        show = "VIEW" if what == "view" else "TABLE"
        sql = str(q(f"SHOW CREATE {show} {db}.{quote(str(name))}")[0][1])
        out.append(CatalogObject(what, str(name), sql))
    for name, table in q("SELECT trigger_name, event_object_table FROM "
                         "information_schema.triggers WHERE trigger_schema = DATABASE() "
                         "ORDER BY 1"):
        sql = str(q(f"SHOW CREATE TRIGGER {db}.{quote(str(name))}")[0][2])
        out.append(CatalogObject("trigger", str(name), sql, str(table)))
    for name, kind in q("SELECT routine_name, routine_type FROM information_schema.routines "
                        "WHERE routine_schema = DATABASE() ORDER BY 2, 1"):
        sql = str(q(f"SHOW CREATE {kind} {db}.{quote(str(name))}")[0][2])
        out.append(CatalogObject(str(kind).lower(), str(name), sql))
    if events:
        for (name,) in q("SELECT event_name FROM information_schema.events "
                         "WHERE event_schema = DATABASE() ORDER BY 1"):
            sql = str(q(f"SHOW CREATE EVENT {db}.{quote(str(name))}")[0][3])
            out.append(CatalogObject("event", str(name), sql))
    return out


def portable(obj: CatalogObject, database: str) -> str:
    """The object's text without what differs between two equal databases: the
    DEFINER, the AUTO_INCREMENT counter, an event's start time and the database's
    own name."""
    text = DEFINER.sub("", obj.sql)
    if obj.kind == "table":
        text = AUTO_INCREMENT.sub("", text)
    elif obj.kind == "event":  # STARTS defaults to the moment the event was created
        text = _STARTS.sub("", text)
    return text.replace(quote(database), PLACEHOLDER)


class MysqlCatalog:
    """``Catalog`` for the database a MysqlBackend is connected to."""

    def __init__(self, backend: MysqlBackend) -> None:
        self.backend = backend

    def schema(self) -> Schema:
        tables: list[Table] = []
        objects: list[SchemaObject] = []
        db = self.backend.database
        for obj in walk(self.backend):
            text = "\n".join(line.rstrip() for line in portable(obj, db).splitlines())
            if obj.kind == "table":
                tables.append(Table(obj.name, definition=text))
            else:
                objects.append(SchemaObject(obj.kind, obj.name, text, obj.table))
        return Schema(tables=tuple(tables), objects=tuple(objects))

    def dump(self) -> str:
        from migrator.backends.mysql.dump import dump

        return dump(self.backend)

    def read_table(self, name: str) -> list[dict[str, object]] | None:
        schema, _, table = name.rpartition(".")
        exists = self.backend._query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = %s", (schema or self.backend.database, table))
        if not exists:
            return None
        target = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
        order = _primary_key(self.backend, table, schema)
        with self.backend.conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {target}" + (f" ORDER BY {order}" if order else ""))
            names = [str(d[0]) for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def rebuild_script(self) -> tuple[str, str]:
        objects = walk(self.backend)
        up = ["SET FOREIGN_KEY_CHECKS = 0;"]  # a key may name a table created later
        tables = [o for o in objects if o.kind in ("table", "sequence")]
        up += [_terminated(DEFINER.sub("", o.sql)) for o in tables]
        for obj in tables:
            up += self._inserts(obj)
        up.append("SET FOREIGN_KEY_CHECKS = 1;")
        up += [_terminated(DEFINER.sub("", o.sql)) for o in _views_in_order(self.backend,
                                                                          objects)]
        programs = [o for o in objects if o.kind not in ("table", "sequence", "view")]
        if programs:  # bodies hold ';': cut them at a delimiter none of them contains
            texts = [DEFINER.sub("", o.sql).rstrip() for o in programs]
            mark = _free_delimiter(texts)
            up.append(f"DELIMITER {mark}")
            up += [f"{text}\n{mark}" for text in texts]  # own line: the text may end in a comment
            up.append("DELIMITER ;")
        down = ["SET FOREIGN_KEY_CHECKS = 0;"]
        down += [f"DROP {_DROP[o.kind]} IF EXISTS {quote(o.name)};" for o in reversed(objects)
                 if o.kind in _DROP and o.kind != "trigger"]  # a trigger goes with its table
        down.append("SET FOREIGN_KEY_CHECKS = 1;")
        return "\n".join(up) + "\n", "\n".join(down) + "\n"

    def _inserts(self, obj: CatalogObject) -> list[str]:
        """The table's rows as INSERTs in primary-key order; generated columns left out."""
        if obj.kind != "table":
            return []
        columns = [str(r[0]) for r in self.backend._query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND table_name = %s AND extra NOT RLIKE 'GENERATED|VIRTUAL|PERSISTENT|STORED' "
            "ORDER BY ordinal_position", (obj.name,))]
        names = ", ".join(quote(c) for c in columns)
        head = f"INSERT INTO {quote(obj.name)} ({names}) VALUES\n"
        out: list[str] = []
        batch: list[str] = []
        for row in self._rows(obj.name, names):
            batch.append("(" + ", ".join(self._literal(v) for v in row) + ")")
            if len(batch) == ROWS_PER_INSERT:
                out.append(head + ",\n".join(batch) + ";")
                batch = []
        if batch:
            out.append(head + ",\n".join(batch) + ";")
        return out

    def _rows(self, table: str, names: str) -> Iterator[tuple[Any, ...]]:
        order = _primary_key(self.backend, table) or names
        with self.backend.conn.cursor() as cur:
            cur.execute(f"SELECT {names} FROM {quote(table)} ORDER BY {order}")
            yield from cur.fetchall()

    def _literal(self, value: object) -> str:
        if isinstance(value, bytes | bytearray):  # hex keeps the script valid UTF-8
            return "X'" + bytes(value).hex() + "'" if value else "''"
        return str(self.backend.conn.escape(value))

    def scratch(self) -> AbstractContextManager[ScratchSpace]:
        from migrator.backends.mysql.scratch import scratch

        return scratch(self.backend)

    def copy(self) -> AbstractContextManager[ScratchSpace]:
        from migrator.backends.mysql.scratch import copy

        return copy(self.backend)


def _primary_key(backend: MysqlBackend, table: str, schema: str = "") -> str:
    """The table's primary-key columns for ORDER BY, "" when it has none."""
    keys = backend._query(
        "SELECT column_name FROM information_schema.statistics WHERE table_schema = %s "
        "AND table_name = %s AND index_name = 'PRIMARY' ORDER BY seq_in_index",
        (schema or backend.database, table))
    return ", ".join(quote(str(k[0])) for k in keys)


def _free_delimiter(texts: list[str]) -> str:
    """``//``, or another delimiter when a body holds ``//`` (a URL in a string)."""
    mark, n = "//", 0
    while any(mark in text for text in texts):
        n += 1
        mark = f"$${n}$$"
    return mark


def _terminated(sql: str) -> str:
    return sql.rstrip().rstrip(";") + ";"


def _views_in_order(backend: MysqlBackend, objects: list[CatalogObject]) -> list[CatalogObject]:
    """Views after the views they read (information_schema.view_table_usage where the
    server has it, name order otherwise)."""
    views = {o.name: o for o in objects if o.kind == "view"}
    if len(views) < 2:
        return list(views.values())
    uses: dict[str, set[str]] = {name: set() for name in views}
    try:
        for view, used in backend._query(
                "SELECT view_name, table_name FROM information_schema.view_table_usage "
                "WHERE view_schema = DATABASE() AND table_schema = DATABASE()"):
            if str(used) in views and str(view) in uses:
                uses[str(view)].add(str(used))
    except pymysql.err.MySQLError:  # MariaDB has no view_table_usage: read the definitions
        for name in views:
            text = views[name].sql
            uses[name] = {other for other in views
                          if other != name and quote(other) in text.split(" AS ", 1)[-1]}
    ordered: list[CatalogObject] = []
    done: set[str] = set()
    while len(done) < len(views):
        ready = [n for n in views if n not in done and uses[n] <= done] or \
            [n for n in views if n not in done][:1]  # a cycle the server would refuse anyway
        for name in ready:
            done.add(name)
            ordered.append(views[name])
    return ordered
