"""One normalized schema model that every dialect's catalog walker fills.

Plain, frozen, typed data: two models compare with ``==`` and render as
lines for a diff, so ``test``, ``squash``, ``dump`` and whatever compares
schemas next never read a catalog themselves. Each dialect fills what it
has (SQLite has no sequences or routines) and leaves the rest empty; a
``definition`` is the dialect's own normalized text for the object, so the
model stays faithful where the structured fields say less than the server.
Names are unqualified: a model describes one namespace (a SQLite file, a
PostgreSQL schema, a MySQL database), with that namespace's own name
written as ``<schema>`` wherever the server's text names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PLACEHOLDER = "<schema>"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # as the dialect spells it: "integer", "varchar(20)", "TEXT"
    nullable: bool = True
    default: str | None = None  # the default expression's text
    generated: str | None = None  # "GENERATED ALWAYS AS (...) STORED", identity, ...
    collation: str | None = None


@dataclass(frozen=True, slots=True)
class Constraint:
    name: str
    kind: str  # "primary" | "foreign" | "unique" | "check" | "exclude"
    definition: str  # e.g. "FOREIGN KEY (a) REFERENCES t(id)"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    definition: str = ""  # the CREATE statement where the dialect keeps one (SQLite)


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    table: str
    definition: str  # the CREATE INDEX statement, partial and expression parts included
    unique: bool = False


@dataclass(frozen=True, slots=True)
class SchemaObject:
    """A view, trigger, routine, sequence or type: a name and its definition."""

    kind: str  # "view" | "materialized view" | "trigger" | "function" | "procedure"
    #            | "sequence" | "type" | "domain" | "event"
    name: str
    definition: str
    table: str = ""  # the table a trigger is on; "" otherwise


@dataclass(frozen=True, slots=True)
class Schema:
    """What the migrations built in one namespace; bookkeeping tables left out."""

    tables: tuple[Table, ...] = ()
    indexes: tuple[Index, ...] = ()
    objects: tuple[SchemaObject, ...] = field(default=())  # views, triggers, routines, ...

    def lines(self) -> list[str]:
        """The model as text lines, each group in name order: for a unified diff."""
        out: list[str] = []
        for table in sorted(self.tables, key=lambda t: t.name):
            out.append(f"-- table {table.name}")
            if table.definition:
                out.extend(_body(table.definition))
            for col in table.columns:
                text = f"  {col.name} {col.type}" + ("" if col.nullable else " NOT NULL")
                if col.generated:
                    text += f" {col.generated}"
                elif col.default is not None:
                    text += f" DEFAULT {col.default}"
                if col.collation:
                    text += f" COLLATE {col.collation}"
                out.append(text)
            out.extend(f"  CONSTRAINT {c.name} {c.definition}" for c in table.constraints)
        for index in sorted(self.indexes, key=lambda i: i.name):
            out.append(f"-- index {index.name}")
            out.extend(_body(index.definition))
        for obj in sorted(self.objects, key=lambda o: (o.kind, o.name)):
            out.append(f"-- {obj.kind} {obj.name}")
            out.extend(_body(obj.definition))
        return out

    @property
    def empty(self) -> bool:
        return not (self.tables or self.indexes or self.objects)


def _body(definition: str) -> list[str]:
    return [line.rstrip() for line in definition.strip().splitlines()]
