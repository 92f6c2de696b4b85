"""PostgreSQL safety rules, on the parse tree of PostgreSQL's own parser (pglast).

Each statement is parsed alone. A table created earlier in the file (or in
an earlier migration of the same run) is new: nothing reads it yet, so the
lock and rewrite rules leave it alone. A statement pglast cannot parse is
skipped; the server will say what is wrong with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType
from pglast.parser import ParseError
from pglast.stream import RawStream

from migrator.backends.postgres.widening import type_text, widens
from migrator.lint.model import ERROR, WARNING, DialectRules, FileContext, Hit, Rule
from migrator.lint.text import first_word
from migrator.splitting import Statement


def _rule(id: str, severity: str, message: str, hint: str, prevents: str) -> Rule:
    return Rule(id, "postgres", severity, message, hint, prevents)


INDEX = _rule(
    "PG001", WARNING, "CREATE INDEX without CONCURRENTLY on an existing table",
    "CREATE INDEX CONCURRENTLY in a file with '-- migrator: no-transaction'",
    "a SHARE lock blocks every write to the table while the index builds")
DROP_INDEX = _rule(
    "PG002", WARNING, "DROP INDEX without CONCURRENTLY",
    "DROP INDEX CONCURRENTLY in a file with '-- migrator: no-transaction'",
    "an ACCESS EXCLUSIVE lock on the index's table blocks reads and writes")
CONCURRENTLY = _rule(
    "PG003", ERROR, "CONCURRENTLY cannot run inside the migration's transaction",
    "put '-- migrator: no-transaction' on the first line, one such statement per file",
    "PostgreSQL refuses it: the migration fails")
VOLATILE_DEFAULT = _rule(
    "PG004", WARNING, "ADD COLUMN with a volatile default, identity or stored generated column",
    "add the column without the default, backfill in batches, then SET DEFAULT",
    "the whole table is rewritten under an ACCESS EXCLUSIVE lock")
NOT_NULL_NO_DEFAULT = _rule(
    "PG005", WARNING, "ADD COLUMN NOT NULL without a default",
    "give it a constant DEFAULT, or add it nullable, backfill, then SET NOT NULL safely",
    "fails on any table that has rows")
COLUMN_TYPE = _rule(
    "PG006", WARNING, "ALTER COLUMN TYPE on an existing table",
    "add a new column, backfill it, switch the code, drop the old one",
    "most type changes rewrite the table and its indexes under an ACCESS EXCLUSIVE lock")
FOREIGN_KEY = _rule(
    "PG007", WARNING, "ADD FOREIGN KEY without NOT VALID",
    "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later migration",
    "both tables are locked against writes while every row is checked")
CHECK = _rule(
    "PG008", WARNING, "ADD CHECK without NOT VALID",
    "ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT",
    "an ACCESS EXCLUSIVE lock is held while every row is checked")
UNIQUE = _rule(
    "PG009", WARNING, "ADD UNIQUE or PRIMARY KEY without USING INDEX",
    "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX",
    "the index is built under an ACCESS EXCLUSIVE lock: no reads or writes meanwhile")
SET_NOT_NULL = _rule(
    "PG010", WARNING, "SET NOT NULL scans the whole table",
    "ADD CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+)",
    "an ACCESS EXCLUSIVE lock is held during a full table scan")
RENAME = _rule(
    "PG011", WARNING, "renaming a column or table",
    "add the new name alongside (a column, or a view), move the code, then drop the old",
    "running application code still uses the old name and fails")
DROP_COLUMN = _rule(
    "PG012", WARNING, "dropping a column",
    "stop reading and writing it in the code first, deploy, then drop it",
    "running application code that still names the column fails")
DROP_TABLE = _rule(
    "PG013", WARNING, "dropping a table",
    "stop using it in the code first, deploy, then drop it",
    "running application code that still uses the table fails; the data is gone")
LOCK_TIMEOUT = _rule(
    "PG014", WARNING, "a strong lock is taken without lock_timeout set earlier in the file",
    "start the file with SET lock_timeout = '5s' (or ?lock_timeout=5s in the URL)",
    "waiting behind a long query, the lock request blocks every query queued after it")
NO_WHERE = _rule(
    "PG015", WARNING, "UPDATE or DELETE without WHERE on an existing table",
    "add a WHERE clause, or batch the change outside the schema migration",
    "every row is changed and locked in one transaction")
ENUM_VALUE = _rule(
    "PG016", WARNING, "ALTER TYPE ... ADD VALUE inside a transaction",
    "put '-- migrator: no-transaction' on the first line",
    "PostgreSQL before 12 refuses it; later ones refuse to use the value in that transaction")
DDL_WITH_DATA = _rule(
    "PG017", WARNING, "DDL and a data change on existing tables in one transaction",
    "move the data change (backfill) into a migration of its own",
    "the DDL's lock is held for as long as the data change runs")
REINDEX = _rule(
    "PG018", WARNING, "REINDEX without CONCURRENTLY",
    "REINDEX ... CONCURRENTLY (PostgreSQL 12+) in a file with '-- migrator: no-transaction'",
    "an ACCESS EXCLUSIVE lock on the index (and writes to its table blocked) while it rebuilds")
DETACH = _rule(
    "PG019", WARNING, "DETACH PARTITION without CONCURRENTLY",
    "DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) in a file with "
    "'-- migrator: no-transaction'",
    "an ACCESS EXCLUSIVE lock on the partitioned table blocks every query on it")
VALIDATE_SAME_TRANSACTION = _rule(
    "PG020", WARNING, "VALIDATE CONSTRAINT in the transaction that added it NOT VALID",
    "VALIDATE CONSTRAINT in a later migration (or a '-- migrator: no-transaction' file)",
    "the ADD's lock (ACCESS EXCLUSIVE for a CHECK) is held while every row is checked")

_VOLATILE = re.compile(
    r"\b(random|gen_random_uuid|uuid_generate_v[14]\w*|uuidv[47]|clock_timestamp|timeofday|"
    r"nextval|txid_current|setseed)\s*\(", re.IGNORECASE)
_SERIAL = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})
_READ = frozenset({"ALTER", "CREATE", "DROP", "REINDEX", "UPDATE", "DELETE", "SET", "SELECT",
                   "TRUNCATE", "WITH"})
_SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)
_SET_CONFIG = re.compile(r"set_config\s*\(\s*'lock_timeout'", re.IGNORECASE)


@dataclass(slots=True)
class _State:
    ctx: FileContext
    hits: list[Hit] = field(default_factory=list)
    new_indexes: set[str] = field(default_factory=set)
    not_valid: set[tuple[str, str]] = field(default_factory=set)  # (table, constraint) added
    lock_timeout: bool = False
    warned_lock_timeout: bool = False
    ddl: bool = False  # a strong lock on an existing table was taken
    data: bool = False  # an existing table's rows were changed
    warned_mix: bool = False

    def hit(self, rule: Rule, stmt: Statement, at: int = 0, detail: str = "") -> None:
        self.hits.append(Hit(rule, stmt, at, detail))

    def is_new(self, table: str) -> bool:
        return table in self.ctx.new_tables

    def strong_lock(self, stmt: Statement, at: int) -> None:
        if not self.lock_timeout and not self.warned_lock_timeout:
            self.warned_lock_timeout = True
            self.hit(LOCK_TIMEOUT, stmt, at)
        self.ddl = True
        self._mixed(stmt)

    def data_change(self, stmt: Statement) -> None:
        self.data = True
        self._mixed(stmt)

    def _mixed(self, stmt: Statement) -> None:
        if self.ddl and self.data and self.ctx.transactional and not self.warned_mix:
            self.warned_mix = True
            self.hit(DDL_WITH_DATA, stmt)


def lint(ctx: FileContext) -> list[Hit]:
    state = _State(ctx, lock_timeout="lock_timeout" in ctx.url_params)
    for stmt in ctx.statements:
        head = first_word(stmt.sql)
        if head not in _READ and not (head == "INSERT" and _SELECT.search(stmt.sql)):
            continue  # a data file's 200k INSERT ... VALUES need no parse
        try:
            parsed = pglast.parse_sql(stmt.sql)
        except ParseError:
            continue
        for raw in parsed:
            if raw.stmt is not None:
                _statement(state, stmt, raw.stmt)
    return state.hits


def _name(rel: ast.RangeVar | None) -> str:
    return (rel.relname or "").lower() if rel is not None else ""


def _at(stmt: Statement, node: object) -> int:
    """The character offset of a node's byte ``location`` in the statement."""
    location = getattr(node, "location", None)
    if not isinstance(location, int) or location < 0:
        return 0
    return len(stmt.sql.encode()[:location].decode("utf-8", "ignore"))


def _statement(state: _State, stmt: Statement, node: ast.Node) -> None:
    ctx = state.ctx
    if isinstance(node, ast.CreateStmt):
        table = _name(node.relation)
        ctx.new_tables.add(table)
        ctx.known.columns[table] = {
            (e.colname or "").lower(): type_text(e.typeName)
            for e in node.tableElts or () if isinstance(e, ast.ColumnDef)}
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        ctx.new_tables.add(_name(node.into.rel))
    elif isinstance(node, ast.IndexStmt):
        _create_index(state, stmt, node)
    elif isinstance(node, ast.ReindexStmt):
        concurrently = any(isinstance(p, ast.DefElem) and p.defname == "concurrently"
                           for p in node.params or ())
        if concurrently and ctx.transactional:
            state.hit(CONCURRENTLY, stmt, detail="REINDEX CONCURRENTLY")
        elif (not concurrently and node.relation is not None
              and not state.is_new(_name(node.relation))
              and _name(node.relation) not in state.new_indexes):
            state.hit(REINDEX, stmt, _at(stmt, node.relation), _name(node.relation))
            state.strong_lock(stmt, _at(stmt, node.relation))
    elif isinstance(node, ast.DropStmt):
        _drop(state, stmt, node)
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        _alter_table(state, stmt, node)
    elif isinstance(node, ast.RenameStmt):
        _rename(state, stmt, node)
    elif isinstance(node, ast.AlterEnumStmt):
        if node.newVal is not None and node.oldVal is None and ctx.transactional:
            state.hit(ENUM_VALUE, stmt, detail=f"value '{node.newVal}'")
    elif isinstance(node, (ast.UpdateStmt, ast.DeleteStmt)):
        table = _name(node.relation)
        if not state.is_new(table):
            if node.whereClause is None:
                state.hit(NO_WHERE, stmt, _at(stmt, node.relation), f"table {table}")
            state.data_change(stmt)
    elif isinstance(node, ast.InsertStmt):
        select = node.selectStmt
        if (not state.is_new(_name(node.relation)) and isinstance(select, ast.SelectStmt)
                and select.fromClause):
            state.data_change(stmt)
    elif isinstance(node, ast.VariableSetStmt):
        if (node.name or "").lower() == "lock_timeout":
            state.lock_timeout = True
    elif isinstance(node, ast.SelectStmt):
        if _SET_CONFIG.search(stmt.sql):
            state.lock_timeout = True
    elif isinstance(node, ast.TruncateStmt) and any(
            not state.is_new(_name(r)) for r in node.relations or ()):
        state.strong_lock(stmt, 0)


def _create_index(state: _State, stmt: Statement, node: ast.IndexStmt) -> None:
    table = _name(node.relation)
    if node.concurrent:
        if state.ctx.transactional:
            state.hit(CONCURRENTLY, stmt, detail="CREATE INDEX CONCURRENTLY")
        return
    if state.is_new(table):
        if node.idxname:
            state.new_indexes.add(node.idxname.lower())
        return
    state.hit(INDEX, stmt, _at(stmt, node.relation), f"table {table}")
    state.strong_lock(stmt, _at(stmt, node.relation))


def _drop(state: _State, stmt: Statement, node: ast.DropStmt) -> None:
    names = [str(getattr(obj[-1], "sval", "")).lower() for obj in node.objects or ()
             if isinstance(obj, tuple) and obj]
    if node.removeType == ObjectType.OBJECT_INDEX:
        if node.concurrent:
            if state.ctx.transactional:
                state.hit(CONCURRENTLY, stmt, detail="DROP INDEX CONCURRENTLY")
            return
        old = [n for n in names if n not in state.new_indexes]
        if old:
            state.hit(DROP_INDEX, stmt, detail=f"index {', '.join(old)}")
            state.strong_lock(stmt, 0)
    elif node.removeType == ObjectType.OBJECT_TABLE:
        old = [n for n in names if not state.is_new(n)]
        state.ctx.new_tables.difference_update(names)
        for name in names:
            state.ctx.known.forget(name)
        if old:
            state.hit(DROP_TABLE, stmt, detail=f"table {', '.join(old)}")
            state.strong_lock(stmt, 0)


def _alter_table(state: _State, stmt: Statement, node: ast.AlterTableStmt) -> None:
    table = _name(node.relation)
    for cmd in node.cmds or ():
        if (isinstance(cmd, ast.AlterTableCmd) and isinstance(cmd.def_, ast.PartitionCmd)
                and cmd.subtype == AlterTableType.AT_DetachPartition):
            if cmd.def_.concurrent and state.ctx.transactional:
                state.hit(CONCURRENTLY, stmt, detail="DETACH PARTITION CONCURRENTLY")
            elif not cmd.def_.concurrent and not state.is_new(table):
                state.hit(DETACH, stmt, _at(stmt, node.relation),
                          f"{_name(cmd.def_.name)} from {table}")
    columns = state.ctx.known.columns.setdefault(table, {})
    if state.is_new(table):
        for cmd in node.cmds or ():
            if isinstance(cmd, ast.AlterTableCmd) and isinstance(cmd.def_, ast.ColumnDef):
                name = cmd.def_.colname or cmd.name or ""
                columns[name.lower()] = type_text(cmd.def_.typeName)
        return
    where = _at(stmt, node.relation)
    strong = False
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        kind = cmd.subtype
        if kind == AlterTableType.AT_ValidateConstraint:
            _validate(state, stmt, where, table, (cmd.name or "").lower())
            continue
        strong = True
        column = f"{table}.{cmd.name}" if cmd.name else f"table {table}"
        if kind == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            _add_column(state, stmt, where, table, cmd.def_)
            columns[(cmd.def_.colname or "").lower()] = type_text(cmd.def_.typeName)
        elif kind == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
            new = type_text(cmd.def_.typeName)
            old = columns.get((cmd.name or "").lower(), "")
            if cmd.def_.raw_default is not None or not widens(old, new):
                state.hit(COLUMN_TYPE, stmt, where, f"{column} {old or '?'} to {new}")
            columns[(cmd.name or "").lower()] = new
        elif kind == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            _add_constraint(state, stmt, where, table, cmd.def_)
        elif (kind == AlterTableType.AT_SetNotNull
              and ("pg-not-null", table, (cmd.name or "").lower()) not in state.ctx.known.facts):
            state.hit(SET_NOT_NULL, stmt, where, column)
        elif kind == AlterTableType.AT_DropColumn:
            state.hit(DROP_COLUMN, stmt, where, column)
    if strong:
        state.strong_lock(stmt, where)


def _add_column(state: _State, stmt: Statement, where: int, table: str,
                column: ast.ColumnDef) -> None:
    shown = f"{table}.{column.colname}"
    names = column.typeName.names if column.typeName is not None else None
    type_name = names[-1].sval if names else ""
    has_default = rewrites = False
    not_null = bool(column.is_not_null)
    for c in column.constraints or ():
        if not isinstance(c, ast.Constraint):
            continue
        if c.contype == ConstrType.CONSTR_DEFAULT:
            has_default = True
            if c.raw_expr is not None and _VOLATILE.search(_deparsed(c.raw_expr, stmt)):
                rewrites = True
        elif c.contype == ConstrType.CONSTR_IDENTITY or (
                c.contype == ConstrType.CONSTR_GENERATED and c.generated_kind == "s"):
            has_default = rewrites = True
        elif c.contype == ConstrType.CONSTR_NOTNULL:
            not_null = True
        elif c.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
            state.hit(UNIQUE, stmt, where, shown)
        elif c.contype == ConstrType.CONSTR_FOREIGN and not c.skip_validation:
            state.hit(FOREIGN_KEY, stmt, where, f"{shown} REFERENCES {_name(c.pktable)}")
    if str(type_name).lower() in _SERIAL:
        has_default = rewrites = True
    if rewrites:
        state.hit(VOLATILE_DEFAULT, stmt, where, shown)
    elif not_null and not has_default:
        state.hit(NOT_NULL_NO_DEFAULT, stmt, where, shown)


def _deparsed(expr: ast.Node, stmt: Statement) -> str:
    """The expression as SQL; the whole statement if pglast cannot print it back."""
    try:
        return str(RawStream()(expr))
    except Exception:  # a printer gap must not hide the statement's other rules
        return stmt.sql


def _add_constraint(state: _State, stmt: Statement, where: int, table: str,
                    constraint: ast.Constraint) -> None:
    shown = f"{constraint.conname or 'constraint'} on {table}"
    kind = constraint.contype
    name = (constraint.conname or "").lower()
    if constraint.skip_validation and name:
        state.not_valid.add((table, name))
        expr = constraint.raw_expr
        if (kind == ConstrType.CONSTR_CHECK and isinstance(expr, ast.NullTest)
                and expr.nulltesttype == NullTestType.IS_NOT_NULL
                and isinstance(expr.arg, ast.ColumnRef) and expr.arg.fields):
            column = str(getattr(expr.arg.fields[-1], "sval", "")).lower()
            state.ctx.known.facts.add(("pg-not-null-check", table, name, column))
    if kind == ConstrType.CONSTR_FOREIGN and not constraint.skip_validation:
        state.hit(FOREIGN_KEY, stmt, where, shown)
    elif kind == ConstrType.CONSTR_CHECK and not constraint.skip_validation:
        state.hit(CHECK, stmt, where, shown)
    elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY,
                  ConstrType.CONSTR_EXCLUSION) and not constraint.indexname:
        state.hit(UNIQUE, stmt, where, shown)


def _validate(state: _State, stmt: Statement, where: int, table: str, name: str) -> None:
    """VALIDATE CONSTRAINT: a validated ``CHECK (col IS NOT NULL)`` lets SET NOT NULL
    skip its scan (PostgreSQL 12+); validating in the transaction that added the
    constraint holds the ADD's lock during the scan, which NOT VALID was to avoid."""
    if (table, name) in state.not_valid and state.ctx.transactional:
        state.hit(VALIDATE_SAME_TRANSACTION, stmt, where, f"{name} on {table}")
    facts = state.ctx.known.facts
    for fact in [f for f in facts if f[:3] == ("pg-not-null-check", table, name)]:
        facts.add(("pg-not-null", table, fact[3]))


def _rename(state: _State, stmt: Statement, node: ast.RenameStmt) -> None:
    table = _name(node.relation)
    known = state.ctx.known
    if node.renameType == ObjectType.OBJECT_TABLE:
        known.rename(table, (node.newname or "").lower())
    elif node.renameType == ObjectType.OBJECT_COLUMN and table in known.columns:
        columns = known.columns[table]
        if (node.subname or "").lower() in columns:
            columns[(node.newname or "").lower()] = columns.pop((node.subname or "").lower())
    if node.renameType == ObjectType.OBJECT_TABLE:
        if state.is_new(table):
            state.ctx.new_tables.discard(table)
            state.ctx.new_tables.add((node.newname or "").lower())
            return
        state.hit(RENAME, stmt, _at(stmt, node.relation), f"table {table} to {node.newname}")
    elif node.renameType == ObjectType.OBJECT_COLUMN and not state.is_new(table):
        state.hit(RENAME, stmt, _at(stmt, node.relation),
                  f"column {table}.{node.subname} to {node.newname}")
    else:
        return
    state.strong_lock(stmt, _at(stmt, node.relation))


RULES = DialectRules(
    (INDEX, DROP_INDEX, CONCURRENTLY, VOLATILE_DEFAULT, NOT_NULL_NO_DEFAULT, COLUMN_TYPE,
     FOREIGN_KEY, CHECK, UNIQUE, SET_NOT_NULL, RENAME, DROP_COLUMN, DROP_TABLE, LOCK_TIMEOUT,
     NO_WHERE, ENUM_VALUE, DDL_WITH_DATA, REINDEX, DETACH, VALIDATE_SAME_TRANSACTION),
    lint,
)
