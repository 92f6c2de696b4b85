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
from migrator.lint.text import masked, unquote
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
_CONVERT = re.compile(r"^CONVERT\s+TO\s+(?:CHARACTER\s+SET|CHARSET)\b", re.IGNORECASE)
_DROP_PK = re.compile(r"^DROP\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_ADD_PK = re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\b", re.IGNORECASE)


def _clauses(rest: str) -> list[tuple[int, str]]:
    """The comma-separated clauses of an ALTER TABLE, with their offsets, outside parentheses."""
    found: list[tuple[int, str]] = []
    depth = start = 0
    for i, ch in enumerate(rest):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            found.append((start, rest[start:i]))
            start = i + 1
    found.append((start, rest[start:]))
    return [(at + len(c) - len(c.lstrip()), c.strip()) for at, c in found if c.strip()]


def lint(ctx: FileContext) -> list[Hit]:
    hits: list[Hit] = []
    ddl = 0
    touched_existing = warned = False
    for stmt in ctx.statements:
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
        ctx.new_tables.add(unquote(m["name"]))
        return False
    if (m := _RENAME.match(sql)) is not None:
        old, new = unquote(m["name"]), unquote(m["to"])
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
        if existing:
            hits.append(Hit(DROP, stmt, m.start("names"), f"table {', '.join(existing)}"))
        return bool(existing)
    if (m := _ALTER.match(sql)) is not None:
        table = unquote(m["name"])
        if table in ctx.new_tables:
            return False
        _alter(table, m["rest"], m.start("rest"), hits, stmt)
        return True
    return False


def _alter(table: str, rest: str, offset: int, hits: list[Hit], stmt: Statement) -> None:
    safe = _SAFE_ALGORITHM.search(rest) is not None
    copy_reason = "ALGORITHM=COPY" if _COPY_ALGORITHM.search(rest) else ""
    for at, clause in _clauses(rest.rstrip().rstrip(";")):
        where = offset + at
        if (m := _CHANGE.match(clause)) is not None:
            copy_reason = copy_reason or f"{clause.split()[0].upper()} {table}.{unquote(m['old'])}"
            if clause[:6].upper() == "CHANGE" and m["new"] is not None \
                    and unquote(m["new"]) != unquote(m["old"]):
                hits.append(Hit(RENAME, stmt, where,
                                f"column {table}.{unquote(m['old'])} to {unquote(m['new'])}"))
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


RULES = DialectRules((COPY, RENAME, DROP, FOREIGN_KEY, SEVERAL_DDL), lint)
