"""Small readings of the schema model for PostgreSQL's differ: which sequences an
identity column owns, a function's header, what a foreign key references, the
order views are created in.
"""

from __future__ import annotations

import re

from migrator.backends.postgres import diff_types
from migrator.backends.postgres.diff_text import q, sql, tokens
from migrator.diff.model import Pairing, Step
from migrator.schema import Constraint, Index, Schema, SchemaObject, Table

VIEWS = ("view", "materialized view")

def identity_sequences(schema: Schema) -> set[str]:
    identity = {(t.name, c.name) for t in schema.tables for c in t.columns
                if c.generated and "IDENTITY" in c.generated}
    return {o.name for o in schema.objects if o.kind == "sequence"
            and diff_types.owner_column(o.definition) in identity}


def constraint_indexes(schema: Schema) -> set[str]:
    return {k.name for t in schema.tables for k in t.constraints
            if k.kind in ("primary", "unique", "exclude")}


def header(definition: str) -> list[str]:
    """A function's name, arguments (with defaults) and result: what OR REPLACE keeps."""
    lines = definition.splitlines()
    return [ln for ln in lines[:6] if ln.startswith(("CREATE", " RETURNS"))]


def body(definition: str) -> str:
    """A function's body (``AS $function$...`` or ``BEGIN ATOMIC ...``), without the
    header, whose ``LANGUAGE`` or ``RETURNS text`` would read as table names."""
    lines = definition.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("AS ", "BEGIN")):
            return "\n".join(lines[i:])
    return definition.split("\n", 1)[-1]


def checked_body(definition: str) -> bool:
    """Whether the server resolves the body's tables when the function is created:
    SQL functions (plpgsql bodies are checked for syntax only)."""
    return any(line.strip() == "LANGUAGE sql" for line in definition.splitlines()[:8])


def bare(signature: str) -> str:
    return signature.split("(", 1)[0]


def create(o: SchemaObject) -> Step:
    return Step(sql(o.definition))


def drop_routine(o: SchemaObject) -> Step:
    word = "PROCEDURE" if o.definition.startswith("CREATE OR REPLACE PROCEDURE") else "FUNCTION"
    name, _, args = o.name.partition("(")
    return Step(f"DROP {word} {q(name)}({args}")


def mentions_views(o: SchemaObject, schema: Schema) -> bool:
    views = {v.name for v in schema.objects if v.kind in VIEWS}
    return bool(tokens(body(o.definition)) & views)


def after_on(trigger: str) -> str:
    return trigger.split(" EXECUTE ", 1)[-1]


def references(fk: Constraint) -> str:
    m = re.search(r"REFERENCES (\"(?:[^\"]|\"\")+\"|[^\s(]+)\(", fk.definition)
    if m is None:
        return ""
    name = m[1].replace("<schema>.", "")
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def ordered(views: list[SchemaObject]) -> list[SchemaObject]:
    """Views in creation order: one that mentions another comes after it."""
    names = {v.name for v in views}
    needs = {v.name: tokens(v.definition) & names - {v.name} for v in views}
    done: list[SchemaObject] = []
    placed: set[str] = set()
    pending = list(views)
    while pending:
        ready = [v for v in pending if needs[v.name] <= placed] or pending[:1]
        for v in ready:
            done.append(v)
            placed.add(v.name)
            pending.remove(v)
    return done


def old_name(name: str) -> str:
    return f"{name}__migrator_old"


def type_word(o: SchemaObject) -> str:
    return "DOMAIN" if diff_types.kind_of(o.definition) == "DOMAIN" else "TYPE"


# -- partitioning (the catalog's Table.definition) ---------------------------------------------

def partitioning(table: Table) -> tuple[str, str, str]:
    """(parent, bound, key): ``events``, ``FOR VALUES FROM (...) TO (...)``, ``PARTITION BY
    RANGE (at)``; "" for what the table is not."""
    parent = bound = key = ""
    for line in table.definition.splitlines():
        if line.startswith("PARTITION OF "):
            m = re.match(r'PARTITION OF ("(?:[^"]|"")+"|\S+) (.+)$', line, re.S)
            if m:
                parent, bound = m[1], m[2]
        elif line.startswith("PARTITION BY "):
            key = line
    return parent, bound, key


def by_depth(tables: list[Table], deepest_first: bool = False) -> list[Table]:
    """Tables with partitioned parents after those parents (among ``tables``), or
    before them; otherwise in their own order."""
    names = {q(t.name): t for t in tables}

    def depth(t: Table, seen: int = 0) -> int:
        parent = partitioning(t)[0]
        return 0 if not parent or parent not in names or seen > 50 else \
            1 + depth(names[parent], seen + 1)

    return sorted(tables, key=lambda t: -depth(t) if deepest_first else depth(t))


def repartitioned(tables: Pairing[Table]) -> Pairing[Table]:
    """A table whose partitioning changes is dropped and created (no ALTER attaches a
    table to a new key), and with a partitioned table go its partitions."""
    redo = {c.name for c, d in tables.changed if c.definition != d.definition}
    grown = True
    while grown:
        grown = False
        for c, _ in tables.changed + tables.same:
            parent = partitioning(c)[0]
            if parent and c.name not in redo and parent in {q(n) for n in redo}:
                redo.add(c.name)
                grown = True
    if not redo:
        return tables
    moved = [(c, d) for c, d in tables.changed + tables.same if c.name in redo]
    return Pairing(tables.added + [d for _, d in moved], tables.dropped + [c for c, _ in moved],
                   [p for p in tables.changed if p[0].name not in redo],
                   [p for p in tables.same if p[0].name not in redo])


def create_index(index: Index) -> str:
    """An index as created: ``ON ONLY`` (how a partitioned table's index reads) would
    leave the partitions without theirs."""
    return sql(index.definition).replace(" ON ONLY ", " ON ", 1)

