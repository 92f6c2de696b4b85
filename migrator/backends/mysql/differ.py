"""The statements that turn one MySQL/MariaDB schema model into another.

Tables are compared clause by clause (diff_table.py); each changed table
gets one ``ALTER TABLE`` with all its clauses, so InnoDB applies it whole or
not at all and the up stays one DDL a statement (MySQL commits each DDL on
its own: a failure midway leaves the statements before it done, each one
complete). Columns keep their order (``AFTER``/``FIRST``), so the proof
compares exactly. Foreign keys are dropped before anything else and added
after every table exists; views, triggers, routines and events are dropped
first and created last, views in the order they read each other.
"""

from __future__ import annotations

import re
from dataclasses import replace

from migrator.backends.mysql.diff_table import (
    Parsed,
    parse,
    quote,
    rename_in,
    stringy,
    unplaced,
    unquote,
)
from migrator.backends.mysql.diff_types import narrowing
from migrator.diff.model import Renames, Script, Step, maybe_renamed, pair
from migrator.schema import Schema, SchemaObject, Table

_REFERENCES = re.compile(r" REFERENCES `((?:[^`]|``)*)` \(([^)]*)\)")
_CHARSET_OPTIONS = ("DEFAULT CHARSET", "COLLATE")
# what an option the desired table does not show is set back to ("DEFAULT" otherwise)
_RESET = {"COMMENT": "''", "KEY_BLOCK_SIZE": "0", "MAX_ROWS": "0", "MIN_ROWS": "0",
          "CHECKSUM": "0", "DELAY_KEY_WRITE": "0", "AVG_ROW_LENGTH": "0",
          "PAGE_COMPRESSED": "0", "ENCRYPTED": "NO", "CONNECTION": "''"}
_DROP = {"view": "VIEW", "trigger": "TRIGGER", "procedure": "PROCEDURE",
         "function": "FUNCTION", "event": "EVENT", "sequence": "SEQUENCE"}
_GENERATED = " GENERATED ALWAYS AS "
_COLUMNS = re.compile(r"`((?:[^`]|``)*)`(\(\d+\))?")  # a name and its prefix length


def comparable(schema: Schema) -> Schema:
    """Keys and constraints in name order: SHOW CREATE TABLE lists them in the order
    they were made, and no ALTER can reorder them without dropping them all."""
    tables = tuple(replace(t, definition=parse(t.name, t.definition).canonical())
                   for t in schema.tables)
    return replace(schema, tables=tables)


def script(current: Schema, desired: Schema, renames: Renames) -> Script:
    return _Differ(current, desired, renames).run()


class _Differ:
    def __init__(self, current: Schema, desired: Schema, renames: Renames) -> None:
        self.current, self.desired, self.renames = current, desired, renames
        self.steps: list[Step] = []
        self.warnings: list[str] = []
        self.wanted = {t.name: parse(t.name, t.definition) for t in desired.tables}
        # each current table as the desired schema names it, and its columns' old names
        self.seen: dict[str, Parsed] = {}
        self.old_names: dict[str, dict[str, str]] = {}  # desired table -> {new col: old col}
        self.origin: dict[str, str] = {}  # desired table name -> current table name
        for table in current.tables:
            new = renames.table(table.name)
            self.seen[new] = self._renamed(parse(table.name, table.definition), new)
            self.origin[new] = table.name

    def _renamed(self, table: Parsed, new: str) -> Parsed:
        """The current table with --rename applied to its name, columns and references."""
        cols = self.renames.columns.get(table.name, {})
        out = Parsed(new, other=list(table.other), options=table.options)
        self.old_names[new] = {}
        taken = set(cols.values())
        for name, rest in table.columns.items():
            target = cols.get(name, name)
            if name not in cols and name in taken:  # another column is renamed to its name
                target = "\0" + name  # so it can only be dropped
            out.columns[target] = rename_in(rest, cols)
            self.old_names[new][target] = name
        out.primary = table.primary and rename_in(table.primary, cols)
        for name, line in table.keys.items():
            head, _, tail = line.partition("` (")
            out.keys[name] = head + "` (" + rename_in(tail, cols) if tail else line
        for name, line in table.checks.items():
            head, sep, tail = line.partition(" CHECK ")
            out.checks[name] = head + sep + rename_in(tail, cols)
        for name, line in table.foreign.items():
            head, sep, tail = line.partition(" FOREIGN KEY ")
            own, ref, rest = tail.partition(" REFERENCES ")
            found = _REFERENCES.match(" REFERENCES " + rest) if ref else None
            if found:
                target = unquote(found.group(1))
                their = self.renames.columns.get(target, {})
                rest = (f"{quote(self.renames.table(target))} ("
                        f"{rename_in(found.group(2), their)})" + rest[found.end() - 12:])
            out.foreign[name] = head + sep + rename_in(own, cols) + ref + rest
        return out

    # -- the whole script, in dependency order ------------------------------------------

    def run(self) -> Script:
        tables = pair(self.current.tables, self.desired.tables, lambda t: t.name,
                      self.renames.table)
        objects = pair(self.current.objects, self.desired.objects, _key)
        self.warnings += maybe_renamed("table", [t.name for t in tables.dropped],
                                       [t.name for t in tables.added], lambda o, n: f"{o}:{n}")
        for old in self.renames.tables:
            if old not in {t.name for t in self.current.tables}:
                self.warnings.append(f"--rename {old}: no table {old} in the current schema")
        self._drop_objects(objects.dropped + [c for c, _ in objects.changed])
        self._drop_foreign_keys(tables.dropped)
        for old, new in self.renames.tables.items():
            if old in {t.name for t in self.current.tables} and new in self.wanted:
                self.steps.append(Step(f"RENAME TABLE {quote(old)} TO {quote(new)}"))
        for table in tables.dropped:
            self.steps.append(Step(f"DROP TABLE {quote(table.name)}",
                                   destructive=f"drops table {table.name}"))
        changed = {d for _, d in objects.changed}
        self._create_objects([o for o in objects.added + list(changed)
                              if o.kind == "sequence"])
        for _, des in tables.changed + tables.same:  # first: a new table's key may need
            self._alter(des.name)  # a key these ALTERs add
        deferred = self._create_tables([t.name for t in tables.added])
        self._add_foreign_keys(deferred)
        self._create_objects([o for o in objects.added + list(changed)
                              if o.kind != "sequence"])
        return Script(tuple(self.steps), (), tuple(self.warnings))

    # -- objects -------------------------------------------------------------------------

    def _drop_objects(self, gone: list[SchemaObject]) -> None:
        order = ["event", "trigger", "view", "procedure", "function"]
        for kind in order:
            for obj in gone:
                if obj.kind == kind:
                    self.steps.append(Step(f"DROP {_DROP[kind]} {quote(obj.name)}"))
        for obj in gone:
            if obj.kind not in order:
                if obj.kind not in _DROP:
                    self.warnings.append(f"{obj.kind} {obj.name}: not compared by diff")
                    continue
                self.steps.append(Step(f"DROP {_DROP[obj.kind]} {quote(obj.name)}",
                                       destructive=f"drops {obj.kind} {obj.name}"))

    def _create_objects(self, new: list[SchemaObject]) -> None:
        rank = {"sequence": 0, "function": 1, "procedure": 2, "view": 3, "trigger": 4,
                "event": 5}
        views = _read_first([o for o in new if o.kind == "view"])
        ordered = sorted(new, key=lambda o: (rank.get(o.kind, 6),
                                             views.index(o) if o in views else 0))
        for obj in ordered:
            if obj.kind not in _DROP:
                self.warnings.append(f"{obj.kind} {obj.name}: not compared by diff")
                continue
            self.steps.append(Step(unplaced(obj.definition)))

    # -- tables --------------------------------------------------------------------------

    def _touched(self, table: str, line: str) -> bool:
        """Whether a kept foreign key's own or referenced columns change: MySQL refuses
        to MODIFY a column under a foreign key, so the key is dropped and added again."""
        def changes(name: str, columns: str) -> bool:
            cur, des = self.seen.get(name), self.wanted.get(name)
            if cur is None or des is None:
                return False
            return any(cur.columns.get(c) != des.columns.get(c)
                       for c, _ in _COLUMNS.findall(columns))

        own = re.search(r"FOREIGN KEY \(([^)]*)\)", line)
        ref = _REFERENCES.search(line)
        return bool(own and changes(table, own.group(1))) or \
            bool(ref and changes(unquote(ref.group(1)), ref.group(2)))

    def _drop_foreign_keys(self, dropped: list[Table]) -> None:
        gone = {t.name for t in dropped}
        for table in self.current.tables:
            new = self.renames.table(table.name)
            mine = self.seen[new].foreign
            want = {} if table.name in gone else self.wanted.get(new, Parsed(new)).foreign
            names = [n for n, line in mine.items()
                     if want.get(n) != line or self._touched(new, line)]
            if names:
                drops = ", ".join(f"DROP FOREIGN KEY {quote(n)}" for n in names)
                self.steps.append(Step(f"ALTER TABLE {quote(table.name)} {drops}"))

    def _create_tables(self, names: list[str]) -> dict[str, list[str]]:
        """CREATE the new tables, each after the tables its keys reference; a key to a
        table made later waits for the end (returned by table)."""
        exists = {n for n in self.wanted if n in self.seen}
        deferred: dict[str, list[str]] = {}
        todo = list(names)
        while todo:
            ready = [n for n in todo if _targets(self.wanted[n]) <= exists | {n}] or todo[:1]
            name = ready[0]
            todo.remove(name)
            table = self.wanted[name]
            late = [k for k, line in table.foreign.items()
                    if not _targets_of(line) <= exists | {name}]
            body = replace(table, foreign={k: v for k, v in table.foreign.items()
                                           if k not in late})
            self.steps.append(Step(unplaced(body.render())))
            if late:
                deferred[name] = late
            exists.add(name)
        return deferred

    def _add_foreign_keys(self, deferred: dict[str, list[str]]) -> None:
        for name, table in self.wanted.items():
            mine = self.seen.get(name)
            if mine is None:
                names = deferred.get(name, [])
            else:
                names = [n for n, line in table.foreign.items()
                         if mine.foreign.get(n) != line or self._touched(name, line)]
            if not names:
                continue
            clauses = []
            if mine is not None:  # see _serving
                for key in dict.fromkeys(_serving(table, table.foreign[n], mine) for n in names):
                    if key:
                        clauses += [f"DROP INDEX {quote(key)}", "ADD " + table.keys[key].strip()]
            clauses += ["ADD " + unplaced(table.foreign[n].strip()) for n in names]
            dangling = sorted({t for n in names for t in _targets_of(table.foreign[n])
                               if t not in self.wanted})
            if dangling:  # the desired schema was made with foreign_key_checks off
                self.warnings.append(
                    f"table {name}: a foreign key references {', '.join(dangling)}, which the "
                    "desired schema does not have; it is added with FOREIGN_KEY_CHECKS = 0")
                self.steps.append(Step("SET FOREIGN_KEY_CHECKS = 0"))
            self.steps.append(Step(f"ALTER TABLE {quote(name)} " + ", ".join(clauses)))
            if dangling:
                self.steps.append(Step("SET FOREIGN_KEY_CHECKS = 1"))

    def _alter(self, name: str) -> None:
        cur, des = self.seen[name], self.wanted[name]
        old_names = dict(self.old_names[name])
        clauses: list[str] = []
        harm: list[str] = []
        gone = [c for c in cur.columns if c not in des.columns]
        self.warnings += maybe_renamed(
            "column", [f"{name}.{old_names[c]}" for c in gone],
            [c for c in des.columns if c not in cur.columns],
            lambda o, n: f"{self.origin[name]}.{o.split('.', 1)[1]}:{n}")
        renamed = {new: old for new, old in old_names.items()
                   if new != old and not new.startswith("\0")}
        if set(renamed.values()) & set(des.columns) or \
                set(renamed) & {old_names[c] for c in gone}:
            # a new name that an old column still holds: MySQL checks each name against
            # the table as it was, so the drops and the renames go first, on their own
            if gone:
                self.steps.append(Step(
                    f"ALTER TABLE {quote(name)} " + ", ".join(
                        f"DROP COLUMN {quote(old_names[c])}" for c in gone),
                    destructive="; ".join(f"drops column {name}.{old_names[c]}" for c in gone
                                          if _GENERATED not in cur.columns[c]) or None))
                cur = replace(cur, columns={c: t for c, t in cur.columns.items()
                                            if c not in gone})
                gone = []
            self.steps.append(Step(f"ALTER TABLE {quote(name)} " + ", ".join(
                f"CHANGE COLUMN {quote(old)} {quote(new)} {unplaced(cur.columns[new])}"
                for new, old in renamed.items())))
            old_names = {c: c for c in old_names}
        regenerated = [c for c in des.columns if c in cur.columns and
                       cur.columns[c] != des.columns[c] and
                       (_GENERATED in cur.columns[c] or _GENERATED in des.columns[c])]
        # a generated column is dropped and added again: the keys and checks on it go
        # with it, so they are made again too
        redo = {n for n, line in [*cur.keys.items(), *cur.checks.items()]
                if any(quote(c) in line.partition(" (")[2] for c in regenerated)}
        for n, line in cur.checks.items():
            if des.checks.get(n) != line or n in redo:
                clauses.append(f"DROP CONSTRAINT {quote(n)}")
        if cur.primary and cur.primary != des.primary:
            clauses.append("DROP PRIMARY KEY")
        for n, line in cur.keys.items():
            if des.keys.get(n) != line or n in redo:
                clauses.append(f"DROP INDEX {quote(n)}")
        for c in gone + regenerated:
            clauses.append(f"DROP COLUMN {quote(old_names[c])}")
            if _GENERATED not in cur.columns[c]:
                harm.append(f"drops column {name}.{old_names[c]}")
        options = _options(cur, des, self.warnings)
        if options:
            clauses.append(options)
        recharset = any(cur.option_map().get(k) != des.option_map().get(k)
                        for k in _CHARSET_OPTIONS)
        order = [c for c in cur.columns if c not in gone and c not in regenerated]
        prev: str | None = None
        for col in des.columns:
            where = "FIRST" if prev is None else f"AFTER {quote(prev)}"
            text = unplaced(des.columns[col])
            if col not in order:
                clauses.append(f"ADD COLUMN {quote(col)} {text} {where}")
                order.insert(0 if prev is None else order.index(prev) + 1, col)
            else:
                old = old_names[col]
                placed = order.index(col) == (0 if prev is None else order.index(prev) + 1)
                differs = cur.columns[col] != des.columns[col] or \
                    (recharset and stringy(des.columns[col]))
                if differs or old != col or not placed:
                    if old != col:
                        head = f"CHANGE COLUMN {quote(old)} {quote(col)}"
                    else:
                        head = f"MODIFY COLUMN {quote(col)}"
                    clauses.append(f"{head} {text}" + ("" if placed else f" {where}"))
                    why = narrowing(cur.columns[col], des.columns[col])
                    if why:
                        harm.append(f"narrows {name}.{col} {why}")
                    if not placed:
                        order.remove(col)
                        order.insert(0 if prev is None else order.index(prev) + 1, col)
            prev = col
        if des.primary and cur.primary != des.primary:
            clauses.append("ADD " + des.primary.strip())
        for n, line in des.keys.items():
            if cur.keys.get(n) != line or n in redo:
                clauses.append("ADD " + unplaced(line.strip()))
        for n, line in des.checks.items():
            if cur.checks.get(n) != line or n in redo:
                clauses.append("ADD " + unplaced(line.strip()))
        if sorted(cur.other) != sorted(des.other):
            self.warnings.append(f"table {name}: clauses diff does not compare changed: "
                                 + "; ".join(sorted(set(cur.other) ^ set(des.other))))
        if clauses:
            self.steps.append(Step(f"ALTER TABLE {quote(name)}\n  " + ",\n  ".join(clauses),
                                   destructive="; ".join(harm) or None))


def _options(cur: Parsed, des: Parsed, warnings: list[str]) -> str:
    """The table options clause that takes ``cur``'s options to ``des``'s ("" if none)."""
    old, new = cur.option_map(), des.option_map()
    out: dict[str, str] = {}
    for key, value in new.items():
        if old.get(key) != value:
            out[key] = value
    for key in old:
        if key not in new:
            out[key] = _RESET.get(key, "DEFAULT")
    if any(k in out for k in _CHARSET_OPTIONS):
        for key in _CHARSET_OPTIONS:
            if key in new:
                out[key] = new[key]
    rest_old = re.sub(r"\S+=(?:'(?:[^'\\]|\\.|'')*'|\S+)", "", cur.options).split()
    rest_new = re.sub(r"\S+=(?:'(?:[^'\\]|\\.|'')*'|\S+)", "", des.options).split()
    if [w for w in rest_old if w not in ("DEFAULT",)] != [w for w in rest_new
                                                           if w not in ("DEFAULT",)]:
        warnings.append(f"table {des.name}: table options differ beyond KEY=value ones "
                        "(partitioning, system versioning): not changed by diff")
    return " ".join(f"{k}={v}" for k, v in out.items())


def _serving(table: Parsed, foreign: str, before: Parsed) -> str | None:
    """The existing key an added foreign key will use, if it must be made again.

    MariaDB marks the index it made for a foreign key as its own: a later ADD FOREIGN
    KEY replaces such an index by one named after the new key, where SHOW CREATE TABLE
    cannot tell it from one the user made. Dropping and adding the key in the same
    ALTER makes it the user's, and the new foreign key then uses it."""
    found = re.search(r"FOREIGN KEY \(([^)]*)\)", foreign)
    if found is None:
        return None
    want = _COLUMNS.findall(found.group(1))
    for name, line in table.keys.items():
        cols = _COLUMNS.findall(line.partition("` (")[2])
        if cols[:len(want)] == want and before.keys.get(name) == line and \
                not line.strip().startswith(("FULLTEXT", "SPATIAL")):
            return name
    return None


def _key(obj: SchemaObject) -> str:
    return f"{obj.kind} {obj.name}"


def _targets_of(line: str) -> set[str]:
    found = _REFERENCES.search(line)
    return {unquote(found.group(1))} if found else set()


def _targets(table: Parsed) -> set[str]:
    out: set[str] = set()
    for line in table.foreign.values():
        out |= _targets_of(line)
    return out


def _read_first(views: list[SchemaObject]) -> list[SchemaObject]:
    """Views each after the views its text names."""
    names = {v.name for v in views}
    needs = {v.name: {unquote(n) for n in re.findall(r"`((?:[^`]|``)*)`",
                                                     v.definition.partition(" AS ")[2])}
             & (names - {v.name}) for v in views}
    done: list[str] = []
    while len(done) < len(views):
        ready = [n for n in sorted(needs) if n not in done and needs[n] <= set(done)] or \
            [n for n in sorted(needs) if n not in done][:1]
        done.extend(ready)
    by_name = {v.name: v for v in views}
    return [by_name[n] for n in done]
