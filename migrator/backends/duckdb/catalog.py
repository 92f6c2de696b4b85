"""DuckDB's catalog, read through its ``duckdb_*()`` table functions.

The namespace is the database file: every non-internal schema in it, names
outside ``main`` written ``schema.name``. DuckDB keeps a normalized CREATE
statement for tables, views, indexes and sequences, which serve as the
definitions; enum types and macros are rebuilt from their catalog rows.
Rows are copied through their VARCHAR form cast back to the column's type,
which every DuckDB type round-trips.

The dump sorts each kind by name, except that a table follows the tables its
foreign keys reference and a view the views it reads: DuckDB, unlike SQLite,
refuses either reference before its target exists, and the dump should run.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from migrator.backends.base import ScratchSpace
from migrator.backends.duckdb.url import MEMORY
from migrator.errors import ConfigError
from migrator.schema import Column, Constraint, Index, Schema, SchemaObject, Table
from migrator.state import DUMP_HEADER, applied_inserts, sql_literal

if TYPE_CHECKING:
    import duckdb

    from migrator.state import AppliedMigration, StateSql

_HERE = "database_name = current_database() AND NOT internal"
_KINDS = {"PRIMARY KEY": "primary", "FOREIGN KEY": "foreign", "UNIQUE": "unique",
          "CHECK": "check"}
_PLURAL = {"function": "macros"}
_FK_TARGET = re.compile(r"REFERENCES\s+((?:\"[^\"]*\"|[^\s(]+))", re.IGNORECASE)
_FIRST = ("schema", "type", "sequence")  # created before tables, dropped after them


def quote(name: str) -> str:
    """``schema.name`` or ``name`` as quoted identifiers."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split(".", 1))


def _dependencies_first(names: dict[str, set[str]]) -> list[str]:
    """``names`` (name -> names it needs) by name, each after the ones it needs."""
    done: dict[str, None] = {}

    def visit(name: str, path: frozenset[str]) -> None:
        if name in done or name in path:
            return
        for needed in sorted(names[name]):
            if needed in names:
                visit(needed, path | {name})
        done[name] = None

    for name in sorted(names):
        visit(name, frozenset())
    return list(done)


def _referenced_first(tables: tuple[Table, ...]) -> list[Table]:
    """Tables by name, each after the tables its foreign keys reference."""
    by_name = {t.name.lower(): t for t in tables}
    needs = {
        key: {target.group(1).strip('"').lower()
              for c in table.constraints if c.kind == "foreign"
              for target in [_FK_TARGET.search(c.definition)] if target}
        for key, table in by_name.items()
    }
    return [by_name[key] for key in _dependencies_first(needs)]


def _read_first(views: list[SchemaObject]) -> list[SchemaObject]:
    """Views by name, each after the views its text names (DuckDB records no
    dependencies of a view: a name that only looks like one just orders more)."""
    by_name = {v.name.lower(): v for v in views}
    words = {key: set(re.findall(r"[\w.]+", v.definition.lower())) for key, v in by_name.items()}
    needs = {key: {other for other in by_name if other != key and other in words[key]}
             for key in by_name}
    return [by_name[key] for key in _dependencies_first(needs)]


def _terminated(sql: str) -> str:
    text = sql.rstrip()
    return text if text.endswith(";") else text + ";"


class Session(Protocol):
    """What the catalog uses of the backend that opened the file.

    The backend imports this module for ``catalog()``; naming it here by
    these members instead keeps the two modules out of an import cycle.
    """

    @property
    def path(self) -> str: ...

    @property
    def readonly(self) -> bool: ...

    @property
    def exists(self) -> bool:
        """False for a file a read-only open did not find: it reads as empty."""
        ...

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened on first use; it holds DuckDB's file lock."""
        ...

    @property
    def sql(self) -> StateSql:
        """The bookkeeping table, left out of the schema and dumped as rows."""
        ...

    def applied(self) -> list[AppliedMigration]: ...

    def dry_run_sql(self) -> dict[str, str]:
        """The dump takes its ``now`` expression from here."""
        ...


class DuckdbCatalog:
    """The Catalog protocol over one DuckDB file (``DuckdbBackend.catalog()``)."""

    def __init__(self, backend: Session) -> None:
        self.backend = backend

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        if self.backend.readonly and not self.backend.exists:
            return []
        rows: list[tuple[Any, ...]] = self.backend.conn.execute(sql, params).fetchall()
        return rows

    def _bookkeeping(self, schema: str, name: str) -> bool:
        want_schema, _, want = self.backend.sql.table.rpartition(".")
        return name.lower() == want.lower() and schema.lower() == (want_schema or "main").lower()

    @staticmethod
    def _name(schema: str, name: str) -> str:
        return name if schema == "main" else f"{schema}.{name}"

    # -- reading ----------------------------------------------------------------

    def _tables(self) -> list[tuple[str, str, str]]:
        """(schema, table, CREATE) in creation order, the bookkeeping table left out."""
        rows = self._rows(f"SELECT schema_name, table_name, sql FROM duckdb_tables() "
                          f"WHERE {_HERE} AND NOT temporary ORDER BY table_oid")
        return [(s, t, sql) for s, t, sql in rows if not self._bookkeeping(s, t)]

    def schema(self) -> Schema:
        tables = tuple(self._table(s, t, sql) for s, t, sql in self._tables())
        indexes = tuple(
            Index(self._name(s, name), self._name(s, table), _terminated(sql), bool(unique))
            for s, name, table, sql, unique in self._rows(
                "SELECT schema_name, index_name, table_name, sql, is_unique FROM "
                "duckdb_indexes() WHERE database_name = current_database() AND sql IS NOT NULL "
                "ORDER BY index_oid")
        )
        objects = tuple((kind, name, definition) for kind, name, definition, _ in self._objects())
        return Schema(tables, indexes,
                      tuple(SchemaObject(k, n, d) for k, n, d in objects))

    def _table(self, schema: str, table: str, sql: str) -> Table:
        columns = tuple(
            Column(name, str(kind), bool(nullable),
                   None if default is None or generated else str(default),
                   f"GENERATED ALWAYS AS ({expression})" if generated else None)
            for name, kind, nullable, default, generated, expression in self._rows(
                "SELECT column_name, data_type, is_nullable, column_default, is_generated, "
                "generation_expression FROM duckdb_columns() WHERE database_name = "
                "current_database() AND schema_name = ? AND table_name = ? "
                "ORDER BY column_index", (schema, table))
        )
        constraints = tuple(
            Constraint(name or f"{table}_{kind.lower().replace(' ', '_')}_{index}",
                       _KINDS[kind], str(text))
            for index, kind, text, name in self._rows(
                "SELECT constraint_index, constraint_type, constraint_text, constraint_name "
                "FROM duckdb_constraints() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ? ORDER BY constraint_index",
                (schema, table))
            if kind in _KINDS
        )
        return Table(self._name(schema, table), columns, constraints, _terminated(sql))

    def _objects(self) -> list[tuple[str, str, str, str]]:
        """(kind, name, definition, drop statement) of the objects besides tables and
        indexes, kind by kind in the order kinds can be created: schemas, types, sequences,
        views, macros."""
        found: list[tuple[str, str, str, str]] = []
        own_schema = self.backend.sql.table.rpartition(".")[0].lower()
        for (name,) in self._rows(
                f"SELECT schema_name FROM duckdb_schemas() WHERE {_HERE} ORDER BY oid"):
            if name.lower() != own_schema:
                found.append(("schema", name, f"CREATE SCHEMA {quote(name)};",
                              f"DROP SCHEMA {quote(name)};"))
        for s, name, logical, labels in self._rows(
                f"SELECT schema_name, type_name, logical_type, labels FROM duckdb_types() "
                f"WHERE {_HERE} ORDER BY type_oid"):
            body = (f"ENUM ({', '.join(sql_literal(v) for v in labels)})"
                    if logical == "ENUM" and labels is not None else str(logical))
            qualified = quote(self._name(s, name))
            found.append(("type", self._name(s, name), f"CREATE TYPE {qualified} AS {body};",
                          f"DROP TYPE {qualified};"))
        for s, name, step, low, high, cycle in self._rows(
                "SELECT schema_name, sequence_name, increment_by, min_value, max_value, cycle "
                "FROM duckdb_sequences() WHERE database_name = current_database() "
                "AND NOT temporary ORDER BY sequence_oid"):
            # DuckDB's own CREATE moves START along as values are drawn: kept for the
            # rebuild (it continues where this one stands), left out of the model.
            qualified = quote(self._name(s, name))
            found.append(("sequence", self._name(s, name),
                          f"CREATE SEQUENCE {qualified} INCREMENT BY {step} MINVALUE {low} "
                          f"MAXVALUE {high}{' CYCLE' if cycle else ' NO CYCLE'};",
                          f"DROP SEQUENCE {qualified};"))
        for s, name, sql in self._rows(
                f"SELECT schema_name, view_name, sql FROM duckdb_views() WHERE {_HERE} "
                "AND NOT temporary ORDER BY view_oid"):
            found.append(("view", self._name(s, name), _terminated(sql),
                          f"DROP VIEW {quote(self._name(s, name))};"))
        for s, name, kind, params, body in self._rows(
                f"SELECT schema_name, function_name, function_type, parameters, "
                f"macro_definition FROM duckdb_functions() WHERE {_HERE} AND function_type "
                "IN ('macro', 'table_macro') ORDER BY function_oid"):
            qualified = quote(self._name(s, name))
            table = "TABLE " if kind == "table_macro" else ""
            found.append(("function", self._name(s, name),
                          f"CREATE MACRO {qualified}({', '.join(params)}) AS {table}{body};",
                          f"DROP MACRO {table}IF EXISTS {qualified};"))
        return found

    def _sequence_sql(self, name: str) -> str:
        """DuckDB's CREATE of a sequence, starting at the value it would give next."""
        schema, _, bare = name.rpartition(".")
        rows = self._rows(
            "SELECT sql FROM duckdb_sequences() WHERE database_name = current_database() "
            "AND schema_name = ? AND sequence_name = ?", (schema or "main", bare))
        return _terminated(str(rows[0][0]))

    # -- writing SQL ------------------------------------------------------------

    def dump(self) -> str:
        from migrator.files import version_key

        model = self.schema()
        out = [DUMP_HEADER, ""]
        groups: list[tuple[str, list[str]]] = [
            (_PLURAL.get(kind, kind + "s"), [
                o.definition for o in sorted(model.objects, key=lambda o: o.name)
                if o.kind == kind]) for kind in _FIRST]
        groups.append(("tables", [t.definition for t in _referenced_first(model.tables)]))
        groups.append(("indexes", [i.definition for i in sorted(model.indexes,
                                                                  key=lambda i: i.name)]))
        views = [o for o in model.objects if o.kind == "view"]
        groups.append(("views", [o.definition for o in _read_first(views)]))
        groups.append(("macros", [o.definition for o in sorted(model.objects,
                                                               key=lambda o: o.name)
                                  if o.kind == "function"]))
        for heading, definitions in groups:
            if definitions:
                out.append(f"-- {heading}")
                out.extend(d + "\n" for d in definitions)
        out.append("-- applied migrations")
        state = self.backend.sql
        out.append(_terminated(state.create()))
        applied = sorted(self.backend.applied(), key=lambda r: (version_key(r.version), r.version))
        now = self.backend.dry_run_sql()["now"]
        out.extend(applied_inserts(state, ((r.version, r.name, r.checksum) for r in applied),
                                   now))
        return "\n".join(out) + "\n"

    def rebuild_script(self) -> tuple[str, str]:
        model = self.schema()
        objects = self._objects()
        first = [o for o in objects if o[0] in _FIRST]
        up: list[str] = [self._sequence_sql(o[1]) if o[0] == "sequence" else o[2]
                          for o in first]
        tables = _referenced_first(model.tables)  # also the order rows can go in
        up.extend(t.definition for t in tables)
        for table in tables:
            schema, _, bare = table.name.rpartition(".")
            up.extend(self._inserts(schema or "main", bare))
        up.extend(i.definition for i in model.indexes)
        views = {o.name: o for o in _read_first([o for o in model.objects if o.kind == "view"])}
        later = sorted((o for o in objects if o[0] not in _FIRST),
                       key=lambda o: list(views).index(o[1]) if o[0] == "view" else len(views))
        up.extend(o[2] for o in later)
        down = [o[3] for o in reversed(later)]
        down.extend(f"DROP TABLE {quote(t.name)};" for t in reversed(tables))
        down.extend(o[3] for o in reversed(first))
        return "\n".join(up) + "\n", "\n".join(down) + "\n"

    def _inserts(self, schema: str, table: str) -> Iterator[str]:
        types = self._rows(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
            "current_database() AND schema_name = ? AND table_name = ? AND NOT is_generated "
            "ORDER BY column_index", (schema, table))
        if not types:
            return
        names = ", ".join(quote(c) for c, _ in types)
        texts = ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c, _ in types)
        target = quote(self._name(schema, table))
        for row in self._rows(f"SELECT {texts} FROM {target} ORDER BY ALL"):
            values = ", ".join("NULL" if v is None else f"CAST({sql_literal(v)} AS {kind})"
                               for v, (_, kind) in zip(row, types, strict=True))
            yield f"INSERT INTO {target} ({names}) VALUES ({values});"

    def read_table(self, name: str) -> list[dict[str, object]] | None:
        schema, _, table = name.rpartition(".")
        found = self._rows(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() "
            "AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)",
            (schema or "main", table))
        if not found:
            return None
        cursor = self.backend.conn.execute(f"SELECT * FROM {quote(name)}")
        columns = [d[0] for d in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    # -- other databases --------------------------------------------------------

    @contextlib.contextmanager
    def scratch(self) -> Iterator[ScratchSpace]:
        directory = Path(tempfile.mkdtemp(prefix="migrator-duckdb-"))
        try:
            yield ScratchSpace(f"duckdb:///{directory / 'scratch.duckdb'}",
                               self.backend.sql.table, "")
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    @contextlib.contextmanager
    def copy(self) -> Iterator[ScratchSpace]:
        """The file (and its WAL) copied while our connection keeps other writers out;
        ``size_bytes`` counts both, as copied."""
        backend = self.backend
        if backend.path == MEMORY:
            raise ConfigError("an in-memory DuckDB database has no file to copy")
        directory = Path(tempfile.mkdtemp(prefix="migrator-duckdb-"))
        target = directory / "copy.duckdb"
        try:
            size = 0
            if backend.exists:
                conn = backend.conn  # DuckDB's lock: no other process writes meanwhile
                if not backend.readonly:
                    conn.execute("CHECKPOINT")
                size = _copied(Path(backend.path), target)
                wal = Path(backend.path + ".wal")
                if wal.exists():
                    size += _copied(wal, Path(str(target) + ".wal"))
            yield ScratchSpace(f"duckdb:///{target}", backend.sql.table, "", size)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def _copied(source: Path, target: Path) -> int:
    """Copy one file; the bytes written."""
    shutil.copyfile(source, target)
    return target.stat().st_size
