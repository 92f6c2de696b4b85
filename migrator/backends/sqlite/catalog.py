"""SQLite's Catalog: the schema model, the dump, the rebuild script, scratch files and copies.

Reads go through the backend's own connection (a read-only open for
read-only commands, the migration's transaction for ``adopt``); copies go
through the backup API from a read-only connection, so the real file is
never written. Scratch spaces and copies are temporary files, removed on exit.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from migrator.backends.base import ScratchSpace
from migrator.backends.sqlite.rebuild import quote_name, rebuild_script
from migrator.backends.sqlite.sqlfile import copy_database, pretty_sql, stored_objects
from migrator.errors import ConfigError
from migrator.files import version_key
from migrator.schema import Index, Schema, SchemaObject, Table
from migrator.state import DUMP_HEADER, applied_inserts

if TYPE_CHECKING:
    from migrator.state import StateSql

_HEADINGS = {"table": "tables", "index": "indexes", "view": "views", "trigger": "triggers"}
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
MEMORY = ":memory:"


class Session(Protocol):
    """What the catalog uses of the backend that opened the file.

    The backend imports this module for ``catalog()``; naming it here by
    these three members instead keeps the two modules out of an import cycle.
    """

    @property
    def path(self) -> str: ...

    @property
    def sql(self) -> StateSql:
        """The bookkeeping table, left out of the schema and dumped as rows."""
        ...

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection; RuntimeError when a read-only open found no file."""
        ...


class SqliteCatalog:
    def __init__(self, backend: Session) -> None:
        self.backend = backend
        self.state = backend.sql

    # -- the file ---------------------------------------------------------------

    def _file(self) -> Path:
        """The database file; these commands need one that exists and never create it."""
        path = self.backend.path
        if path.startswith(MEMORY):
            raise ConfigError("this command needs a database file, not :memory:")
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"database {file} does not exist")
        return file

    def _conn(self) -> sqlite3.Connection:
        self._file()
        try:
            return self.backend.conn
        except RuntimeError:  # opened read-only before the file existed
            raise ConfigError(f"database {self.backend.path} does not exist") from None

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return list(self._conn().execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read database {self.backend.path}: {exc}") from exc

    # -- Catalog ----------------------------------------------------------------

    def schema(self) -> Schema:
        """Each object's DDL as SQLite stored it, normalized; a table's one clause a line."""
        try:
            objects = stored_objects(self._conn(), exclude={self.state.bare_name})
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read database {self.backend.path}: {exc}") from exc
        tables = tuple(Table(o.name, definition=pretty_sql(o))
                       for o in objects if o.type == "table")
        indexes = tuple(Index(o.name, o.tbl_name, pretty_sql(o),
                              o.normalized.upper().startswith("CREATE UNIQUE "))
                        for o in objects if o.type == "index")
        others = tuple(SchemaObject(o.type, o.name, pretty_sql(o),
                                    o.tbl_name if o.type == "trigger" else "")
                       for o in objects if o.type not in ("table", "index"))
        return Schema(tables, indexes, others)

    def dump(self) -> str:
        """Objects by kind and name, as stored, then the applied versions without timestamps."""
        conn = self._conn()
        try:
            objects = stored_objects(conn, exclude={self.state.bare_name})
            applied = self._applied(conn)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read database {self.backend.path}: {exc}") from exc
        out = [DUMP_HEADER, ""]
        kind = ""
        for obj in objects:
            if obj.type != kind:
                kind = obj.type
                out.append(f"-- {_HEADINGS.get(kind, kind)}")
            out.append(_terminated(obj.sql))
            out.append("")
        out.append("-- applied migrations")
        out.append(_terminated(self.state.create()))
        out.extend(applied_inserts(self.state, applied, NOW))
        return "\n".join(out) + "\n"

    def _applied(self, conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (self.state.bare_name,)).fetchone()
        if exists is None:
            return []
        rows = conn.execute(f"SELECT version, name, checksum FROM {self.state.qualified}")
        applied = [(str(v), str(n), str(c)) for v, n, c in rows.fetchall()]
        applied.sort(key=lambda r: (version_key(r[0]), r[0]))
        return applied

    def rebuild_script(self) -> tuple[str, str]:
        try:
            return rebuild_script(self._conn(), self.state.bare_name)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read database {self.backend.path}: {exc}") from exc

    def read_table(self, name: str) -> list[dict[str, object]] | None:
        found = self._read("SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND name = ? COLLATE NOCASE", (name,))
        if not found:
            return None
        try:
            cursor = self._conn().execute(f"SELECT * FROM {quote_name(str(found[0][0]))}")
            columns = [str(d[0]) for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read table {name} in {self.backend.path}: {exc}") from exc

    @contextlib.contextmanager
    def scratch(self) -> Iterator[ScratchSpace]:
        """An empty database file in a temporary directory, which goes away with it."""
        with tempfile.TemporaryDirectory(prefix="migrator-scratch-") as directory:
            db = Path(directory) / "scratch.db"
            sqlite3.connect(str(db)).close()  # exists, empty: the catalog can read it
            yield ScratchSpace(f"sqlite:///{db}", self.state.table, "")

    @contextlib.contextmanager
    def copy(self) -> Iterator[ScratchSpace]:
        """A backup-API copy of the real file (read-only open) in a temporary directory;
        ``size_bytes`` is the copy's, which holds what a WAL beside the source held."""
        source = self._file()
        with tempfile.TemporaryDirectory(prefix="migrator-copy-") as directory:
            db = Path(directory) / source.name
            copy_database(source, db)
            yield ScratchSpace(f"sqlite:///{db}", self.state.table, "", db.stat().st_size)


def _terminated(sql: str) -> str:
    text = sql.rstrip()
    return text if text.endswith(";") else text + ";"
