"""One kept table's column changes on PostgreSQL, as ALTER TABLE statements.

What cannot be altered in place is dropped and added: a generated column's
expression (PostgreSQL 15 has no SET EXPRESSION), or a plain column that
becomes generated. A type change drops the default first and sets it after
(a default of the old type may not cast), and casts through ``USING`` when
the base type changes; a column of an enum or domain that is rebuilt is cast
through text to the new type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from migrator.backends.postgres.diff_text import narrows, needs_using, q, sql
from migrator.diff.model import Step, maybe_renamed, pair
from migrator.schema import Column, Table


@dataclass
class ColumnWork:
    steps: list[Step] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)  # columns that go (or go and come back)
    readded: set[str] = field(default_factory=set)  # dropped and added again
    disturbs: bool = False  # a view reading this table must be dropped first
    warnings: list[str] = field(default_factory=list)


def column_sql(col: Column, identity: str = "") -> str:
    """A column as CREATE TABLE or ADD COLUMN declares it."""
    text = f"{q(col.name)} {sql(col.type)}"
    if col.collation:
        text += f" COLLATE {col.collation}"
    if col.generated:
        text += f" {sql(col.generated)}"
        if identity and "IDENTITY" in col.generated:
            text += f" {identity}"
    elif col.default is not None:
        text += f" DEFAULT {sql(col.default)}"
    if not col.nullable:
        text += " NOT NULL"
    return text


def _user_type(type_text: str) -> str:
    return type_text.removesuffix("[]").strip('"')


def alter_columns(current: Table, desired: Table, rebuilt_types: set[str],
                  identity: Callable[[str, str], str],
                  via: dict[str, str] | None = None) -> ColumnWork:
    """``via``: the user types (enums, domains, composites) and what a cast to or from
    one goes through: an enum has no cast from an integer or another enum, but text has
    one to each; a domain goes through its base type."""
    work = ColumnWork()
    table = q(desired.name)
    at = f"ALTER TABLE {table}"
    columns = pair(current.columns, desired.columns, lambda c: c.name)
    readd = [(c, d) for c, d in columns.changed if _needs_readd(c, d)]
    work.warnings += maybe_renamed(
        "column", [f"{desired.name}.{c.name}" for c in columns.dropped],
        [f"{desired.name}.{d.name}" for d in columns.added],
        lambda old, new: f"{current.name}.{old.rpartition('.')[2]}:{new.rpartition('.')[2]}")
    for c in columns.dropped:
        work.steps.append(Step(f"{at} DROP COLUMN {q(c.name)}",
                               destructive=f"drops column {desired.name}.{c.name}"))
        work.dropped.add(c.name)
    for c, _d in readd:
        loss = None if c.generated and "IDENTITY" not in c.generated else \
            f"replaces column {desired.name}.{c.name} by a generated one"
        work.steps.append(Step(f"{at} DROP COLUMN {q(c.name)}", destructive=loss,
                               note="a generated column's expression cannot be altered"))
        work.dropped.add(c.name)
        work.readded.add(c.name)
    if columns.dropped or readd:
        work.disturbs = True
    rebuilt = [(c, d) for c, d in columns.same if _user_type(c.type) in rebuilt_types]
    for c, d in columns.changed + rebuilt:
        if (c, d) in readd:
            continue
        work.steps += _alter(at, desired.name, c, d, rebuilt_types, via or {}, identity,
                             work)
    for d in columns.added + [d for _, d in readd]:
        work.steps.append(Step(f"{at} ADD COLUMN {column_sql(d, identity(desired.name, d.name))}"))
        if not d.nullable and d.default is None and not d.generated:
            work.warnings.append(f"{desired.name}.{d.name} is added NOT NULL without a default: "
                                 "the statement fails if the table has rows")
    return work


def _needs_readd(c: Column, d: Column) -> bool:
    stored = (d.generated or "").endswith("STORED")
    was_stored = (c.generated or "").endswith("STORED")
    if c.generated == d.generated:
        return False
    return stored or (was_stored and bool(d.generated))


def _alter(at: str, table: str, c: Column, d: Column, rebuilt_types: set[str],
           via: dict[str, str], identity: Callable[[str, str], str],
           work: ColumnWork) -> list[Step]:
    col = f"{at} ALTER COLUMN {q(d.name)}"
    steps: list[Step] = []
    was_identity = bool(c.generated and "IDENTITY" in c.generated)
    is_identity = bool(d.generated and "IDENTITY" in d.generated)
    if was_identity and not is_identity:
        steps.append(Step(f"{col} DROP IDENTITY"))
    if (c.generated or "").endswith("STORED") and not d.generated:
        steps.append(Step(f"{col} DROP EXPRESSION"))
    rebuilt = c.type == d.type and _user_type(d.type) in rebuilt_types
    retype = c.type != d.type or c.collation != d.collation or rebuilt
    if c.default is not None and (c.default != d.default or retype):
        steps.append(Step(f"{col} DROP DEFAULT"))
    if retype:
        work.disturbs = True
        collate = f" COLLATE {d.collation or 'pg_catalog.default'}" \
            if c.collation != d.collation else ""
        using = ""
        middle = via.get(_user_type(d.type)) or via.get(_user_type(c.type))
        if middle and (rebuilt or c.type != d.type):
            if d.type.endswith("[]") and not middle.endswith("[]"):
                middle += "[]"
            using = f" USING {q(d.name)}::{sql(middle)}::{sql(d.type)}"
        elif c.type != d.type and needs_using(c.type, d.type):
            using = f" USING {q(d.name)}::{sql(d.type)}"
        loss = None
        if c.type != d.type and narrows(c.type, d.type):
            loss = f"changes {table}.{d.name} from {c.type} to {d.type}"
        steps.append(Step(f"{col} TYPE {sql(d.type)}{collate}{using}", destructive=loss))
    if c.nullable != d.nullable and not (is_identity and not was_identity):
        steps.append(Step(f"{col} {'DROP' if d.nullable else 'SET'} NOT NULL"))
    if d.default is not None and (c.default != d.default or retype):
        steps.append(Step(f"{col} SET DEFAULT {sql(d.default)}"))
    if is_identity and not was_identity:
        assert d.generated is not None
        kind = d.generated.removeprefix("GENERATED ").removesuffix(" AS IDENTITY")
        if c.nullable:
            steps.append(Step(f"{col} SET NOT NULL"))
        steps.append(Step(f"{col} ADD GENERATED {kind} AS IDENTITY "
                          f"{identity(table, d.name)}".rstrip()))
    elif is_identity and c.generated != d.generated:
        assert d.generated is not None
        kind = d.generated.removeprefix("GENERATED ").removesuffix(" AS IDENTITY")
        steps.append(Step(f"{col} SET GENERATED {kind}"))
    return steps
