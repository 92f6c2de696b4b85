"""PostgreSQL's differ: the statements that turn one schema model into another.

Tables are altered in place (only a change of partitioning rebuilds one), in an order the
server accepts: renames; drops of what depends on what changes (triggers,
views, foreign keys, indexes, constraints); types, sequences and functions
that tables use; new tables and column changes; then drops of what went,
and the constraints, indexes, foreign keys, views and triggers of the
desired schema. Dependencies are read from the definitions' identifiers,
an over-approximation: a view that mentions a changed table is dropped and
created again even if it reads none of the changed columns, which costs
nothing but a longer file. The limits are in the README ("### PostgreSQL").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from migrator.backends.postgres import diff_model as model
from migrator.backends.postgres import diff_renames, diff_types
from migrator.backends.postgres.diff_columns import alter_columns, column_sql
from migrator.backends.postgres.diff_text import literal, q, sql, tokens
from migrator.diff.model import Renames, Script, Step, maybe_renamed, pair
from migrator.schema import Constraint, Index, Schema, SchemaObject

_VIEWS = model.VIEWS


def comparable(schema: Schema) -> Schema:
    """The model without column order: ``ADD COLUMN`` appends, so a column added in
    the middle of a table lands last (its position is the one thing not reproduced)."""
    tables = tuple(dataclasses.replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name)))
                   for t in schema.tables)
    return Schema(tables, schema.indexes, schema.objects)


def script(current: Schema, desired: Schema, renames: Renames) -> Script:
    current, first, warnings = diff_renames.apply(current, desired, renames)
    plan = _Plan(current, desired)
    steps = first + plan.steps()
    warnings += plan.warnings
    directives: tuple[str, ...] = ()
    if plan.added_enum_values and _uses_new_values(steps, plan.added_enum_values):
        directives = ("no-transaction",)
        warnings.append("an enum value added here is used by a later statement of the same "
                        "file: PostgreSQL allows that only after the ADD VALUE committed, so the "
                        "file runs without a transaction (-- migrator: no-transaction)")
    return Script(tuple(steps), directives, tuple(warnings))


def _uses_new_values(steps: list[Step], values: set[str]) -> bool:
    seen = False
    for step in steps:
        if "ADD VALUE" in step.sql and step.sql.startswith("ALTER TYPE"):
            seen = True
            continue
        if seen and any(v in step.sql for v in values):
            return True
    return False


class _Plan:
    """One direction's statements, computed phase by phase."""

    def __init__(self, current: Schema, desired: Schema) -> None:
        self.cur, self.want = current, desired
        self.warnings: list[str] = []
        self.added_enum_values: set[str] = set()
        self.cur_tables = {t.name: t for t in current.tables}
        self.want_tables = {t.name: t for t in desired.tables}
        self.cur_objects = {(o.kind, o.name): o for o in current.objects}
        self.want_objects = {(o.kind, o.name): o for o in desired.objects}
        tables = model.repartitioned(pair(current.tables, desired.tables, lambda t: t.name))
        self.tables = tables
        added = [t.name for t in tables.added]
        self.warnings += maybe_renamed("table", [t.name for t in tables.dropped
                                                 if t.name not in added],
                                       [t.name for t in tables.added
                                        if t.name not in {c.name for c in tables.dropped}],
                                       lambda o, n: f"{o}:{n}")
        self.dropped_tables = {t.name for t in tables.dropped}
        self.identity_sequences = model.identity_sequences(current) | \
            model.identity_sequences(desired)
        self.identity_alters: list[Step] = []
        self._classify()

    # -- what changes, and what must go and come back because of it -----------------------

    def _classify(self) -> None:
        cur, want = self.cur_objects, self.want_objects
        # types: rebuilt when ALTER cannot get there
        self.type_steps: list[Step] = []
        self.rebuilt_types: set[str] = set()
        for (kind, name), old in cur.items():
            new = want.get((kind, name))
            if kind != "type" or new is None or new.definition == old.definition:
                continue
            steps = self._alter_type(name, old.definition, new.definition)
            if steps is None:
                self.rebuilt_types.add(name)
            else:
                self.type_steps += steps
        # functions: CREATE OR REPLACE keeps the header; else dropped and created
        self.replaced_functions: list[SchemaObject] = []
        self.recreated_functions: set[str] = set()
        for (kind, name), old in cur.items():
            new = want.get((kind, name))
            if kind != "function" or new is None or new.definition == old.definition:
                continue
            if model.header(old.definition) == model.header(new.definition):
                self.replaced_functions.append(new)
            else:
                self.recreated_functions.add(name)
        gone_functions = {n for (k, n) in cur if k == "function" and (k, n) not in want}
        gone_types = {n for (k, n) in cur if k == "type" and (k, n) not in want}
        self.column_work = {
            d.name: alter_columns(t, d, self.rebuilt_types, self._identity, self._via())
            for t, d in self.tables.changed + self.tables.same}
        partitions = {t.name for t in self.want.tables if model.partitioning(t)[0]}
        self.column_work = {n: w for n, w in self.column_work.items()
                            if w.steps and n not in partitions}  # the parent's changes reach them
        for work in self.column_work.values():
            self.warnings += work.warnings
        disturbed = set(self.dropped_tables) | self.rebuilt_types | gone_types | {
            model.bare(f) for f in gone_functions | self.recreated_functions}
        disturbed |= {name for name, work in self.column_work.items() if work.disturbs}
        self.view_drops = self._views_to_drop(disturbed)
        self.routine_names = self.rebuilt_types | gone_types | {
            model.bare(f) for f in gone_functions | self.recreated_functions}

    def _via(self) -> dict[str, str]:
        """What a cast to or from each user type goes through (see ``alter_columns``)."""
        via = {o.name: "text" for o in self.cur.objects if o.kind == "type"}
        for o in self.want.objects:
            if o.kind == "type":
                kind = diff_types.kind_of(o.definition)
                via[o.name] = diff_types.domain(o.definition).base if kind == "DOMAIN" \
                    else "text"
        return via

    def _alter_type(self, name: str, old: str, new: str) -> list[Step] | None:
        kind = diff_types.kind_of(old)
        if kind != diff_types.kind_of(new):
            return None
        if kind == "ENUM":
            old_values = diff_types.enum_values(old)
            new_values = diff_types.enum_values(new)
            steps = diff_types.enum_additions(name, old_values, new_values)
            if steps is not None:
                self.added_enum_values |= {literal(v) for v in new_values if v not in old_values}
            return steps
        if kind == "DOMAIN":
            a, b = diff_types.domain(old), diff_types.domain(new)
            if (a.base, a.collation) != (b.base, b.collation):
                return None
            return diff_types.alter_domain(name, a, b)
        return diff_types.alter_composite(name, diff_types.attributes(old),
                                          diff_types.attributes(new))

    def _views_to_drop(self, disturbed: set[str]) -> set[str]:
        """Current views that go, change, or read something that changes (transitively)."""
        views = {o.name: o for o in self.cur.objects if o.kind in _VIEWS}
        drop = {name for name, o in views.items()
                if self.want_objects.get((o.kind, name)) != o}
        mentions = {name: tokens(o.definition) for name, o in views.items()}
        grown = True
        while grown:
            grown = False
            for name in views:
                if name not in drop and mentions[name] & (disturbed | drop):
                    drop.add(name)
                    grown = True
        return drop

    # -- the statements --------------------------------------------------------------------

    def steps(self) -> list[Step]:
        out: list[Step] = []
        triggers_back = self._drop_triggers(out)
        views_back = self._drop_views(out)
        fks_back = self._drop_foreign_keys(out)
        indexes_back = self._drop_indexes(out)
        constraints_back = self._drop_constraints(out)
        self._types_and_sequences(out)
        late_functions = self._functions_first(out)
        self._drop_tables(out)  # first: a new table may reuse a dropped one's index names
        self._create_tables(out)
        for work in self.column_work.values():
            out += work.steps
        self._drop_old_types(out)
        self._drop_leftovers(out)
        self._sequence_owners(out)
        out += [model.create(o) for o in late_functions if not model.mentions_views(o, self.want)]
        out += constraints_back
        views = {o.name for o in self.want.objects if o.kind in _VIEWS}
        out += [s for s, on in indexes_back if on not in views]
        out += fks_back
        self._create_views(out, views_back)
        out += [s for s, on in indexes_back if on in views]
        out += [model.create(o) for o in late_functions if model.mentions_views(o, self.want)]
        out += triggers_back
        return out

    def _drop_triggers(self, out: list[Step]) -> list[Step]:
        cur = {o.name: o for o in self.cur.objects if o.kind == "trigger"}
        want = {o.name: o for o in self.want.objects if o.kind == "trigger"}
        back = []
        for name, o in cur.items():
            new = want.get(name)
            forced = o.table in self.view_drops or bool(
                tokens(model.after_on(o.definition)) & self.routine_names)
            if new is None or new != o or forced:
                out.append(Step(f"DROP TRIGGER {q(name[len(o.table) + 1:])} ON {q(o.table)}"))
                if new is not None:
                    back.append(Step(sql(new.definition)))
        back += [Step(sql(o.definition)) for name, o in want.items() if name not in cur]
        return back

    def _drop_views(self, out: list[Step]) -> set[str]:
        views = [o for o in self.cur.objects if o.kind in _VIEWS and o.name in self.view_drops]
        for o in reversed(model.ordered(views)):
            word = "MATERIALIZED VIEW" if o.kind == "materialized view" else "VIEW"
            out.append(Step(f"DROP {word} {q(o.name)}"))
        return self.view_drops

    def _create_views(self, out: list[Step], dropped: set[str]) -> None:
        views = [o for o in self.want.objects if o.kind in _VIEWS
                 and (o.name in dropped or self.cur_objects.get((o.kind, o.name)) is None)]
        for o in model.ordered(views):
            word = "MATERIALIZED VIEW" if o.kind == "materialized view" else "VIEW"
            out.append(Step(f"CREATE {word} {q(o.name)} AS\n{sql(o.definition).rstrip(';')}"))

    def _drop_foreign_keys(self, out: list[Step]) -> list[Step]:
        shaken = self._key_tables()
        back: list[Step] = []
        for table, old, new in self._constraint_pairs(lambda k: k.kind == "foreign"):
            forced = old is not None and new is not None and model.references(old) in shaken
            if old is not None and (new != old or forced):  # dropped tables' too: any order
                out.append(Step(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(old.name)}"))
            if new is not None and (new != old or forced):
                back.append(Step(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(new.name)} "
                                 f"{sql(new.definition)}"))
        return back

    def _key_tables(self) -> set[str]:
        """Tables whose primary key, unique constraint or unique index goes or changes:
        the foreign keys that reference them must be dropped first."""
        shaken = set()
        for table, old, new in self._constraint_pairs(lambda k: k.kind in ("primary", "unique")):
            if old is not None and new != old:
                shaken.add(table)
        want = {i.name: i for i in self.want.indexes}
        shaken |= {i.table for i in self.cur.indexes if i.unique and want.get(i.name) != i}
        return shaken

    def _constraint_pairs(self, which: object) -> Iterable[tuple[str, Constraint | None,
                                                                Constraint | None]]:
        assert callable(which)
        for name in sorted(self.cur_tables.keys() | self.want_tables.keys()):
            old_t, new_t = self.cur_tables.get(name), self.want_tables.get(name)
            olds = {k.name: k for k in (old_t.constraints if old_t else ()) if which(k)}
            news = {k.name: k for k in (new_t.constraints if new_t else ()) if which(k)}
            if new_t is not None and old_t is None:
                pass  # created with the table, foreign keys after every table exists
            for key in sorted(olds.keys() | news.keys()):
                yield name, olds.get(key), news.get(key)

    def _drop_indexes(self, out: list[Step]) -> list[tuple[Step, str]]:
        """Drops now; the indexes to create, each with its table or materialized view."""
        backing = model.constraint_indexes(self.cur) | model.constraint_indexes(self.want)
        cur = {i.name: i for i in self.cur.indexes if i.name not in backing}
        want = {i.name: i for i in self.want.indexes if i.name not in backing}
        back: list[tuple[Step, str]] = []
        for name, old in cur.items():
            new = want.get(name)
            forced = old.table in self.view_drops or self._index_disturbed(old)
            if new is None or new != old or forced:
                if old.table not in self.dropped_tables and old.table not in self.view_drops:
                    out.append(Step(f"DROP INDEX {q(name)}"))
                if new is not None:
                    back.append((Step(model.create_index(new)), new.table))
        back += [(Step(model.create_index(i)), i.table) for name, i in want.items()
                 if name not in cur]
        return back

    def _index_disturbed(self, index: Index) -> bool:
        words = tokens(index.definition)
        work = self.column_work.get(index.table)
        return bool(words & self.routine_names) or bool(work and words & work.readded)

    def _drop_constraints(self, out: list[Step]) -> list[Step]:
        back = []
        for table, old, new in self._constraint_pairs(
                lambda k: k.kind not in ("foreign", "trigger")):
            if table in self.dropped_tables:
                continue
            created = table not in self.cur_tables
            work = self.column_work.get(table)
            forced = old is not None and (bool(tokens(old.definition) & self.routine_names) or
                                          bool(work and tokens(old.definition) & work.readded))
            if old is not None and (new != old or forced):
                out.append(Step(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(old.name)}"))
            if new is not None and not created and (new != old or forced):
                back.append(Step(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(new.name)} "
                                 f"{sql(new.definition)}"))
        return back

    def _types_and_sequences(self, out: list[Step]) -> None:
        out += [Step(f"CREATE EXTENSION IF NOT EXISTS {q(o.name)}") for o in self.want.objects
                if o.kind == "extension" and ("extension", o.name) not in self.cur_objects]
        types = [o for o in self.want.objects if o.kind == "type"]
        order = {"ENUM": 0, "DOMAIN": 1, "COMPOSITE": 2}
        types.sort(key=lambda o: order.get(diff_types.kind_of(o.definition), 3))
        for o in types:
            if ("type", o.name) not in self.cur_objects:
                out.append(diff_types.create_type(o.name, o.definition))
            elif o.name in self.rebuilt_types:
                out.append(Step(f"ALTER TYPE {q(o.name)} RENAME TO {q(model.old_name(o.name))}"))
                create = diff_types.create_type(o.name, o.definition)
                out.append(Step(create.sql, destructive=self._type_loss(o.name),
                                note=f"{o.name} is rebuilt: its columns are cast through text"))
        out += self.type_steps
        for o in self.want.objects:
            if o.kind != "sequence" or o.name in self.identity_sequences:
                continue
            old = self.cur_objects.get(("sequence", o.name))
            if old is None:
                out.append(diff_types.create_sequence(o.name, o.definition))
            elif diff_types.sequence(old.definition)[:2] != \
                    diff_types.sequence(o.definition)[:2]:
                out.append(diff_types.alter_sequence(o.name, o.definition))
        for o in self.want.objects:  # identity sequences: the column makes them
            old = self.cur_objects.get(("sequence", o.name))
            if o.kind == "sequence" and o.name in self.identity_sequences and old is not None \
                    and diff_types.sequence(old.definition)[:2] != \
                    diff_types.sequence(o.definition)[:2]:
                self.identity_alters.append(diff_types.alter_sequence(o.name, o.definition))

    def _functions_first(self, out: list[Step]) -> list[SchemaObject]:
        """Drops of functions that change their header, then creates and replaces; a SQL
        function whose body reads a table that is created or changed comes after the
        tables (the server resolves its body at once), unless a column default or a
        constraint calls it."""
        changed = {t.name for t in self.tables.added} | set(self.column_work) | {
            o.name for o in self.want.objects if o.kind in _VIEWS}
        called = set().union(*(tokens(f"{c.default or ''} {c.generated or ''}")
                               for t in self.want.tables for c in t.columns),
                             *(tokens(k.definition) for t in self.want.tables
                               for k in t.constraints))
        for name in sorted(self.recreated_functions):
            out.append(model.drop_routine(self.cur_objects[("function", name)]))
        late = []
        for o in self.want.objects:
            if o.kind != "function":
                continue
            old = self.cur_objects.get(("function", o.name))
            if old is not None and o.name not in self.recreated_functions and \
                    o not in self.replaced_functions:
                continue
            if model.checked_body(o.definition) and model.bare(o.name) not in called \
                    and tokens(model.body(o.definition)) & changed:
                late.append(o)
            else:
                out.append(model.create(o))
        return late

    def _create_tables(self, out: list[Step]) -> None:
        """Partitioned tables before their partitions; a partition takes its columns,
        and its parent's constraints and indexes, from the parent."""
        for t in model.by_depth(self.tables.added):
            constraints = [f"CONSTRAINT {q(k.name)} {sql(k.definition)}"
                           for k in t.constraints if k.kind not in ("foreign", "trigger")]
            parent, bound, key = model.partitioning(t)
            tail = f"\n{key}" if key else ""
            if parent:
                body = " (\n    " + ",\n    ".join(constraints) + "\n)" if constraints else ""
                out.append(Step(f"CREATE TABLE {q(t.name)} PARTITION OF {parent}{body}\n"
                                f"{bound}{tail}"))
                continue
            parts = [column_sql(c, self._identity(t.name, c.name)) for c in t.columns]
            body = ",\n    ".join(parts + constraints)
            out.append(Step(f"CREATE TABLE {q(t.name)} (\n    {body}\n){tail}"))
        out += self.identity_alters

    def _identity(self, table: str, column: str) -> str:
        for o in self.want.objects:
            if o.kind == "sequence" and diff_types.owner_column(o.definition) == (table, column):
                return diff_types.identity_options(o.name, o.definition)
        return ""

    def _drop_old_types(self, out: list[Step]) -> None:
        for name in sorted(self.rebuilt_types):
            out.append(Step(f"DROP {model.type_word(self.cur_objects[('type', name)])} "
                            f"{q(model.old_name(name))}"))

    def _type_loss(self, name: str) -> str | None:
        old = self.cur_objects[("type", name)].definition
        new = self.want_objects[("type", name)].definition
        if diff_types.kind_of(old) == "ENUM":
            gone = [v for v in diff_types.enum_values(old) if v not in
                    diff_types.enum_values(new)]
            if gone:
                return f"removes {', '.join(map(literal, gone))} from enum {name}"
        return None

    def _gone_functions(self) -> list[SchemaObject]:
        return [o for o in self.cur.objects if o.kind == "function"
                and (o.kind, o.name) not in self.want_objects]

    def _drop_tables(self, out: list[Step]) -> None:
        """Functions whose body reads a dropped table, then the tables; a sequence that
        a dropped table owns but the desired schema keeps is disowned first."""
        out += [model.drop_routine(o) for o in self._gone_functions()
                if tokens(model.body(o.definition)) & self.dropped_tables]
        for o in self.cur.objects:
            owner = diff_types.owner_column(o.definition) if o.kind == "sequence" else None
            if owner and owner[0] in self.dropped_tables and \
                    ("sequence", o.name) in self.want_objects and \
                    o.name not in self.identity_sequences:
                out.append(Step(f"ALTER SEQUENCE {q(o.name)} OWNED BY NONE"))
        dropped = {q(name) for name in self.dropped_tables}
        for t in model.by_depth(self.tables.dropped, deepest_first=True):
            parent = model.partitioning(t)[0]
            if parent and parent not in dropped:  # foreign keys to the parent let go of it
                out.append(Step(f"ALTER TABLE {parent} DETACH PARTITION {q(t.name)}"))
            out.append(Step(f"DROP TABLE {q(t.name)}", destructive=f"drops table {t.name}"))

    def _drop_leftovers(self, out: list[Step]) -> None:
        gone = [o for o in self.cur.objects if (o.kind, o.name) not in self.want_objects]
        out += [model.drop_routine(o) for o in self._gone_functions()
                if not tokens(model.body(o.definition)) & self.dropped_tables]
        for o in gone:
            if o.kind == "type":
                out.append(diff_types.drop_type(o.name, o.definition))
        for o in gone:
            if o.kind != "sequence" or o.name in self.identity_sequences:
                continue
            owner = diff_types.owner_column(o.definition)
            if owner is not None and (owner[0] in self.dropped_tables or self._column_gone(
                    *owner)):
                continue  # went with its table or column
            out.append(Step(f"DROP SEQUENCE {q(o.name)}",
                            destructive=f"drops sequence {o.name} (its current value)"))
        out += [Step(f"DROP EXTENSION {q(o.name)}") for o in gone if o.kind == "extension"]

    def _column_gone(self, table: str, column: str) -> bool:
        work = self.column_work.get(table)
        return bool(work and column in work.dropped)

    def _sequence_owners(self, out: list[Step]) -> None:
        for o in self.want.objects:
            if o.kind != "sequence" or o.name in self.identity_sequences:
                continue
            owner = diff_types.sequence(o.definition).owner
            old = self.cur_objects.get(("sequence", o.name))
            before = diff_types.sequence(old.definition).owner if old else ""
            if owner != before:
                out.append(Step(f"ALTER SEQUENCE {q(o.name)} OWNED BY {owner or 'NONE'}"))


def desired_text(text: str) -> str:
    """A ``migrator dump`` taken from a named schema, moved into the scratch one."""
    from migrator.backends.postgres.diff_dump import desired_text as relocated

    return relocated(text)
