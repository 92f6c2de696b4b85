"""SQL that rebuilds a SQLite database, rows and all, and SQL that drops it again.

``squash`` writes these as one migration; everything SQLite keeps beside the
schema (sqlite_sequence, user_version) is carried too, so a database built
from the new file equals one built from the files it replaces.
"""

from __future__ import annotations

import sqlite3

from migrator.backends.sqlite.sqlfile import StoredObject, stored_objects

FK_OFF = "-- migrator: foreign-keys-off\n"


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal that reads back as the same SQLite value and type."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "NULL"  # SQLite stores NaN as NULL anyway
        if value in (float("inf"), float("-inf")):
            return "9e999" if value > 0 else "-9e999"
        return repr(value)
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _rows(conn: sqlite3.Connection, table: StoredObject) -> list[str]:
    columns = [str(r[1]) for r in conn.execute(f"PRAGMA table_xinfo({quote_name(table.name)})")
               if r[6] == 0]  # generated and hidden columns are computed, not stored
    names = ", ".join(quote_name(c) for c in columns)
    select = f"SELECT {names} FROM {quote_name(table.name)}"
    try:
        rows = conn.execute(select + " ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:  # WITHOUT ROWID: primary-key order
        rows = conn.execute(select).fetchall()
    head = f"INSERT INTO {quote_name(table.name)} ({names}) VALUES "
    return [head + "(" + ", ".join(literal(v) for v in row) + ");" for row in rows]


def _terminated(sql: str) -> str:
    return sql.rstrip().rstrip(";") + ";"


def build_up(conn: sqlite3.Connection, bare_table: str) -> tuple[str, list[StoredObject]]:
    """The statements that rebuild the database (bookkeeping excluded), triggers after rows."""
    objects = stored_objects(conn, exclude={bare_table})
    tables = [o for o in objects if o.type == "table"]
    out = [_terminated(o.sql) for o in tables]
    for t in tables:
        out += _rows(conn, t)
    has_seq = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    if has_seq:
        wanted = {t.name for t in tables}
        for name, seq in conn.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name"):
            if name in wanted:  # the rows above made an entry already, maybe lower
                out.append(f"DELETE FROM sqlite_sequence WHERE name = {literal(name)};")
                out.append(f"INSERT INTO sqlite_sequence (name, seq) VALUES "
                           f"({literal(name)}, {literal(seq)});")
    out += [_terminated(o.sql) for o in objects if o.type != "table"]
    user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if user_version:
        out.append(f"PRAGMA user_version = {user_version};")
    return "\n".join(out) + "\n", objects


def build_down(objects: list[StoredObject], resets_user_version: bool) -> str:
    """Drops in reverse creation order; indexes go with their tables."""
    drops = {"trigger": "DROP TRIGGER", "view": "DROP VIEW", "table": "DROP TABLE"}
    lines = [f"{drops[o.type]} IF EXISTS {quote_name(o.name)};"
             for o in reversed(objects) if o.type in drops]
    if resets_user_version:
        lines.append("PRAGMA user_version = 0;")
    return FK_OFF + "\n".join(lines) + "\n"


def rebuild_script(conn: sqlite3.Connection, bare_table: str) -> tuple[str, str]:
    """(up, down), both running with foreign keys off: tables come in name order."""
    body, objects = build_up(conn, bare_table)
    resets = "\nPRAGMA user_version = " in "\n" + body
    return FK_OFF + body, build_down(objects, resets)
