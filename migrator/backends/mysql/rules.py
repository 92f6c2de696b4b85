"""MySQL/MariaDB safety rules, read from the statement's keywords.

There is no MySQL parse tree in Python worth its import, so the rules read
the text with comments and string contents blanked (``migrator.lint.text``).
Which ``ALTER TABLE`` copies the table is a heuristic: the server decides
from the column's current type, which a file does not show. An ALTER that
names ``ALGORITHM=INSTANT`` or ``INPLACE`` is trusted: the server refuses it
rather than copy. A table created earlier in the file (or the run) is new
and left alone.
"""

from __future__ import annotations

import re

from migrator.lint.model import WARNING, DialectRules, FileContext, Hit, Rule
from migrator.lint.text import (
    columns_of_create,
    first_word,
    masked,
    parenthesized,
    top_level_split,
    type_of,
    unquote,
)
from migrator.splitting import Statement


def _rule(id: str, message: str, hint: str, prevents: str) -> Rule:
    return Rule(id, "mysql", WARNING, message, hint, prevents)


COPY = _rule(
    "MY001", "ALTER TABLE that may copy the table (no INSTANT or INPLACE algorithm)",
    "add ALGORITHM=INPLACE, LOCK=NONE (or INSTANT) so the server refuses instead of "
    "copying, or use an online schema change tool (gh-ost, pt-online-schema-change)",
    "a table copy blocks every write for as long as the copy takes")
RENAME = _rule(
    "MY002", "renaming a column or table",
    "add the new name alongside, move the code, then drop the old",
    "running application code still uses the old name and fails")
DROP = _rule(
    "MY003", "dropping a column or table",
    "stop using it in the code first, deploy, then drop it",
    "running application code that still uses it fails; the data is gone")
FOREIGN_KEY = _rule(
    "MY004", "adding a foreign key to an existing table",
    "add it with foreign_key_checks=0 (INPLACE) after checking the data, or not at all",
    "with foreign_key_checks on, the table is copied and writes are blocked")
SEVERAL_DDL = _rule(
    "MY005", "several DDL statements in one file, changing an existing table",
    "one DDL statement per migration file",
    "each DDL statement commits on its own: a failure leaves the file half-applied")

_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w$]+)(?:\s*\.\s*(?:`[^`]+`|\"[^\"]+\"|[\w$]+))?"
_CREATE = re.compile(rf"^\s*CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                     rf"(?P<name>{_NAME})", re.IGNORECASE)
_ALTER = re.compile(rf"^\s*ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE\s+(?P<name>{_NAME})"
                    r"(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^\s*DROP\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?(?P<names>.*?)"
                   r"\s*(?:RESTRICT|CASCADE)?\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_RENAME = re.compile(rf"^\s*RENAME\s+TABLE\s+(?P<name>{_NAME})\s+TO\s+(?P<to>{_NAME})",
                     re.IGNORECASE)
_READ = frozenset({"CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"})
_DDL = re.compile(r"^\s*(?:CREATE|ALTER|DROP|RENAME|TRUNCATE)\b", re.IGNORECASE)
_SAFE_ALGORITHM = re.compile(r"\bALGORITHM\s*=?\s*(?:INSTANT|INPLACE|NOCOPY)\b", re.IGNORECASE)
_COPY_ALGORITHM = re.compile(r"\bALGORITHM\s*=?\s*COPY\b", re.IGNORECASE)
_CHANGE = re.compile(rf"^(?:MODIFY|CHANGE)\b(?:\s+COLUMN\b)?\s*(?P<old>{_NAME})"
                     rf"(?:\s+(?P<new>{_NAME}))?", re.IGNORECASE)
_CLAUSE_RENAME = re.compile(r"^RENAME\b(?!\s+(?:INDEX|KEY)\b)", re.IGNORECASE)
_CLAUSE_DROP = re.compile(
    rf"^DROP\b(?:\s+COLUMN\b)?\s+(?!(?:INDEX|KEY|FOREIGN|PRIMARY|CHECK|CONSTRAINT|PARTITION|"
    rf"DEFAULT|SYSTEM)\b)(?:IF\s+EXISTS\s+)?(?P<name>{_NAME})", re.IGNORECASE)
_CLAUSE_FK = re.compile(r"^ADD\b(?:\s+CONSTRAINT(?:\s+(?!FOREIGN\b)\S+)?)?\s+FOREIGN\s+KEY\b",
                        re.IGNORECASE)
_ADD_COPIES = re.compile(  # measured: ALGORITHM=INPLACE is refused for these
    r"^ADD\b(?:\s+CONSTRAINT(?:\s+(?!CHECK\b)\S+)?)?\s+CHECK\b"
    r"|^ADD\b(?:\s+COLUMN\b)?.*\bAS\s*\(.*\)\s*STORED\b", re.IGNORECASE | re.DOTALL)
_ADD_COLUMN = re.compile(rf"^ADD\b(?:\s+COLUMN\b)?\s+(?!(?:CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|"
                         rf"INDEX|KEY|FULLTEXT|SPATIAL|CHECK|PARTITION)\b)(?P<name>{_NAME})",
                         re.IGNORECASE)
_VARCHAR = re.compile(r"^varchar\((?P<n>\d+)\)$")
_LIKE = re.compile(r"^\s*LIKE\b|^\s*AS\b|^\s*SELECT\b", re.IGNORECASE)
_CONVERT = re.compile(r"^CONVERT\s+TO\s+(?:CHARACTER\s+SET|CHARSET)\b", re.IGNORECASE)
_DROP_PK = re.compile(r"^DROP\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_ADD_PK = re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\b", re.IGNORECASE)


def lint(ctx: FileContext) -> list[Hit]:
    hits: list[Hit] = []
    ddl = 0
    touched_existing = warned = False
    for stmt in ctx.statements:
        if first_word(stmt.sql) not in _READ:
            continue
        sql = masked(stmt.sql, hash_comments=True)
        if _DDL.match(sql):
            ddl += 1
        touched_existing |= _statement(ctx, sql, hits, stmt)
        if ddl >= 2 and touched_existing and not warned:
            warned = True
            hits.append(Hit(SEVERAL_DDL, stmt))
    return hits


def _statement(ctx: FileContext, sql: str, hits: list[Hit], stmt: Statement) -> bool:
    """Add the statement's hits; True if it is DDL on an existing table."""
    if (m := _CREATE.match(sql)) is not None:
        name = unquote(m["name"])
        ctx.new_tables.add(name)
        body = parenthesized(sql, m.end())
        if body is not None and not _LIKE.match(sql[m.end():]):
            at = sql.index(body, m.end())  # the same offsets in the unmasked text
            columns, pinned = columns_of_create(stmt.sql[at:at + len(body)])
            ctx.known.columns[name], ctx.known.pinned[name] = columns, pinned
        return False
    if (m := _RENAME.match(sql)) is not None:
        old, new = unquote(m["name"]), unquote(m["to"])
        ctx.known.rename(old, new)
        if old in ctx.new_tables:
            ctx.new_tables.discard(old)
            ctx.new_tables.add(new)
            return False
        hits.append(Hit(RENAME, stmt, m.start("name"), f"table {old} to {new}"))
        return True
    if (m := _DROP.match(sql)) is not None:
        names = [unquote(n) for n in m["names"].split(",") if n.strip()]
        existing = [n for n in names if n not in ctx.new_tables]
        ctx.new_tables.difference_update(names)
        for name in names:
            ctx.known.forget(name)
        if existing:
            hits.append(Hit(DROP, stmt, m.start("names"), f"table {', '.join(existing)}"))
        return bool(existing)
    if (m := _ALTER.match(sql)) is not None:
        table = unquote(m["name"])
        columns = ctx.known.columns.setdefault(table, {})
        new_table = table in ctx.new_tables
        _alter(table, m["rest"], m.start("rest"), [] if new_table else hits, stmt, columns)
        return not new_table
    return False


def _alter(table: str, rest: str, offset: int, hits: list[Hit], stmt: Statement,
           columns: dict[str, str]) -> None:
    """Hits for one ALTER TABLE's clauses; ``columns`` (name -> type) is kept current."""
    safe = _SAFE_ALGORITHM.search(rest) is not None
    copy_reason = "ALGORITHM=COPY" if _COPY_ALGORITHM.search(rest) else ""
    for at, clause in top_level_split(rest.rstrip().rstrip(";")):
        where = offset + at
        original = stmt.sql[where:where + len(clause)]  # string contents kept: enum values
        if (m := _CHANGE.match(clause)) is not None:
            old = unquote(m["old"])
            change = clause[:6].upper() == "CHANGE" and m["new"] is not None
            new = unquote(m["new"]) if change and m["new"] is not None else old
            definition = original[m.end("new") if change else m.end("old"):].strip()
            new_type = type_of(f"{new} {definition}")
            if _copies(columns.get(old, ""), new_type):
                copy_reason = copy_reason or (
                    f"{clause.split()[0].upper()} {table}.{old} "
                    f"{columns.get(old) or '?'} to {new_type or '?'}")
            columns.pop(old, None)
            columns[new] = new_type
            if new != old:
                hits.append(Hit(RENAME, stmt, where, f"column {table}.{old} to {new}"))
        elif _ADD_COPIES.match(clause):
            copy_reason = copy_reason or " ".join(clause.split()[:4])
        elif (m := _ADD_COLUMN.match(clause)) is not None:
            columns[unquote(m["name"])] = type_of(original[m.start("name"):])
        elif _CONVERT.match(clause):
            copy_reason = copy_reason or "CONVERT TO CHARACTER SET"
        elif _DROP_PK.match(clause) and not _ADD_PK.search(rest):
            copy_reason = copy_reason or "DROP PRIMARY KEY"
        elif _CLAUSE_RENAME.match(clause):
            hits.append(Hit(RENAME, stmt, where, f"{table}: {' '.join(clause.split()[:4])}"))
        elif (m := _CLAUSE_DROP.match(clause)) is not None:
            hits.append(Hit(DROP, stmt, where, f"column {table}.{unquote(m['name'])}"))
        elif _CLAUSE_FK.match(clause):
            hits.append(Hit(FOREIGN_KEY, stmt, where, f"table {table}"))
    if copy_reason and not safe:
        hits.append(Hit(COPY, stmt, offset, copy_reason))


def _copies(old: str, new: str) -> bool:
    """True if changing a column from ``old`` to ``new`` needs ALGORITHM=COPY.

    Measured on MariaDB 10.11 with ``ALGORITHM=INPLACE, LOCK=NONE``: the same
    type (a NULL or default change), a VARCHAR that stays on the same side of
    255 bytes (counted at 4 bytes a character, utf8mb4), and an ENUM or SET
    with values appended run in place; anything else changes the type.
    ``old`` is "" when no earlier file declared the column: then nobody knows.
    """
    if not old or not new:
        return True
    if old == new:
        return False
    a, b = _VARCHAR.match(old), _VARCHAR.match(new)
    if a is not None and b is not None:
        before, after = int(a["n"]), int(b["n"])
        return after < before or (before * 4 < 256) != (after * 4 < 256)
    for kind in ("enum(", "set("):
        if old.startswith(kind) and new.startswith(kind):
            return not new.startswith(old[:-1] + ",")
    return True


RULES = DialectRules((COPY, RENAME, DROP, FOREIGN_KEY, SEVERAL_DDL), lint)
