"""The statements that turn one DuckDB schema model into another.

DuckDB's ALTER TABLE changes one column at a time (add at the end, drop,
rename, type, default, NOT NULL) and never a constraint; it refuses to alter
a table an index or another table's foreign key depends on, or the type of a
column under a key or beside a CHECK. So a changed table is altered in place
only when all its changes are of that kind (its indexes dropped first and
made again after); otherwise it is rebuilt keeping its rows: copied aside,
dropped, created as desired, filled from the copy. A table whose foreign key
references a rebuilt one is rebuilt too (DuckDB will not drop a referenced
table). Views and macros go first and come back last (DuckDB does not track
what they read); schemas, types and sequences are made before tables and
dropped after them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from migrator.backends.duckdb.catalog import _read_first, _referenced_first, quote
from migrator.backends.duckdb.diff_types import narrowing
from migrator.diff.model import Renames, Script, Step, maybe_renamed, pair
from migrator.schema import Column, Schema, SchemaObject, Table

_FIRST = ("schema", "type", "sequence")
_DROP = {"schema": "SCHEMA", "type": "TYPE", "sequence": "SEQUENCE", "view": "VIEW",
         "function": "MACRO"}
_ASIDE = "__migrator_old"  # the suffix of a rebuilt table's copy of its rows


def comparable(schema: Schema) -> Schema:
    """Each kind in name order, a table's constraints too: the catalog lists objects
    (and DuckDB a table's constraints) in the order they were made, which a table
    rebuilt from DuckDB's own CREATE text does not keep."""
    tables = (replace(t, constraints=tuple(sorted(t.constraints, key=lambda c: c.name)))
              for t in schema.tables)
    return Schema(tuple(sorted(tables, key=lambda t: t.name)),
                  tuple(sorted(schema.indexes, key=lambda i: i.name)),
                  tuple(sorted(schema.objects, key=lambda o: (o.kind, o.name))))


def script(current: Schema, desired: Schema, renames: Renames) -> Script:
    return _Differ(current, desired, renames).run()


def _bare(sql: str) -> str:
    return sql.strip().removesuffix(";").rstrip()


def _words(text: str, names: dict[str, str]) -> str:
    """``text`` with the column names in ``names`` renamed (plain or double-quoted)."""
    if not names:
        return text

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        bare = word[1:-1].replace('""', '"') if word.startswith('"') else word
        return quote(names[bare]) if bare in names else word

    return re.sub(r'"(?:[^"]|"")*"|\b[A-Za-z_]\w*\b', one, text)


def _references(table: Table) -> set[str]:
    out: set[str] = set()
    for c in table.constraints:
        found = re.search(r'REFERENCES\s+("(?:[^"]|"")*"|[^\s(]+)', c.definition)
        if c.kind == "foreign" and found:
            out.add(found.group(1).strip('"'))
    return out


class _Differ:
    def __init__(self, current: Schema, desired: Schema, renames: Renames) -> None:
        self.current, self.desired, self.renames = current, desired, renames
        self.steps: list[Step] = []
        self.warnings: list[str] = []
        self.wanted = {t.name: t for t in desired.tables}
        self.had = {renames.table(t.name): t for t in current.tables}  # by desired name

    def run(self) -> Script:
        tables = pair(self.current.tables, self.desired.tables, lambda t: t.name,
                      self.renames.table)
        objects = pair(self.current.objects, self.desired.objects,
                       lambda o: f"{o.kind} {o.name}")
        self.warnings += maybe_renamed("table", [t.name for t in tables.dropped],
                                       [t.name for t in tables.added], lambda o, n: f"{o}:{n}")
        gone_objects = objects.dropped + [c for c, _ in objects.changed]
        new_objects = objects.added + [d for _, d in objects.changed]
        rebuilt, altered = self._plan([d for _, d in tables.changed])
        untouched = {d.name for _, d in tables.same}
        # 1. what reads tables, and the indexes on tables about to change
        for obj in reversed(self._views([o for o in gone_objects if o.kind == "view"])):
            self.steps.append(Step(f"DROP VIEW {quote(obj.name)}"))
        for obj in gone_objects:
            if obj.kind == "function":
                table = "TABLE " if " AS TABLE " in obj.definition else ""
                self.steps.append(Step(f"DROP MACRO {table}{quote(obj.name)}"))
        kept_indexes = self._drop_indexes(untouched)
        # 2. what tables need first
        self._create_objects([o for o in new_objects if o.kind in _FIRST and
                              o not in [d for _, d in objects.changed]])
        # 3. tables: aside and dropped (children first), altered, created (parents first)
        dropping = [t.name for t in tables.dropped]
        for name in self._children_first(rebuilt, dropping):
            if name in dropping:
                self.steps.append(Step(f"DROP TABLE {quote(name)}",
                                       destructive=f"drops table {name}"))
            else:
                old = self.had[name].name
                self.steps.append(Step(f"CREATE TABLE {quote(old + _ASIDE)} AS "
                                       f"SELECT * FROM {quote(old)}",
                                       note=f"{name} is rebuilt, its rows kept: DuckDB cannot "
                                            "ALTER this change in place"))
                self.steps.append(Step(f"DROP TABLE {quote(old)}"))
        for name in altered:
            self._alter(name)
        for made in _referenced_first(tuple(self.wanted[n] for n in self.wanted
                                            if n in rebuilt or self.had.get(n) is None)):
            self.steps.append(Step(_bare(made.definition)))
            if made.name in rebuilt:
                self._refill(made.name)
        # 4. the rest: objects changed in place of ones tables needed, indexes, views
        for obj in gone_objects:
            if obj.kind in _FIRST:
                self.steps.append(Step(f"DROP {_DROP[obj.kind]} {quote(obj.name)}",
                                       destructive=f"drops {obj.kind} {obj.name}"
                                       if obj.kind == "sequence" else None))
        self._create_objects([d for _, d in objects.changed if d.kind in _FIRST])
        for index in self.desired.indexes:
            if index.name not in kept_indexes:
                self.steps.append(Step(_bare(index.definition)))
        self._create_objects([o for o in new_objects if o.kind not in _FIRST])
        return Script(tuple(self.steps), (), tuple(self.warnings))

    # -- the plan ------------------------------------------------------------------------

    def _plan(self, changed: list[Table]) -> tuple[set[str], list[str]]:
        """(tables to rebuild, tables to alter in place), by their desired names."""
        referenced = {self.renames.table(n) for t in self.current.tables
                      for n in _references(t)}
        rebuilt = {d.name for d in changed if d.name in referenced or not self._alterable(d)}
        altered = [d.name for d in changed if d.name not in rebuilt]
        growing = True
        while growing:  # a table referencing a rebuilt one is dropped, so rebuilt, too
            growing = False
            for name, table in self.had.items():
                if name in self.wanted and name not in rebuilt and \
                        {self.renames.table(n) for n in _references(table)} & rebuilt:
                    rebuilt.add(name)
                    growing = True
        return rebuilt, [n for n in altered if n not in rebuilt]

    def _columns(self, name: str) -> tuple[dict[str, Column], dict[str, str]]:
        """The current table's columns by their desired names, and their old names."""
        table = self.had[name]
        cols = self.renames.columns.get(table.name, {})
        taken = set(cols.values())
        new = {c.name: cols.get(c.name, "\0" + c.name if c.name in taken else c.name)
               for c in table.columns}  # a name another column takes: only dropped
        return ({new[c.name]: c for c in table.columns},
                {new[c.name]: c.name for c in table.columns})

    def _alterable(self, want: Table) -> bool:
        """Whether DuckDB's one-column ALTERs reach ``want`` from the current table."""
        had, old_names = self._columns(want.name)
        cols = self.renames.columns.get(self.had[want.name].name, {})
        keys = {(c.kind, _words(c.definition, cols)) for c in self.had[want.name].constraints}
        if keys != {(c.kind, c.definition) for c in want.constraints}:
            return False
        kept = [c for c in had if c in {w.name for w in want.columns}]
        if [w.name for w in want.columns][:len(kept)] != kept:
            return False  # ADD COLUMN only appends
        keyed = {w for c in want.constraints if c.kind in ("primary", "unique")
                 for w in re.findall(r'"(?:[^"]|"")*"|\w+', c.definition)}
        checks = any(c.kind == "check" for c in want.constraints)
        for w in want.columns:
            c = had.get(w.name)
            if c is None:
                if w.generated:
                    return False
                continue
            if (c.generated or w.generated) and (c.generated != w.generated or
                                                 old_names[w.name] != w.name):
                return False
            if c.type != w.type and (checks or w.name in keyed or quote(w.name) in keyed):
                return False
        # a change the columns do not show (a collation, say) is only in the CREATE text:
        # nothing to ALTER, so the table is made from that text
        seen = [replace(c, name=n) for n, c in had.items()]
        return seen != list(want.columns) or self.had[want.name].name != want.name

    def _children_first(self, rebuilt: set[str], dropping: list[str]) -> list[str]:
        """Rebuilt (desired names) and dropped (current names) tables, each before the
        tables it references: the order DuckDB lets them be dropped in."""
        by_current = {self.had[n].name: n for n in rebuilt}
        by_current.update({n: n for n in dropping})
        parents_first = _referenced_first(tuple(
            t for t in self.current.tables if t.name in by_current))
        return [by_current[t.name] for t in reversed(parents_first)]

    # -- statements ----------------------------------------------------------------------

    def _drop_indexes(self, untouched: set[str]) -> set[str]:
        """Drop the indexes that change or whose table changes; the names of those kept."""
        want = {i.name: i for i in self.desired.indexes}
        kept: set[str] = set()
        for index in self.current.indexes:
            same = want.get(index.name) == index and index.table in untouched and \
                self.renames.table(index.table) == index.table
            if same:
                kept.add(index.name)
            else:
                self.steps.append(Step(f"DROP INDEX {quote(index.name)}"))
        return kept

    def _create_objects(self, objects: list[SchemaObject]) -> None:
        order = {"schema": 0, "type": 1, "sequence": 2, "function": 3, "view": 4}
        views = self._views([o for o in objects if o.kind == "view"])
        for obj in sorted(objects, key=lambda o: (order.get(o.kind, 5),
                                                  views.index(o) if o in views else 0)):
            if obj.kind not in _DROP:
                self.warnings.append(f"{obj.kind} {obj.name}: not compared by diff")
                continue
            self.steps.append(Step(_bare(obj.definition)))

    @staticmethod
    def _views(views: list[SchemaObject]) -> list[SchemaObject]:
        return _read_first(views)

    def _alter(self, name: str) -> None:
        want = self.wanted[name]
        old_table = self.had[name].name
        had, old_names = self._columns(name)
        target = quote(old_table)
        if old_table != name:
            self.steps.append(Step(f"ALTER TABLE {target} RENAME TO "
                                   f"{quote(name.rpartition('.')[2])}"))
            target = quote(name)
        wanted = {c.name for c in want.columns}
        self.warnings += maybe_renamed(
            "column", [f"{name}.{old_names[c]}" for c in had if c not in wanted],
            [c.name for c in want.columns if c.name not in had],
            lambda o, n: f"{old_table}.{o.split('.', 1)[1]}:{n}")
        for col in had:
            if col not in wanted:
                self.steps.append(Step(
                    f"ALTER TABLE {target} DROP COLUMN {quote(old_names[col])}",
                    destructive=None if had[col].generated else
                    f"drops column {name}.{old_names[col]}"))
        for new, old in old_names.items():
            if new != old and new in wanted:
                self.steps.append(Step(f"ALTER TABLE {target} RENAME COLUMN {quote(old)} "
                                       f"TO {quote(new)}"))
        for w in want.columns:
            c = had.get(w.name)
            column = f"ALTER TABLE {target} ALTER COLUMN {quote(w.name)}"
            if c is None:
                text = f"ALTER TABLE {target} ADD COLUMN {quote(w.name)} {w.type}"
                text += f" DEFAULT {w.default}" if w.default is not None else ""
                text += "" if w.nullable else " NOT NULL"
                self.steps.append(Step(text))
                continue
            if c.type != w.type:
                why = narrowing(c.type, w.type)
                self.steps.append(Step(f"{column} SET DATA TYPE {w.type}", destructive=(
                    f"narrows {name}.{w.name} {why}" if why else None)))
            if c.default != w.default:
                self.steps.append(Step(f"{column} DROP DEFAULT" if w.default is None
                                       else f"{column} SET DEFAULT {w.default}"))
            if c.nullable != w.nullable:
                self.steps.append(Step(f"{column} {'DROP' if w.nullable else 'SET'} NOT NULL"))

    def _refill(self, name: str) -> None:
        """Rows back from the copy: every desired column the current table had, cast to
        its new type; the columns left behind are named in the step's mark."""
        want = self.wanted[name]
        had, old_names = self._columns(name)
        aside = quote(self.had[name].name + _ASIDE)
        into: list[str] = []
        values: list[str] = []
        harm: list[str] = []
        for w in want.columns:
            c = had.get(w.name)
            if c is None or w.generated:
                continue
            into.append(quote(w.name))
            value = quote(old_names[w.name])
            if c.type != w.type:
                value = f"CAST({value} AS {w.type})"
                why = narrowing(c.type, w.type)
                if why:
                    harm.append(f"narrows {name}.{w.name} {why}")
            values.append(value)
        wanted = {w.name for w in want.columns}
        harm += [f"drops column {name}.{old_names[c]}" for c, col in had.items()
                 if c not in wanted and not col.generated]
        self.warnings += maybe_renamed(
            "column", [f"{name}.{old_names[c]}" for c in had if c not in wanted],
            [w.name for w in want.columns if w.name not in had],
            lambda o, n: f"{self.had[name].name}.{o.split('.', 1)[1]}:{n}")
        if into:
            self.steps.append(Step(f"INSERT INTO {quote(name)} ({', '.join(into)}) "
                                   f"SELECT {', '.join(values)} FROM {aside}",
                                   destructive="; ".join(harm) or None))
        self.steps.append(Step(f"DROP TABLE {aside}"))

