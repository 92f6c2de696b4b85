"""Small readings of the schema model for PostgreSQL's differ: which sequences an
identity column owns, a function's header, what a foreign key references, the
order views are created in.
"""

from __future__ import annotations

import re

from migrator.backends.postgres import diff_types
from migrator.backends.postgres.diff_text import q, sql, tokens
from migrator.diff.model import Step
from migrator.schema import Constraint, Schema, SchemaObject

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
    return definition.split("\n", 1)[-1]


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
