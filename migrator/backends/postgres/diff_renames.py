"""What ``--rename`` does on PostgreSQL: RENAME statements first, then the current
model rewritten as the server will show it after them, so the rest of the
differ compares like with like.

A renamed table keeps its constraints', indexes' and serial sequence's names;
where the desired schema has the same object under the new table's usual
name (``users_pkey`` for ``people_pkey``), it is renamed too rather than
dropped and added: same definition, same table, the user said so.
"""

from __future__ import annotations

import dataclasses
import re

from migrator.backends.postgres.diff_text import q
from migrator.backends.postgres.diff_types import owner_column
from migrator.diff.model import Renames, Step
from migrator.schema import PLACEHOLDER, Column, Constraint, Index, Schema, SchemaObject, Table


def apply(current: Schema, desired: Schema, renames: Renames) -> tuple[Schema, list[Step],
                                                                       list[str]]:
    """(current as it reads after the renames, the rename steps, warnings)."""
    have = {t.name: t for t in current.tables}
    want = {t.name: t for t in desired.tables}
    steps: list[Step] = []
    warnings: list[str] = []
    tables: dict[str, str] = {}
    for old, new in renames.tables.items():
        if old in have and new in want and new not in have:
            tables[old] = new
            steps.append(Step(f"ALTER TABLE {q(old)} RENAME TO {q(new)}"))
        else:
            warnings.append(f"--rename {old}:{new} ignored: {old} is no table of the current "
                            f"schema or {new} none of the desired one (only)")
    columns: dict[str, dict[str, str]] = {}
    for table, cols in renames.columns.items():
        target = tables.get(table, table)
        for old, new in cols.items():
            known = table in have and any(c.name == old for c in have[table].columns)
            wanted = target in want and any(c.name == new for c in want[target].columns)
            if known and wanted:
                columns.setdefault(table, {})[old] = new
                steps.append(Step(f"ALTER TABLE {q(target)} RENAME COLUMN {q(old)} TO {q(new)}"))
            else:
                warnings.append(f"--rename {table}.{old}:{new} ignored: no such column in the "
                                "current schema, or none by the new name in the desired one")
    if not tables and not columns:
        return current, steps, warnings
    renamed = _rewrite(current, tables, columns)
    extra, renamed = _names(renamed, desired, set(tables.values()) | {
        tables.get(t, t) for t in columns})
    return _fix_defaults(renamed, extra), steps + extra, warnings


def _rewrite(schema: Schema, tables: dict[str, str],
             columns: dict[str, dict[str, str]]) -> Schema:
    def table_ref(text: str) -> str:
        for old, new in tables.items():
            text = re.sub(rf"(?<![\w$\"]){re.escape(q(old))}(?![\w$\"])", q(new), text)
        return text

    def column_ref(table: str, text: str) -> str:
        """The server renames a column inside its table's constraints and indexes too."""
        for old, new in columns.get(table, {}).items():
            text = re.sub(rf"(?<![\w$\"']){re.escape(q(old))}(?![\w$\"'])", q(new), text)
        return text

    def constraint(table: str, k: Constraint) -> Constraint:
        own, refs, target = k.definition, "", ""
        if k.kind == "foreign" and " REFERENCES " in k.definition:
            own, _, refs = k.definition.partition(" REFERENCES ")
            target = _referenced(refs)
            refs = " REFERENCES " + column_ref(target, refs)
        return Constraint(k.name, k.kind, table_ref(column_ref(table, own) + refs))

    def index(i: Index) -> Index:
        head, using, tail = i.definition.partition(" USING ")
        return Index(i.name, tables.get(i.table, i.table),
                     table_ref(head + using + column_ref(i.table, tail)), i.unique)

    out_tables = []
    for t in schema.tables:
        cols = columns.get(t.name, {})
        out_tables.append(Table(
            tables.get(t.name, t.name),
            tuple(dataclasses.replace(c, name=cols.get(c.name, c.name)) for c in t.columns),
            tuple(constraint(t.name, k) for k in t.constraints), t.definition))
    indexes = tuple(index(i) for i in schema.indexes)
    objects = []
    for o in schema.objects:
        if o.kind == "trigger":
            name = tables.get(o.table, o.table) + o.name[len(o.table):]
            o = SchemaObject(o.kind, name, table_ref(o.definition), tables.get(o.table, o.table))
        elif o.kind == "sequence":
            o = dataclasses.replace(o, definition=_owner(o.definition, tables, columns))
        objects.append(o)
    return Schema(tuple(out_tables), indexes, tuple(objects))


def _referenced(refs: str) -> str:
    """The table named by ``REFERENCES`` text (``<schema>.t(id) ...`` or ``"T"(id)``)."""
    name = refs.split("(", 1)[0].strip().removeprefix(PLACEHOLDER + ".")
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _owner(definition: str, tables: dict[str, str], columns: dict[str, dict[str, str]]) -> str:
    owner = owner_column(definition)
    if owner is None:
        return definition
    table, column = owner
    new = f"{q(tables.get(table, table))}.{q(columns.get(table, {}).get(column, column))}"
    return definition[:definition.rindex(" OWNED BY ")] + f" OWNED BY {new}"


def _names(current: Schema, desired: Schema, touched: set[str]) -> tuple[list[Step], Schema]:
    """Renames of a renamed table's constraints, indexes and owned sequences whose
    definitions match the desired ones under other names."""
    steps: list[Step] = []
    want = {t.name: t for t in desired.tables}
    renamed: dict[str, str] = {}  # constraint (and so index) names, old -> new
    tables = []
    for t in current.tables:
        target = want.get(t.name)
        if t.name not in touched or target is None:
            tables.append(t)
            continue
        taken = {k.name for k in t.constraints}
        free = [k for k in target.constraints if k.name not in taken]
        out = []
        for k in t.constraints:
            match = next((d for d in free if (d.kind, d.definition) == (k.kind, k.definition)
                          and k.name not in {c.name for c in target.constraints}), None)
            if match is not None:
                free.remove(match)
                steps.append(Step(f"ALTER TABLE {q(t.name)} RENAME CONSTRAINT {q(k.name)} "
                                  f"TO {q(match.name)}"))
                renamed[k.name] = match.name
                k = Constraint(match.name, k.kind, k.definition)
            out.append(k)
        tables.append(Table(t.name, t.columns, tuple(out), t.definition))
    indexes = _index_names(current, desired, touched, renamed, steps)
    objects = _sequence_names(current, desired, touched, steps)
    return steps, Schema(tuple(tables), indexes, objects)


def _index_names(current: Schema, desired: Schema, touched: set[str], renamed: dict[str, str],
                 steps: list[Step]) -> tuple[Index, ...]:
    want = {i.name: i for i in desired.indexes}
    out = []
    for i in current.indexes:
        new_name = renamed.get(i.name)
        if new_name is None and i.table in touched and i.name not in want:
            match = next((d for d in desired.indexes if d.table == i.table
                          and d.name not in {c.name for c in current.indexes}
                          and _anonymous(d) == _anonymous(i)), None)
            if match is not None:
                steps.append(Step(f"ALTER INDEX {q(i.name)} RENAME TO {q(match.name)}"))
                new_name = match.name
        if new_name is not None:
            name = new_name
            i = Index(name, i.table, i.definition.replace(f" {q(i.name)} ON ", f" {q(name)} ON ",
                                                          1), i.unique)
        out.append(i)
    return tuple(out)


def _anonymous(index: Index) -> str:
    return index.definition.replace(f" {q(index.name)} ON ", " ON ", 1)


def _sequence_names(current: Schema, desired: Schema, touched: set[str],
                    steps: list[Step]) -> tuple[SchemaObject, ...]:
    want = {o.name: o for o in desired.objects if o.kind == "sequence"}
    owners = {owner_column(o.definition): o.name for o in want.values()}
    out: list[SchemaObject] = []
    for o in current.objects:
        if o.kind == "sequence" and o.name not in want:
            owner = owner_column(o.definition)
            new = owners.get(owner) if owner and owner[0] in touched else None
            if new is not None and new not in {c.name for c in current.objects
                                               if c.kind == "sequence"}:
                steps.append(Step(f"ALTER SEQUENCE {q(o.name)} RENAME TO {q(new)}"))
                o = SchemaObject(o.kind, new, o.definition, o.table)
        out.append(o)
    return tuple(out)


def _fix_defaults(schema: Schema, steps: list[Step]) -> Schema:
    """Column defaults as the server shows them after ``ALTER SEQUENCE ... RENAME``."""
    moved = {}
    for step in steps:
        m = re.match(r"ALTER SEQUENCE (\S+) RENAME TO (\S+)$", step.sql)
        if m:
            moved[m[1].strip('"')] = m[2].strip('"')
    if not moved:
        return schema

    def fix(col: Column) -> Column:
        if col.default is None:
            return col
        text = col.default
        for old, new in moved.items():
            for prefix in (f"nextval('{PLACEHOLDER}.", "nextval('"):
                text = text.replace(f"{prefix}{q(old)}'", f"{prefix}{q(new)}'")
        return dataclasses.replace(col, default=text)

    tables = tuple(Table(t.name, tuple(fix(c) for c in t.columns), t.constraints, t.definition)
                   for t in schema.tables)
    return Schema(tables, schema.indexes, schema.objects)
