"""What a MySQL/MariaDB database holds, read once for every DBA command.

The walker (walker.py) lists the database's objects with the server's own
``SHOW CREATE`` text; the schema model (``test``), the dump (``dump``), the copy
(``rehearse``) and the rebuild script (``squash``) are all made from it, so
they never disagree on what exists. migrator's own tables (``<table>``,
``<table>_state``, ``<table>_lock``) are not the user's schema and are left
out of everything but the copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import pymysql  # type: ignore[import-untyped]

from migrator.backends.base import ScratchSpace
from migrator.backends.mysql.walker import DEFINER, CatalogObject, portable, quote, walk
from migrator.schema import Schema, SchemaObject, Table

if TYPE_CHECKING:
    from migrator.backends.mysql.connection import MysqlConnection

ROWS_PER_INSERT = 100
_DROP = {"table": "TABLE", "sequence": "SEQUENCE", "view": "VIEW", "trigger": "TRIGGER",
         "procedure": "PROCEDURE", "function": "FUNCTION", "event": "EVENT",
         "package": "PACKAGE", "package body": "PACKAGE BODY"}  # MariaDB's Oracle mode



class MysqlCatalog:
    """``Catalog`` for the database a MysqlConnection is connected to."""

    def __init__(self, backend: MysqlConnection) -> None:
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


def _primary_key(backend: MysqlConnection, table: str, schema: str = "") -> str:
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


def _views_in_order(backend: MysqlConnection, objects: list[CatalogObject]) -> list[CatalogObject]:
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
