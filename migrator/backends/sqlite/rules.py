"""SQLite safety rules, read from the statement's keywords.

SQLite's ALTER TABLE knows four forms (RENAME TO, RENAME COLUMN, ADD COLUMN,
DROP COLUMN); anything else needs the table rebuild of section 7 of
https://sqlite.org/lang_altertable.html. The rebuild drops the old table,
and with foreign keys on, dropping a parent table deletes or refuses its
children's rows: hence ``-- migrator: foreign-keys-off``. A table is a parent
if a ``REFERENCES`` to it was seen in this file or an earlier one of the run.
"""

from __future__ import annotations

import re

from migrator.lint.model import ERROR, WARNING, DialectRules, FileContext, Hit, Rule
from migrator.lint.text import (
    columns_of_create,
    first_word,
    masked,
    parenthesized,
    type_of,
    unquote,
)
from migrator.splitting import Statement

NEEDS_REBUILD = Rule(
    "SQ001", "sqlite", ERROR, "SQLite's ALTER TABLE cannot do this",
    "rebuild the table: CREATE the new one, INSERT ... SELECT, DROP the old, RENAME, in a "
    "file with '-- migrator: foreign-keys-off'",
    "SQLite refuses the statement: the migration fails")
REBUILD_WITH_FOREIGN_KEYS = Rule(
    "SQ002", "sqlite", WARNING, "a table rebuild without '-- migrator: foreign-keys-off'",
    "put '-- migrator: foreign-keys-off' on the first line: the keys are checked once, "
    "before commit",
    "dropping the old table cascades to, or fails on, the rows that reference it")
_REFERENCES = re.compile(r"\bREFERENCES\s+(?P<name>(?:`[^`]+`|\"[^\"]+\"|\[[^\]]+\]|[\w$]+)"
                         r"(?:\s*\.\s*(?:`[^`]+`|\"[^\"]+\"|\[[^\]]+\]|[\w$]+))?)", re.IGNORECASE)
PRAGMA_IN_TRANSACTION = Rule(
    "SQ003", "sqlite", WARNING,
    "PRAGMA foreign_keys inside the migration's transaction, where SQLite ignores it; "
    "use '-- migrator: foreign-keys-off'",
    "put '-- migrator: foreign-keys-off' on the first line instead",
    "SQLite ignores the PRAGMA inside a transaction: the keys stay as they were")

_PART = r"(?:`[^`]+`|\"[^\"]+\"|\[[^\]]+\]|[\w$]+)"
_NAME = rf"{_PART}(?:\s*\.\s*{_PART})?"
_ALTER = re.compile(rf"^\s*ALTER\s+TABLE\s+(?P<name>{_NAME})\s+(?P<rest>.*)$",
                    re.IGNORECASE | re.DOTALL)
_SUPPORTED = re.compile(r"^(?:RENAME\b|ADD\b|DROP\s+COLUMN\b|DROP\s+(?!CONSTRAINT\b|PRIMARY\b|"
                        r"FOREIGN\b|CHECK\b|UNIQUE\b|INDEX\b|DEFAULT\b)[\w`\"\[])",
                        re.IGNORECASE)
_ADD_CONSTRAINT = re.compile(r"^ADD\s+(?:CONSTRAINT|PRIMARY\s+KEY|FOREIGN\s+KEY|UNIQUE|CHECK)\b",
                             re.IGNORECASE)
_RENAME_TO = re.compile(rf"^RENAME\s+TO\s+(?P<to>{_NAME})", re.IGNORECASE)
_CREATE = re.compile(rf"^\s*CREATE\s+(?:TEMP\w*\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                     rf"(?P<name>{_NAME})", re.IGNORECASE)
_DROP = re.compile(rf"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<name>{_NAME})", re.IGNORECASE)
_PRAGMA_FK = re.compile(r"^\s*PRAGMA\s+(?:\w+\s*\.\s*)?foreign_keys\s*=", re.IGNORECASE)
_READ = frozenset({"CREATE", "ALTER", "DROP", "PRAGMA"})
_AS_SELECT = re.compile(r"^\s*AS\b", re.IGNORECASE)
_INDEX = re.compile(rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}\s+ON\s+"
                    rf"(?P<table>{_NAME})\s*\((?P<cols>[^;]*)\)", re.IGNORECASE | re.DOTALL)
_ADD = re.compile(r"^ADD\s+(?:COLUMN\s+)?(?P<def>.*?);?\s*$", re.IGNORECASE | re.DOTALL)
_DROP_COLUMN = re.compile(rf"^DROP\s+(?:COLUMN\s+)?(?P<col>{_NAME})", re.IGNORECASE)
_RENAME_COLUMN = re.compile(rf"^RENAME\s+(?:COLUMN\s+)?(?P<old>{_NAME})\s+TO\s+(?P<new>{_NAME})",
                            re.IGNORECASE)
# ADD COLUMN forms SQLite refuses (https://sqlite.org/lang_altertable.html#altertabaddcol)
_ADD_REFUSED = (
    (re.compile(r"\b(?:PRIMARY\s+KEY|UNIQUE)\b", re.IGNORECASE), "a PRIMARY KEY or UNIQUE column"),
    (re.compile(r"\bDEFAULT\s+(?:CURRENT_TIME|CURRENT_DATE|CURRENT_TIMESTAMP\b|\()",
                re.IGNORECASE), "a non-constant default"),
    (re.compile(r"\bAS\s*\(.*\)\s*STORED\b", re.IGNORECASE | re.DOTALL),
     "a STORED generated column"),
)
_NOT_NULL = re.compile(r"\bNOT\s+NULL\b", re.IGNORECASE)
_NON_NULL_DEFAULT = re.compile(r"\bDEFAULT\s+(?!NULL\b)\S", re.IGNORECASE)


def lint(ctx: FileContext) -> list[Hit]:
    hits: list[Hit] = []
    dropped: dict[str, Statement] = {}  # old tables dropped in this file, to spot a rebuild
    for stmt in ctx.statements:
        if first_word(stmt.sql) not in _READ:
            continue
        sql = masked(stmt.sql)
        ctx.known.referenced.update(unquote(r["name"]) for r in _REFERENCES.finditer(sql))
        if (m := _CREATE.match(sql)) is not None:
            name = unquote(m["name"])
            ctx.new_tables.add(name)
            body = None if _AS_SELECT.match(sql[m.end():]) else parenthesized(sql, m.end())
            if body is not None:
                columns, pinned = columns_of_create(body)
                ctx.known.columns[name], ctx.known.pinned[name] = columns, pinned
        elif (m := _INDEX.match(sql)) is not None:
            cols = {unquote(c.split()[0]) for c in m["cols"].split(",") if c.split()}
            ctx.known.pinned.setdefault(unquote(m["table"]), set()).update(cols)
        elif (m := _DROP.match(sql)) is not None:
            name = unquote(m["name"])
            if name not in ctx.new_tables:
                dropped[name] = stmt
            ctx.new_tables.discard(name)
            ctx.known.forget(name)
        elif (m := _ALTER.match(sql)) is not None:
            _alter(ctx, stmt, m, dropped, hits)
        elif _PRAGMA_FK.match(sql) and ctx.transactional:
            hits.append(Hit(PRAGMA_IN_TRANSACTION, stmt))
    return hits


def _alter(ctx: FileContext, stmt: Statement, m: re.Match[str], dropped: dict[str, Statement],
           hits: list[Hit]) -> None:
    table, rest = unquote(m["name"]), m["rest"].strip()
    at = m.start("rest")
    if not _SUPPORTED.match(rest) or _ADD_CONSTRAINT.match(rest):
        words = " ".join(rest.split()[:3]).rstrip(";")
        hits.append(Hit(NEEDS_REBUILD, stmt, at, f"ALTER TABLE {table} {words}"))
        return
    if (added := _ADD.match(rest)) is not None:
        _add_column(ctx, stmt, at, table, added["def"], hits)
        return
    if (drop := _DROP_COLUMN.match(rest)) is not None:
        column = unquote(drop["col"])
        if column in ctx.known.pinned.get(table, ()):
            hits.append(Hit(NEEDS_REBUILD, stmt, at, f"DROP COLUMN {table}.{column}, which is "
                            "a key, unique, indexed or foreign-key column"))
        ctx.known.columns.get(table, {}).pop(column, None)
        return
    if (moved := _RENAME_COLUMN.match(rest)) is not None and not _RENAME_TO.match(rest):
        old, new = unquote(moved["old"]), unquote(moved["new"])
        columns = ctx.known.columns.get(table, {})
        if old in columns:
            columns[new] = columns.pop(old)
        pinned = ctx.known.pinned.get(table, set())
        if old in pinned:
            pinned.discard(old)
            pinned.add(new)
        return
    renamed = _RENAME_TO.match(rest)
    if renamed is None:
        return
    target = unquote(renamed["to"])
    ctx.known.rename(table, target)
    if table in ctx.new_tables:
        ctx.new_tables.discard(table)
        ctx.new_tables.add(target)
    if target in dropped and target in ctx.known.referenced and not ctx.foreign_keys_off:
        hits.append(Hit(REBUILD_WITH_FOREIGN_KEYS, dropped[target], 0, f"table {target}"))


def _add_column(ctx: FileContext, stmt: Statement, at: int, table: str, definition: str,
                hits: list[Hit]) -> None:
    """SQ001 for the ADD COLUMN forms SQLite refuses; else remember the column."""
    for pattern, why in _ADD_REFUSED:
        if pattern.search(definition):
            hits.append(Hit(NEEDS_REBUILD, stmt, at, f"ADD COLUMN with {why} on {table}"))
            return
    if _NOT_NULL.search(definition) and not _NON_NULL_DEFAULT.search(definition):
        hits.append(Hit(NEEDS_REBUILD, stmt, at,
                        f"ADD COLUMN NOT NULL without a non-NULL default on {table}"))
        return
    parts = definition.split(None, 1)
    if parts:
        ctx.known.columns.setdefault(table, {})[unquote(parts[0])] = type_of(definition)


RULES = DialectRules((NEEDS_REBUILD, REBUILD_WITH_FOREIGN_KEYS, PRAGMA_IN_TRANSACTION), lint)
