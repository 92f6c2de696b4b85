"""``migrator dump``: the schema and the applied versions as one deterministic SQL file.

Committed next to the migrations, it shows in review what a migration did to
the schema (dbmate's schema.sql). Objects come sorted by kind and name, not
by creation order, and the rows carry no timestamps, so two databases with
the same schema and history dump to the same bytes.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from migrator.backends import scheme_of
from migrator.dba.sqlitefile import database_file, open_readonly, schema_objects
from migrator.errors import ConfigError
from migrator.files import version_key
from migrator.state import StateSql, sql_literal

_HEADINGS = {"table": "tables", "index": "indexes", "view": "views", "trigger": "triggers"}
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _terminated(sql: str) -> str:
    text = sql.rstrip()
    return text if text.endswith(";") else text + ";"


def _applied(conn: sqlite3.Connection, sql: StateSql) -> list[tuple[str, str, str]]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (sql.bare_name,)
    ).fetchone()
    if exists is None:
        return []
    rows = conn.execute(f"SELECT version, name, checksum FROM {sql.qualified}").fetchall()
    applied = [(str(v), str(n), str(c)) for v, n, c in rows]
    applied.sort(key=lambda r: (version_key(r[0]), r[0]))
    return applied


def dump_schema(url: str, table: str) -> str:
    """The dump text of the database at ``url``, read through a read-only connection."""
    if scheme_of(url) not in ("sqlite", "sqlite3"):
        from migrator.dba.serverdump import dump_server

        return dump_server(url, table)
    conn = open_readonly(database_file(url))
    try:
        state = StateSql(table)
        objects = schema_objects(conn, exclude={state.bare_name})
        applied = _applied(conn, state)
    finally:
        conn.close()
    out = ["-- schema dump written by 'migrator dump'; do not edit", ""]
    kind = ""
    for obj in objects:
        if obj.type != kind:
            kind = obj.type
            out.append(f"-- {_HEADINGS.get(kind, kind)}")
        out.append(_terminated(obj.sql))
        out.append("")
    out.append("-- applied migrations")
    out.append(_terminated(state.create()))
    columns = "version, name, checksum, applied_at, duration_ms"
    for version, name, checksum in applied:
        values = ", ".join([sql_literal(version), sql_literal(name), sql_literal(checksum),
                            NOW, "0"])
        out.append(f"INSERT INTO {state.qualified} ({columns}) VALUES ({values});")
    return "\n".join(out) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one rename, so a reader never sees half a dump."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        # The mode any new file gets: mkstemp's 0600 would hide the dump from the
        # team, and a fixed 0644 would ignore a umask such as 077.
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # e.g. FILE is a directory
            raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
        raise
