"""SQLite's differ: the statements that turn one schema model into another.

SQLite's ALTER TABLE can rename a table or a column and append or drop a
column; every other table change is the 12-step rebuild from SQLite's documentation
(new table under a temporary name with the desired CREATE text, rows of the
common columns copied, old table dropped, new one renamed), run under
``-- migrator: foreign-keys-off`` so the drop cascades nothing and the
engine checks the foreign keys before COMMIT. Whether ALTER can do a
change is not guessed from text: the current table is built in an
in-memory database, altered, and its stored text must equal the desired
one, or the table is rebuilt.

A rename of the rebuilt table makes SQLite re-check every view and trigger,
so those that read a rebuilt, renamed or dropped table are dropped first
and created again last (a view is dropped before the column it reads and
recreated after). SQLite column types are affinities: a changed declared
type may convert stored values, so it counts as destructive.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from migrator.backends.sqlite.rebuild import literal, quote_name
from migrator.backends.sqlite.sqlfile import KEYWORDS, StoredObject, pretty_sql
from migrator.diff.model import Renames, Script, Step, maybe_renamed, pair
from migrator.schema import Schema, SchemaObject, Table

FK_OFF = "foreign-keys-off"
TEMP_PREFIX = "_migrator_new_"
_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
_TYPE_END = re.compile(
    r"\s(?:CONSTRAINT|PRIMARY|NOT|NULL|UNIQUE|CHECK|DEFAULT|COLLATE|REFERENCES|GENERATED|AS)\b",
    re.I)
_GENERATED = re.compile(r"\b(?:GENERATED\s+ALWAYS\s+)?AS\s*\(", re.I)
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|\[[^\]]*\]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# What ALTER TABLE ADD COLUMN refuses or checks only against rows.
_NOT_ADDABLE = re.compile(
    r"\b(?:PRIMARY|UNIQUE|STORED|CURRENT_TIME|CURRENT_DATE|CURRENT_TIMESTAMP)\b|DEFAULT\s*\(",
    re.I)


# -- reading a table's definition ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parsed:
    """A table's pretty CREATE text: ``head (`` items ``)`` tail."""

    head: str  # "CREATE TABLE name"
    items: tuple[str, ...]  # one column or table constraint each, no trailing comma
    tail: str  # ") WITHOUT ROWID" and the like, after the closing parenthesis
    virtual: bool

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(name, item) for each column, in order."""
        return [(column_name(i), i) for i in self.items if not is_constraint(i)]


def parse(definition: str) -> Parsed:
    lines = definition.split("\n")
    head = lines[0]
    virtual = head.upper().startswith("CREATE VIRTUAL")
    if len(lines) < 3 or not head.endswith(" ("):
        return Parsed(head, (), "", True)
    items = tuple(line.strip().removesuffix(",") for line in lines[1:-1])
    return Parsed(head[:-2], items, lines[-1], virtual)


def is_constraint(item: str) -> bool:
    word = item.split(" ", 1)[0].split("(", 1)[0].upper()
    return word in _CONSTRAINT_WORDS


def unquote(name: str) -> str:
    if len(name) >= 2 and name[0] + name[-1] in ('""', "``", "[]"):
        inner = name[1:-1]
        return inner.replace('""', '"') if name[0] == '"' else inner.replace("``", "`")
    return name


def _first_token(text: str) -> str:
    match = _QUOTED.match(text)
    if match:
        return match.group(0)
    return re.split(r"[\s(]", text, maxsplit=1)[0]


def column_name(item: str) -> str:
    return unquote(_first_token(item))


def column_type(item: str) -> str:
    rest = item[len(_first_token(item)):]
    match = _TYPE_END.search(rest)
    return (rest[:match.start()] if match else rest).strip()


def is_generated(item: str) -> bool:
    return bool(_GENERATED.search(_QUOTED.sub("''", item)))


def quoted(name: str) -> str:
    """A name as DDL writes it: bare when plain, double-quoted otherwise (keywords too)."""
    return name if _PLAIN.match(name) and name.upper() not in KEYWORDS else quote_name(name)


def _words(text: str) -> set[str]:
    """The lower-cased names a definition mentions (quoted names unquoted)."""
    found = {unquote(q).lower() for q in _QUOTED.findall(text) if not q.startswith("'")}
    found |= {w.lower() for w in _WORD.findall(_QUOTED.sub(" ", text))}
    return found


def _with_name(head: str, name: str) -> str:
    """``CREATE TABLE old`` with its name (the head's last token) replaced."""
    cut = len(head) - len(_last_token(head))
    return head[:cut] + quoted(name)


def _last_token(head: str) -> str:
    for match in _QUOTED.finditer(head):
        if match.end() == len(head):
            return match.group(0)
    return head.rsplit(" ", 1)[-1]


# -- what ALTER TABLE can do, asked of SQLite itself ---------------------------------------


def _addable(item: str) -> bool:
    text = _QUOTED.sub("''", item).upper()
    if _NOT_ADDABLE.search(text):
        return False
    if re.search(r"\bNOT\s+NULL\b", text) and not re.search(r"\bDEFAULT\s+(?!NULL\b)", text):
        return False
    return not (" REFERENCES " in f" {text} " and re.search(r"\bDEFAULT\s+(?!NULL\b)", text))


# -- the script ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    """Statements by phase; the phases' order is the dependency order."""

    drop_objects: list[Step]
    drop_indexes: list[Step]
    drop_tables: list[Step]
    renames: list[Step]
    create_tables: list[Step]
    alter_tables: list[Step]
    create_indexes: list[Step]
    create_objects: list[Step]

    def steps(self) -> tuple[Step, ...]:
        return (*self.drop_objects, *self.drop_indexes, *self.drop_tables, *self.renames,
                *self.create_tables, *self.alter_tables, *self.create_indexes,
                *self.create_objects)


def script(current: Schema, desired: Schema, renames: Renames) -> Script:
    """Statements turning ``current`` into ``desired``, in dependency order.

    SQLite re-checks every view and trigger of the schema on RENAME and DROP
    COLUMN, and refuses if any fails, also one that reads nothing changed here
    (a view that was broken already, say by ``SELECT *`` meeting an added
    column). The script is run on the current schema in memory; each view or
    trigger that blocks it is dropped first and created again last, until none does.
    """
    forced: set[str] = set()
    while True:
        made = _script(current, desired, renames, forced)
        blocker = _blocker(current, made)
        if blocker is None or blocker in forced or len(forced) >= MAX_BLOCKERS:
            return made
        forced.add(blocker)


MAX_BLOCKERS = 50
_BLOCKED = re.compile(r"^error in (?:view|trigger) (.+?): ")


def _blocker(current: Schema, made: Script) -> str | None:
    """The lower-cased name of the first view or trigger that makes a step fail."""
    if not any(" RENAME " in s.sql or " DROP COLUMN " in s.sql for s in made.steps):
        return None
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        for sql in [*(t.definition for t in current.tables),
                    *(i.definition for i in current.indexes),
                    *(o.definition for o in current.objects if o.kind == "view"),
                    *(o.definition for o in current.objects if o.kind != "view")]:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(sql)
        for step in made.steps:
            try:
                conn.execute(step.sql)
            except sqlite3.Error as exc:
                found = _BLOCKED.match(str(exc))
                if found:
                    return unquote(found.group(1)).lower()
    finally:
        conn.close()
    return None


def _script(current: Schema, desired: Schema, renames: Renames, forced: set[str]) -> Script:
    plan = _Plan([], [], [], [], [], [], [], [])
    tables = pair(current.tables, desired.tables, lambda t: t.name, renames.table)
    warnings = maybe_renamed("table", [t.name for t in tables.dropped],
                             [t.name for t in tables.added], lambda o, n: f"{o}:{n}")
    rebuilt: set[str] = set()  # desired names
    touched: set[str] = {t.name.lower() for t in tables.dropped}  # names views may read
    for t in tables.dropped:
        plan.drop_tables.append(Step(f"DROP TABLE {quoted(t.name)}",
                                     destructive=f"drops table {t.name} and its rows"))
    for t in tables.added:
        plan.create_tables.append(Step(readable(t.definition)))
    kept = [*tables.changed, *tables.same]
    for c, d in kept:
        if c.name != d.name:
            plan.renames.append(Step(f"ALTER TABLE {quoted(c.name)} RENAME TO {quoted(d.name)}"))
            touched.add(c.name.lower())
    column_renames: list[str] = []
    for c, d in kept:
        have = {name for name, _ in parse(c.definition).columns}
        for old, new in renames.columns.get(c.name, {}).items():
            if old in have:
                column_renames.append(
                    f"ALTER TABLE {quoted(d.name)} RENAME COLUMN {quoted(old)} TO {quoted(new)}")
                touched.add(c.name.lower())
    plan.renames += [Step(sql) for sql in column_renames]
    sim = Simulation(current.tables, [s.sql for s in plan.renames])
    for c, d in tables.changed:
        steps, reshaped, table_warnings = _table(c, d, renames, sim)
        warnings += table_warnings
        plan.alter_tables += steps
        if reshaped:  # rebuilt, or a column dropped: what reads it is made again
            touched |= {c.name.lower(), d.name.lower()}
            if any(s.sql.startswith("CREATE TABLE") for s in steps):
                rebuilt.add(d.name)

    indexes = pair(current.indexes, desired.indexes, lambda i: i.name)
    gone_tables = {t.name for t in tables.dropped}
    for index in [*indexes.dropped, *(c for c, _ in indexes.changed)]:
        if index.table not in gone_tables:
            plan.drop_indexes.append(Step(f"DROP INDEX {quoted(index.name)}"))
    made = {i.name for i in [*indexes.added, *(d for _, d in indexes.changed)]}
    plan.create_indexes += [Step(readable(i.definition)) for i in desired.indexes
                            if i.name in made or i.table in rebuilt]

    _objects(current.objects, desired.objects, touched | forced, rebuilt, plan, forced)
    directives = (FK_OFF,) if rebuilt else ()
    return Script(plan.steps(), directives, tuple(warnings))


class Simulation:
    """The current tables in an in-memory database, with the script's renames applied:
    what SQLite itself stores after ALTER TABLE, so no ALTER is guessed from text."""

    def __init__(self, tables: Iterable[Table], renames: list[str]) -> None:
        self.tables = [t.definition for t in tables if not parse(t.definition).virtual]
        self.renames = renames

    def after(self, statements: list[str], name: str) -> str | None:
        """The pretty text of table ``name`` after the renames and ``statements``;
        None if SQLite refuses any of them."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            for definition in self.tables:
                try:
                    conn.execute(definition)
                except sqlite3.Error:
                    continue  # the proof will tell; this one is rebuilt from its text
            for sql in [*self.renames, *statements]:
                conn.execute(sql)
            row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = ?", (name,)).fetchone()
        except sqlite3.Error:
            return None
        finally:
            conn.close()
        return None if row is None else pretty_sql(StoredObject("table", name, name, str(row[0])))


def _table(current: Table, desired: Table, renames: Renames,
           sim: Simulation) -> tuple[list[Step], bool, list[str]]:
    """(steps, reshaped?, warnings) for a table in both models whose text differs;
    reshaped: rebuilt or a column dropped, so views and triggers reading it are remade."""
    name = desired.name
    was, want = parse(current.definition), parse(desired.definition)
    column_renames = renames.columns.get(current.name, {})
    carried = [column_renames.get(c, c) for c, _ in was.columns]
    wanted = [c for c, _ in want.columns]
    warnings = [] if column_renames else maybe_renamed(
        "column", [f"{name}.{c}" for c in carried if c not in wanted],
        [f"{name}.{c}" for c in wanted if c not in carried],
        lambda o, n: f"{o}:{n.split('.', 1)[1]}")
    if was.virtual or want.virtual:
        return [Step(f"DROP TABLE {quoted(name)}",
                     destructive=f"recreates virtual table {name}: its rows are lost"),
                Step(readable(desired.definition))], False, warnings
    # ALTER TABLE DROP/ADD COLUMN where SQLite then stores exactly the desired text.
    gone = [c for c in carried if c not in wanted]
    remaining = [c for c in carried if c in wanted]
    if wanted[:len(remaining)] == remaining:
        extra = [item for _, item in want.columns[len(remaining):]]
        drops = [Step(f"ALTER TABLE {quoted(name)} DROP COLUMN {quoted(c)}",
                      destructive=f"drops column {name}.{c}") for c in gone]
        adds = [Step(f"ALTER TABLE {quoted(name)} ADD COLUMN {readable(i)}") for i in extra]
        if all(_addable(i) for i in extra) and \
                sim.after([s.sql for s in (*drops, *adds)], name) == desired.definition:
            return [*drops, *adds], bool(drops), warnings
    return _rebuild(was, want, name, carried, current, desired), True, warnings


def _rebuild(was: Parsed, want: Parsed, name: str, carried: list[str], current: Table,
             desired: Table) -> list[Step]:
    """The 12-step rebuild (foreign keys are off for the file): rows of common columns kept."""
    temp = TEMP_PREFIX + name
    old_types = {c: column_type(item) for c, (_, item) in zip(carried, was.columns, strict=True)}
    old_generated = {c for c, (_, item) in zip(carried, was.columns, strict=True)
                     if is_generated(item)}
    kept = [c for c, item in want.columns
            if c in old_types and c not in old_generated and not is_generated(item)]
    create = _with_name(want.head, temp) + " (\n" + ",\n".join(
        f"    {item}" for item in want.items) + "\n" + want.tail
    steps = [Step(readable(create), note=f"rebuild of {name}: ALTER TABLE cannot make this change")]
    if kept:
        cols = ", ".join(quoted(c) for c in kept)
        steps.append(Step(f"INSERT INTO {quoted(temp)} ({cols}) SELECT {cols} FROM {quoted(name)}"))
    if "AUTOINCREMENT" in current.definition.upper() and \
            "AUTOINCREMENT" in desired.definition.upper():
        # The old counter, which may be above every kept row (deleted rows' ids stay used).
        steps.append(Step(f"DELETE FROM sqlite_sequence WHERE name = {literal(temp)}"))
        steps.append(Step(f"INSERT INTO sqlite_sequence (name, seq) SELECT {literal(temp)}, "
                          f"seq FROM sqlite_sequence WHERE name = {literal(name)}"))
    wanted = {c: column_type(item) for c, item in want.columns}
    lost = [c for c in carried if c not in wanted and c not in old_generated]
    changed = [c for c in carried if c in wanted and c not in old_generated
               and old_types[c].upper() != wanted[c].upper()]
    why = [f"drops column {name}.{c}" for c in lost]
    why += [f"changes the type of {name}.{c} from {old_types[c] or '(none)'} to "
            f"{wanted[c] or '(none)'} (SQLite types are affinities: values may convert)"
            for c in changed]
    steps.append(Step(f"DROP TABLE {quoted(name)}", destructive="; ".join(why) or None))
    steps.append(Step(f"ALTER TABLE {quoted(temp)} RENAME TO {quoted(name)}"))
    return steps


def _objects(current: Iterable[SchemaObject], desired: Iterable[SchemaObject],
             touched: set[str], rebuilt: set[str], plan: _Plan, forced: set[str]) -> None:
    """Views and triggers: dropped first (changed ones, and those reading a table that is
    rebuilt, renamed or dropped, closed over views reading views), created last."""
    objs = pair(current, desired, lambda o: f"{o.kind} {o.name}")
    names = {n.lower() for n in touched}
    cur = list(current)
    down = {id(o) for o in objs.dropped} | {id(c) for c, _ in objs.changed}
    down |= {id(o) for o in cur if o.name.lower() in forced}
    # A dropped view takes its INSTEAD OF triggers along, and breaks views reading it.
    names |= {o.name.lower() for o in cur if id(o) in down and o.kind == "view"}
    words = {id(o): _words(o.definition) for o in cur}
    grew = True
    while grew:
        grew = False
        for o in cur:
            if id(o) in down:
                continue
            if words[id(o)] & names or (o.kind == "trigger" and o.table in rebuilt):
                down.add(id(o))
                grew = True
                if o.kind == "view":
                    names.add(o.name.lower())
    dropped = [o for o in cur if id(o) in down]
    # Triggers first: a trigger may read a view, or be an INSTEAD OF trigger on one.
    for o in sorted(dropped, key=lambda o: o.kind != "trigger"):
        plan.drop_objects.append(Step(f"DROP {o.kind.upper()} {quoted(o.name)}"))
    again = {(o.kind, o.name) for o in dropped}
    wanted = [d for d in desired
              if (d.kind, d.name) in again or any(d is a for a in objs.added)
              or any(d is n for _, n in objs.changed)
              or (d.kind == "trigger" and d.table in rebuilt)]
    for d in _creation_order(wanted):
        plan.create_objects.append(Step(readable(d.definition)))


def _creation_order(objects: list[SchemaObject]) -> list[SchemaObject]:
    """Views that read other views after them; triggers after all views."""
    views = [o for o in objects if o.kind == "view"]
    rest = [o for o in objects if o.kind != "view"]
    ordered: list[SchemaObject] = []
    placed: set[str] = set()
    pending = list(views)
    while pending:
        names = {v.name.lower() for v in pending}
        ready = [v for v in pending
                 if not (_words(v.definition) - {v.name.lower()}) & (names - placed)]
        if not ready:  # a cycle cannot be created anyway; keep the given order
            ready = pending[:1]
        for v in ready:
            ordered.append(v)
            placed.add(v.name.lower())
        pending = [v for v in pending if v not in ready]
    return ordered + rest


_SPACED_PAREN = re.compile(
    r"\b(AS|VALUES|IN|CHECK|DEFAULT|EXISTS|USING|KEY|UNIQUE|BEGIN|WHERE|AND|OR|NOT|THEN|"
    r"ELSE|WHEN|ON)\(", re.I)


def readable(sql: str) -> str:
    """Normalized DDL with the spaces a person writes put back (``a, b``, ``) AS``,
    ``VALUES (``). Only spaces around parentheses and commas, outside quotes: the
    catalog's normalization removes exactly those, so the model stays the same."""
    out: list[str] = []
    last = 0
    for match in _QUOTED.finditer(sql):
        text = _spaced(sql[last:match.start()])
        out.append(text + " " if text.endswith((",", ")")) else text)
        out.append(match.group(0))
        last = match.end()
    out.append(_spaced(sql[last:]))
    return "".join(out)


def _spaced(text: str) -> str:
    text = re.sub(r",(?=[^\s])", ", ", text)
    text = re.sub(r"\)(?=[A-Za-z_0-9'\"])", ") ", text)
    return _SPACED_PAREN.sub(r"\1 (", text)


def comparable(schema: Schema) -> Schema:
    """Unchanged: the generated SQL reproduces the desired text itself (rebuilds use the
    desired CREATE text, and ALTER is used only where SQLite stores that same text)."""
    return schema
