"""The one walker over a MySQL/MariaDB database's objects, by the server's own
``SHOW CREATE`` text; the catalog, the dump and the copy are all made from it,
so they never disagree on what exists. migrator's own tables (``<table>``,
``<table>_state``, ``<table>_lock``) are skipped unless asked for.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from migrator.schema import PLACEHOLDER

if TYPE_CHECKING:
    from migrator.backends.mysql.connection import MysqlConnection

AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")
DEFINER = re.compile(r" DEFINER=`[^`]*`@`[^`]*`")
_STARTS = re.compile(r" STARTS '[^']*'")
_TABLE_KINDS = {"BASE TABLE": "table", "SYSTEM VERSIONED": "table", "SEQUENCE": "sequence",
                "VIEW": "view"}


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


def walk(backend: MysqlConnection, *, events: bool = True, skip: set[str] | None = None
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
