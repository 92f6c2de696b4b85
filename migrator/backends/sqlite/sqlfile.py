"""SQLite files as the DBA commands see them: read-only opens, backup copies, sqlite_schema.

The real file is only ever opened read-only here (mode=ro), so commands that
look at a database or copy it can promise they never write it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from migrator.errors import ConfigError

_SPACE = re.compile(r"\s+")
# A quoted string or name (kept) or a comment (dropped): SQLite stores DDL with
# its comments, and squeezing a "--" comment onto one line would swallow the
# text after it.
_QUOTED_OR_COMMENT = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|\[[^\]]*\]"
    r"|(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))",
    re.DOTALL,
)
_TIGHT = re.compile(r"\s*([(),])\s*")
# A string literal (kept as is) or a double-quoted name that needs no quotes.
_QUOTED_NAME = re.compile(r"'(?:[^']|'')*'|\"([A-Za-z_][A-Za-z0-9_]*)\""
                          r"|\[([A-Za-z_][A-Za-z0-9_]*)\]|`([A-Za-z_][A-Za-z0-9_]*)`")
TYPE_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One row of sqlite_schema: the DDL exactly as SQLite stored it."""

    type: str
    name: str
    tbl_name: str
    sql: str

    @property
    def normalized(self) -> str:
        return normalize_sql(self.sql)


def open_readonly(file: Path) -> sqlite3.Connection:
    """A connection that cannot write the file (mode=ro), so callers can promise that."""
    uri = f"file:{quote(str(file.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None)
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot read database {file}: {exc}") from exc
    return conn


def copy_database(source: Path, dest: Path) -> None:
    """A consistent snapshot through SQLite's backup API (safe while others write)."""
    src = open_readonly(source)
    try:
        out = sqlite3.connect(str(dest), isolation_level=None)
        try:
            src.backup(out)
        finally:
            out.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot copy database {source}: {exc}") from exc
    finally:
        src.close()


def _shadow_tables(conn: sqlite3.Connection) -> set[str]:
    """FTS and other virtual tables' shadow tables, which their CREATE VIRTUAL makes."""
    try:
        rows = conn.execute("PRAGMA main.table_list").fetchall()
    except sqlite3.Error:  # SQLite older than 3.37
        return set()
    return {str(r[1]) for r in rows if r[2] == "shadow"}


def stored_objects(conn: sqlite3.Connection, exclude: set[str] | None = None) -> list[StoredObject]:
    """User objects in a stable order: tables, indexes, views, triggers, each by name.

    SQLite's own objects (sqlite_sequence, autoindexes) and the tables named in
    ``exclude`` (bookkeeping) are left out: they are not the schema a migration
    writes, and sqlite_sequence outlives the table that created it.
    """
    skip = {name.lower() for name in (exclude or set())}
    shadows = _shadow_tables(conn)
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL"
    ).fetchall()
    objects = [
        StoredObject(str(t), str(n), str(tb), str(s))
        for t, n, tb, s in rows
        if not str(n).startswith("sqlite_")
        and str(tb).lower() not in skip
        and str(n) not in shadows
    ]
    objects.sort(key=lambda o: (TYPE_ORDER.get(o.type, 9), o.name.lower(), o.name))
    return objects


# SQLite's keywords (sqlite.org/lang_keywords.html): a name spelled like one keeps its
# quotes, so normalized DDL still runs (``diff`` writes it back as SQL).
_KEYWORD_TEXT = """
ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN
BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS
CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED
DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS
EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING
IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL
JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF
OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE
RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK
ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED
UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT
"""
KEYWORDS = frozenset(_KEYWORD_TEXT.split())
_HOLDER = re.compile("\x00([0-9]+)\x00")


def _unquote(match: re.Match[str]) -> str:
    """A plain name bare, a keyword in double quotes, whichever quotes it came in."""
    name = match.group(1) or match.group(2) or match.group(3)
    if name is None:
        return match.group(0)
    return f'"{name}"' if name.upper() in KEYWORDS else name


def normalize_sql(sql: str) -> str:
    """One line, single spaces, none around parentheses and commas, plain names unquoted.

    SQLite rewrites names it touches (``ALTER TABLE x RENAME TO orders`` stores
    ``"orders"``), so ``"orders"``, ``[orders]``, ```orders``` and ``orders``
    must compare equal; a name that is a keyword keeps quotes, as ``"order"``.
    Comments are dropped: a down that rebuilds a table without them restores
    it. Quoted text is kept as it is (a default of ``'a,  b'`` is not
    ``'a,b'``), so the result is still the same DDL, runnable again.
    """
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        if match["comment"]:
            return " "
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = _QUOTED_OR_COMMENT.sub(hold, sql)
    text = _TIGHT.sub(r"\1", _SPACE.sub(" ", text.strip())).rstrip(";")
    text = _HOLDER.sub(lambda m: kept[int(m.group(1))], text)
    return _QUOTED_NAME.sub(_unquote, text)


def pretty_sql(obj: StoredObject) -> str:
    """Normalized SQL, a table with one column or constraint per line, for readable diffs."""
    text = obj.normalized
    if obj.type != "table":
        return text
    out: list[str] = []
    depth = 0
    quote_char = ""
    for ch in text:
        if quote_char:
            out.append(ch)
            if ch == quote_char:
                quote_char = ""
            continue
        if ch in "'\"`[":
            quote_char = "]" if ch == "[" else ch
        elif ch == "(":
            depth += 1
            if depth == 1:
                out.append(" (\n    ")
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                out.append("\n)")
                continue
        elif ch == "," and depth == 1:
            out.append(",\n    ")
            continue
        out.append(ch)
    return "".join(out)
