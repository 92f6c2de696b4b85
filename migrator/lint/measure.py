"""``migrator test --locks``: what each statement really locks and rewrites, measured.

Every migration runs, statement by statement, in an empty scratch space of
the URL's dialect; before each file, every empty table gets ``rows``
synthetic rows, so a rewrite or a scan has something to work on. The
dialect's probe says what each statement did; where the safety rules
predicted otherwise, the report says so: the measurement wins, and the
disagreement is a bug in the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends import dialect_of_url, splitter
from migrator.backends.base import Backend
from migrator.dba.spaces import DEFAULT_URL, opened, scratch_beside
from migrator.errors import ConfigError, FileProblem, MigrationFileError
from migrator.integrity import discover_verified
from migrator.lint.model import FileContext, Known
from migrator.lint.probe import LockProbe, Measured
from migrator.lint.registry import probe_for, rules_for
from migrator.lint.run import lint_file
from migrator.placeholders import PlaceholderError, Variable, substitute
from migrator.schema import Schema, Table
from migrator.source import NO_TRANSACTION, PLACEHOLDERS, SourceError, SqlText, read_sql
from migrator.splitting import SplitError, Statement

_FOREIGN = re.compile(r"REFERENCES\s+[\"`\[]?(?:\w+[\"`\]]?\.[\"`\[]?)?(?P<table>\w+)",
                      re.IGNORECASE)
_NUMERIC = ("int", "serial", "numeric", "decimal", "real", "double", "float", "money")
_TEXTUAL = ("char", "text", "clob", "string", "varchar")


@dataclass(slots=True)
class StatementResult:
    index: int
    line: int
    sql: str
    measured: Measured
    lint: list[str]
    disagreements: list[str]

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "line": self.line, "sql": self.sql,
                **self.measured.to_json(), "lint": self.lint,
                "disagreements": self.disagreements}


@dataclass(slots=True)
class MigrationLocks:
    version: str
    name: str
    filled: list[str] = field(default_factory=list)  # tables given synthetic rows
    rebuilt: list[str] = field(default_factory=list)  # tables whose storage the file replaced
    statements: list[StatementResult] = field(default_factory=list)
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "name": self.name, "filled": self.filled,
                "rebuilt": self.rebuilt,
                "statements": [s.to_json() for s in self.statements], "error": self.error}


@dataclass(slots=True)
class LocksReport:
    rows: int
    scratch: str = ""
    migrations: list[MigrationLocks] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(m.error for m in self.migrations)

    @property
    def disagreements(self) -> int:
        return sum(len(s.disagreements) for m in self.migrations for s in m.statements)


def measure_locks(directory: Path, table: str, *, url: str | None, rows: int,
                  on_result: Callable[[MigrationLocks], None] | None = None,
                  variables: Mapping[str, Variable] | None = None) -> LocksReport:
    """Run every migration on a scratch space of ``url``'s dialect and measure each statement."""
    if rows < 0:
        raise ConfigError("--rows must be 0 or more")
    info = dialect_of_url(url or DEFAULT_URL)
    probe, rules = probe_for(info), rules_for(info)
    if probe is None:
        raise ConfigError(f"test --locks cannot measure {info.name} yet")
    bounds = splitter(info)
    report = LocksReport(rows)
    known = Known()
    with scratch_beside(url, table) as space, \
            opened(space.url, space.table, readonly=False) as backend:
        report.scratch = space.name
        for migration in discover_verified(directory).migrations:
            result = MigrationLocks(migration.version, migration.name)
            report.migrations.append(result)
            sql, text = _read(migration.up.path, variables)
            try:
                statements = [Statement(i, line, text[first:end], first)
                              for i, (first, end, line) in enumerate(bounds(text), start=1)]
            except SplitError as exc:
                raise MigrationFileError([FileProblem(migration.up.path, exc.message,
                                                      exc.line)]) from exc
            ctx = FileContext(migration.up.path, text, statements,
                              NO_TRANSACTION not in sql.directives, False, set(), known)
            predicted: dict[int, list[str]] = {}
            if rules is not None:
                for found in lint_file(ctx, rules, info.name)[0]:
                    predicted.setdefault(_statement_at(statements, found.line), []).append(
                        found.rule.id)
            result.filled = _fill(backend, probe, backend.catalog().schema(), rows)
            before = probe.storage(backend)
            for stmt in statements:
                try:
                    measured = probe.run(backend, stmt.sql, ctx.transactional)
                except Exception as exc:
                    error = backend.describe_error(exc)
                    if error is None:
                        raise
                    result.error = f"statement {stmt.index} (line {stmt.line}): {error.message}"
                    break
                ids = sorted(set(predicted.get(stmt.index, [])))
                result.statements.append(StatementResult(
                    stmt.index, stmt.line, " ".join(stmt.sql.split())[:120], measured, ids,
                    _disagreements(probe, ids, measured, ctx.new_tables)))
            after = probe.storage(backend)
            result.rebuilt = sorted(t for t, s in before.items() if t in after and after[t] != s)
            if on_result is not None:
                on_result(result)
            if result.error:
                break
    return report


def _read(path: str, variables: Mapping[str, Variable] | None) -> tuple[SqlText, str]:
    """The file and its text with placeholders filled, as ``up`` would run it."""
    try:
        sql = read_sql(path)
        text = sql.text
        if PLACEHOLDERS in sql.directives:
            text = substitute(text, path, variables or {})
    except (SourceError, PlaceholderError) as exc:
        raise MigrationFileError(exc.problems) from exc
    return sql, text


def _statement_at(statements: list[Statement], line: int) -> int:
    """The index of the statement a finding's line falls in."""
    index = 0
    for stmt in statements:
        if stmt.line > line:
            break
        index = stmt.index
    return index


def _disagreements(probe: LockProbe, ids: list[str], measured: Measured,
                   new_tables: set[str]) -> list[str]:
    """Where the rules and the measurement differ on a rewrite (or a table copy)."""
    predicted = sorted(set(ids) & probe.rewrite_rules())
    old = [t for t in measured.rewritten if t.lower() not in new_tables]
    if measured.algorithm:
        old = [] if measured.algorithm != "COPY" else ["the table"]
    if predicted and not old:
        return [f"{', '.join(predicted)} predicted a rewrite; none was measured"]
    if old and not predicted:
        return [f"measured a rewrite of {', '.join(old)}, which no rule predicted"]
    return []


def _fill(backend: Backend, probe: LockProbe, schema: Schema, rows: int) -> list[str]:
    """Give every empty table ``rows`` rows, parents first; the tables filled.

    Only the columns that need a value get one (NOT NULL without a default,
    keys and unique columns): the row number, as a number or as text. A
    table that refuses them (a CHECK, an enum type) stays empty; its
    statements are still measured, on no rows.
    """
    filled: list[str] = []
    if rows == 0:
        return filled
    numbers = _numbers(rows)
    for table in _parents_first(schema.tables):
        quoted = probe.quote(table.name)
        if probe.rows(backend, f"SELECT 1 FROM {quoted} LIMIT 1"):
            continue
        keyed = _keyed_columns(table)
        names: list[str] = []
        values: list[str] = []
        for column in probe.columns(backend, table):
            kind = column.type.lower()
            needed = (not column.nullable and column.default is None) or column.name in keyed
            if column.generated or (column.default or "").lower().startswith("nextval"):
                continue
            if not needed:
                continue
            if "bool" in kind:
                value = probe.as_bool("g.n")
            elif any(k in kind for k in _NUMERIC):
                value = "g.n"
            elif any(k in kind for k in _TEXTUAL) or not kind:
                value = probe.as_text("g.n")
            else:
                names = []
                break
            names.append(probe.quote(column.name))
            values.append(value)
        if not names:
            continue
        try:
            probe.rows(backend, f"INSERT INTO {quoted} ({', '.join(names)}) "
                                f"SELECT {', '.join(values)} FROM {numbers}")
        except Exception as exc:
            if backend.describe_error(exc) is None:
                raise
            continue  # this table keeps no rows; its statements are measured empty
        filled.append(table.name)
    return filled


def _numbers(rows: int) -> str:
    """A derived table ``g(n)`` of 1..rows in SQL all three dialects run (no
    generate_series, no recursion limit): the product of digit tables."""
    digits = "(SELECT 0 AS d " + "".join(f"UNION ALL SELECT {i} " for i in range(1, 10)) + ")"
    width = len(str(max(rows - 1, 1)))
    parts = [f"{digits} AS d{i}" for i in range(width)]
    number = " + ".join(f"d{i}.d * {10 ** i}" for i in range(width))
    return (f"(SELECT {number} + 1 AS n FROM {', '.join(parts)}) AS g "
            f"WHERE g.n <= {rows}")


def _keyed_columns(table: Table) -> set[str]:
    names: set[str] = set()
    for constraint in table.constraints:
        if constraint.kind in ("primary", "unique", "foreign"):
            inside = re.search(r"\(([^)]*)\)", constraint.definition)
            if inside:
                names.update(c.strip().strip('"`[]') for c in inside.group(1).split(","))
    return names


def _parents_first(tables: tuple[Table, ...]) -> list[Table]:
    """Tables ordered so a referenced table comes before the ones referencing it."""
    by_name = {t.name.lower(): t for t in tables}
    done: list[Table] = []
    seen: set[str] = set()

    def visit(table: Table, path: frozenset[str]) -> None:
        key = table.name.lower()
        if key in seen or key in path:
            return
        texts = [c.definition for c in table.constraints] + [table.definition]
        for match in (m for text in texts for m in _FOREIGN.finditer(text)):
            parent = by_name.get(match["table"].lower())
            if parent is not None:
                visit(parent, path | {key})
        seen.add(key)
        done.append(table)

    for table in sorted(tables, key=lambda t: t.name):
        visit(table, frozenset())
    return done
