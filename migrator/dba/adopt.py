"""``migrator adopt``: take over a database another tool migrated, without re-running anything.

It reads that tool's bookkeeping table (through the backend's catalog, so
every database works alike), matches each version it applied to today's
migration file, and records those as applied in migrator's own table, all in
one transaction. The foreign table is only read, never changed, so the other
tool keeps working until the switch is done.

dbmate and golang-migrate call their table ``schema_migrations``, migrator's
default name. Then the table is converted in place instead: its rows are kept
as ``<table>_<tool>_backup`` and migrator's table takes its name, so later
commands need no ``--migrations-table``. Where DDL is transactional that is
one transaction; elsewhere (MySQL) the backup is written first, and a run that
stopped after it is finished by running adopt again, which then reads the backup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends.base import Backend, transaction
from migrator.dba.spaces import opened
from migrator.errors import ConfigError, DriftError
from migrator.files import Migration, version_key
from migrator.integrity import discover_verified
from migrator.state import AppliedMigration, utc_now

TABLES = {
    "dbmate": "schema_migrations",
    "golang-migrate": "schema_migrations",
    "goose": "goose_db_version",
    "sqlx": "_sqlx_migrations",
    "diesel": "__diesel_schema_migrations",
    "flyway": "flyway_schema_history",
}


@dataclass(slots=True)
class ForeignState:
    """What the other tool says is applied."""

    versions: dict[int, str] = field(default_factory=dict)  # key -> version as stored
    up_to: int | None = None  # every version <= this counts as applied
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AdoptResult:
    tool: str
    source_table: str
    recorded: list[Migration] = field(default_factory=list)
    already: list[Migration] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    backup: str | None = None  # converted in place: the other tool's rows are kept here


# Names written into SQL unquoted by the in-place conversion: the same table on every
# database only when lower-case and unqualified (PostgreSQL folds unquoted names).
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*\Z")


def backup_name(table: str, tool: str) -> str:
    return f"{table}_{tool.replace('-', '_')}_backup"


def _key(tool: str, value: object) -> int:
    text = str(value).strip()
    try:
        return version_key(text)
    except ValueError:
        raise DriftError(
            f"{tool} recorded version {text!r}, which is not a migrator version (digits, "
            "optionally with dashes); rename the files and versions first"
        ) from None


Rows = list[dict[str, object]]  # the foreign table, column names lower-cased


def _column(rows: Rows, name: str) -> list[object]:
    return [row.get(name) for row in rows]


def _has_column(rows: Rows, name: str) -> bool:
    """Whether the table has ``name``; an empty table answers both ways (nothing to adopt)."""
    return not rows or name in rows[0]


def _ordered(rows: Rows, column: str) -> Rows:
    return sorted(rows, key=lambda row: _number(row.get(column)))


def _number(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _dbmate(rows: Rows, table: str) -> ForeignState:
    if rows and _has_column(rows, "dirty"):
        raise ConfigError(f"table {table} has a 'dirty' column: it is golang-migrate's, "
                          "not dbmate's; use --from golang-migrate")
    state = ForeignState()
    for version in _column(rows, "version"):
        state.versions[_key("dbmate", version)] = str(version)
    return state


def _golang_migrate(rows: Rows, table: str) -> ForeignState:
    if not _has_column(rows, "dirty"):
        raise ConfigError(f"table {table} has no 'dirty' column: it looks like dbmate's, "
                          "not golang-migrate's; use --from dbmate")
    state = ForeignState()
    for row in rows:
        version, dirty = row.get("version"), row.get("dirty")
        if dirty not in (0, None, False, "0", "false", "f"):
            raise DriftError(
                f"golang-migrate marked version {version} dirty: a migration failed part-way "
                "and the database may be half-migrated. Nothing was recorded. Inspect and "
                f"repair it by hand, run 'migrate force {version}' (or the version before it), "
                "then run adopt again"
            )
        if str(version).strip().startswith("-"):
            continue  # -1: 'migrate force -1' left no version applied
        state.up_to = _key("golang-migrate", version)
        state.versions[state.up_to] = str(version)
    return state


def _goose(rows: Rows, table: str) -> ForeignState:
    applied: dict[int, str] = {}
    for row in _ordered(rows, "id"):
        version, is_applied = row.get("version_id"), row.get("is_applied")
        key = _key("goose", version)
        if key == 0:
            continue  # goose's own initial row
        if is_applied in (1, True, "1", "true", "t"):
            applied[key] = str(version)
        else:
            applied.pop(key, None)  # a later row rolled it back
    return ForeignState(versions=applied)


def _sqlx(rows: Rows, table: str) -> ForeignState:
    state = ForeignState()
    for row in rows:
        version, success = row.get("version"), row.get("success")
        if success in (0, False, "0", "false", "f"):
            raise DriftError(
                f"sqlx recorded version {version} as failed (success = false): the database "
                "may be half-migrated. Nothing was recorded. Repair it by hand and delete "
                f"that row (or run 'sqlx migrate revert'), then run adopt again"
            )
        state.versions[_key("sqlx", version)] = str(version)
    return state


def _diesel(rows: Rows, table: str) -> ForeignState:
    state = ForeignState()
    for version in _column(rows, "version"):
        state.versions[_key("diesel", version)] = str(version)
    return state


def _flyway(rows: Rows, table: str) -> ForeignState:
    state = ForeignState()
    for row in _ordered(rows, "installed_rank"):
        version, success, script = row.get("version"), row.get("success"), row.get("script")
        kind = str(row.get("type") or "").upper()
        if success in (0, False, "0", "false", "f"):
            raise DriftError(
                f"Flyway recorded {script} (version {version}) as failed: the database may be "
                "half-migrated. Nothing was recorded. Repair it by hand, run 'flyway repair', "
                "then run adopt again"
            )
        if version is None:
            state.notes.append(f"ignored repeatable migration {script}: migrator has none")
            continue
        if kind == "SCHEMA":
            continue  # Flyway's "<< Flyway Schema Creation >>" marker
        key = _key("Flyway", version)
        if kind == "BASELINE":
            state.up_to = max(key, state.up_to or 0)
            state.notes.append(f"Flyway baseline at version {version}: every migration up to "
                               "it counts as applied")
        elif kind.startswith("UNDO"):
            state.versions.pop(key, None)
        elif kind == "DELETE":
            state.notes.append(f"ignored row marked deleted by 'flyway repair': {script}")
        else:
            state.versions[key] = str(version)
    return state


READERS: dict[str, Callable[[Rows, str], ForeignState]] = {
    "dbmate": _dbmate,
    "golang-migrate": _golang_migrate,
    "goose": _goose,
    "sqlx": _sqlx,
    "diesel": _diesel,
    "flyway": _flyway,
}


def _in_place(tool: str, source: str, target: str) -> bool:
    """Whether the other tool's table has migrator's name: converted in place, if its name
    can be written the same way on every database; else refused with the way round."""
    if source.lower() != target.split(".")[-1].lower():
        return False
    if source == target and _PLAIN.match(target):
        return True
    raise ConfigError(
        f"{tool}'s bookkeeping table is named {source}, like migrator's own, but only a "
        "lower-case, unqualified name is converted in place. Give migrator another table "
        "with --migrations-table NAME (for example --migrations-table migrator_migrations), "
        "and keep passing it (or set MIGRATIONS_TABLE, or migrations_table in "
        "migrator.toml) on every later command"
    )


def _select(tool: str, state: ForeignState, migrations: list[Migration]) -> list[Migration]:
    by_key = {m.key: m for m in migrations}
    unknown = sorted(k for k in state.versions if k not in by_key)
    if unknown:
        shown = ", ".join(state.versions[k] for k in unknown)
        raise DriftError(
            f"{tool} applied version(s) {shown}, but no migration file has that version; "
            "nothing was recorded. Add the files (convert them with 'migrator convert') "
            "and run adopt again",
            [{"version": state.versions[k], "file": None, "kind": "missing"} for k in unknown],
        )
    limit = state.up_to
    return [m for m in migrations
            if m.key in state.versions or (limit is not None and m.key <= limit)]


def adopt(
    url: str, migrations_dir: Path, table: str, tool: str, *,
    source_table: str | None = None, dry_run: bool = False, lock_timeout: float = 0.0,
) -> AdoptResult:
    """Record what ``tool`` applied as applied in migrator's table, in one transaction.

    Everything that can refuse is decided on a read-only connection first, so a
    refused adoption leaves no trace; the write re-reads inside its transaction.
    """
    source = source_table or TABLES[tool]
    in_place = _in_place(tool, source, table)
    migrations = discover_verified(migrations_dir).migrations
    result = AdoptResult(tool, source)
    with opened(url, table, readonly=True) as reader:  # never creates a database
        read_from, converting = _where(reader, tool, source, in_place, result)
        _fill(result, tool, reader, read_from, migrations, write=False, ours=not converting)
    if dry_run:
        return result
    result = AdoptResult(tool, source)
    with opened(url, table, readonly=False) as backend, backend.run_lock(lock_timeout):
        read_from, converting = _where(backend, tool, source, in_place, result)
        if converting:
            _convert(result, tool, backend, source, migrations)
            return result
        backend.ensure_state_table()
        with transaction(backend):
            _fill(result, tool, backend, read_from, migrations, write=True)
    return result


def _where(backend: Backend, tool: str, source: str, in_place: bool,
           result: AdoptResult) -> tuple[str, bool]:
    """The table to read the other tool's rows from, and whether the table of migrator's
    name is to be converted; in place, ``result.backup`` is set.

    In place, the table of migrator's name is converted while it is the other
    tool's; once it is migrator's (an adopt done, or stopped part-way), the rows
    are read from the backup, so running adopt again finishes or repeats it."""
    if not in_place:
        return source, False
    backup = backup_name(source, tool)
    result.backup = backup
    catalog = backend.catalog()
    kept = catalog.read_table(backup) is not None
    if _is_foreign(backend):
        if kept:
            raise ConfigError(
                f"{source} is still {tool}'s table, yet {backup} exists, perhaps left by an "
                f"adopt that stopped part-way. Compare the two, drop {backup}, and run adopt "
                "again; nothing was changed")
        return source, True
    if kept:
        return backup, False
    if catalog.read_table(source) is not None:
        raise ConfigError(f"{source} is migrator's own table and there is no {backup}: no "
                          f"{tool} history to adopt here")
    return source, False  # no table at all: _fill says so


def _is_foreign(backend: Backend) -> bool:
    """Whether the table of migrator's name is another tool's (its columns are not ours)."""
    try:
        backend.applied()
    except DriftError:
        return True
    return False


def _convert(result: AdoptResult, tool: str, backend: Backend, source: str,
             migrations: list[Migration]) -> None:
    """The other tool's table becomes migrator's: its rows copied to the backup, the table
    dropped, migrator's created and filled. One transaction where DDL is transactional;
    elsewhere the backup is complete before the original goes (see the module doc)."""
    backup = result.backup
    steps = [f"CREATE TABLE {backup} AS SELECT * FROM {source}", f"DROP TABLE {source}"]
    if backend.transactional_ddl:
        create = backend.dry_run_sql()["create"].rstrip().rstrip(";")
        with transaction(backend):
            _fill(result, tool, backend, source, migrations, write=False, ours=False)
            for sql in [*steps, create]:
                backend.execute(sql)
            _record(backend, result.recorded)
        return
    _fill(result, tool, backend, source, migrations, write=False, ours=False)
    for sql in steps:  # each commits on its own
        backend.execute(sql)
    backend.ensure_state_table()
    with transaction(backend):
        _record(backend, result.recorded)


def _record(backend: Backend, chosen: list[Migration]) -> None:
    for m in chosen:
        backend.record(AppliedMigration(m.version, m.name, m.checksum, utc_now(), 0))


def _fill(
    result: AdoptResult, tool: str, backend: Backend, source: str,
    migrations: list[Migration], *, write: bool, ours: bool = True,
) -> AdoptResult:
    """``ours``: migrator's table can be read (False while the other tool's has its name)."""
    rows = backend.catalog().read_table(source)
    if rows is None:
        raise ConfigError(
            f"no table {source} in the database, so there is no {tool} history to adopt; "
            "check --from, or name the table with --source-table"
        )
    lowered = [{str(k).lower(): v for k, v in row.items()} for row in rows]
    state = READERS[tool](lowered, source)
    result.notes = state.notes
    recorded = {version_key(row.version) for row in backend.applied()} if ours else set()
    for m in _select(tool, state, migrations):
        if m.key in recorded:
            result.already.append(m)
            continue
        if write:
            _record(backend, [m])
        result.recorded.append(m)
    return result
