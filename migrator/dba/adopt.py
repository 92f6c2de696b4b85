"""``migrator adopt``: take over a database another tool migrated, without re-running anything.

It reads that tool's bookkeeping table, matches each version it applied to
today's migration file, and records those as applied in migrator's own table,
all in one transaction. The foreign table is only read, never changed, so
the other tool keeps working until the switch is done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends import open_backend
from migrator.backends.base import transaction
from migrator.backends.sqlite.backend import SqliteBackend
from migrator.dba.sqlitefile import database_file
from migrator.errors import ConfigError, DriftError
from migrator.files import Migration, discover, version_key
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


def _key(tool: str, value: object) -> int:
    text = str(value).strip()
    try:
        return version_key(text)
    except ValueError:
        raise DriftError(
            f"{tool} recorded version {text!r}, which is not a migrator version (digits, "
            "optionally with dashes); rename the files and versions first"
        ) from None


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return {str(r[1]).lower() for r in rows}


def _dbmate(conn: sqlite3.Connection, table: str) -> ForeignState:
    if "dirty" in _columns(conn, table):
        raise ConfigError(f"table {table} has a 'dirty' column: it is golang-migrate's, "
                          "not dbmate's; use --from golang-migrate")
    state = ForeignState()
    for (version,) in conn.execute(f'SELECT version FROM "{table}"'):
        state.versions[_key("dbmate", version)] = str(version)
    return state


def _golang_migrate(conn: sqlite3.Connection, table: str) -> ForeignState:
    if "dirty" not in _columns(conn, table):
        raise ConfigError(f"table {table} has no 'dirty' column: it looks like dbmate's, "
                          "not golang-migrate's; use --from dbmate")
    state = ForeignState()
    for version, dirty in conn.execute(f'SELECT version, dirty FROM "{table}"'):
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


def _goose(conn: sqlite3.Connection, table: str) -> ForeignState:
    applied: dict[int, str] = {}
    rows = conn.execute(f'SELECT version_id, is_applied FROM "{table}" ORDER BY id')
    for version, is_applied in rows:
        key = _key("goose", version)
        if key == 0:
            continue  # goose's own initial row
        if is_applied in (1, True, "1", "true", "t"):
            applied[key] = str(version)
        else:
            applied.pop(key, None)  # a later row rolled it back
    return ForeignState(versions=applied)


def _sqlx(conn: sqlite3.Connection, table: str) -> ForeignState:
    state = ForeignState()
    for version, success in conn.execute(f'SELECT version, success FROM "{table}"'):
        if success in (0, False, "0", "false", "f"):
            raise DriftError(
                f"sqlx recorded version {version} as failed (success = false): the database "
                "may be half-migrated. Nothing was recorded. Repair it by hand and delete "
                f"that row (or run 'sqlx migrate revert'), then run adopt again"
            )
        state.versions[_key("sqlx", version)] = str(version)
    return state


def _diesel(conn: sqlite3.Connection, table: str) -> ForeignState:
    state = ForeignState()
    for (version,) in conn.execute(f'SELECT version FROM "{table}"'):
        state.versions[_key("diesel", version)] = str(version)
    return state


def _flyway(conn: sqlite3.Connection, table: str) -> ForeignState:
    state = ForeignState()
    rows = conn.execute(
        f'SELECT version, type, success, script FROM "{table}" ORDER BY installed_rank'
    )
    for version, kind, success, script in rows:
        kind = str(kind or "").upper()
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


READERS: dict[str, Callable[[sqlite3.Connection, str], ForeignState]] = {
    "dbmate": _dbmate,
    "golang-migrate": _golang_migrate,
    "goose": _goose,
    "sqlx": _sqlx,
    "diesel": _diesel,
    "flyway": _flyway,
}


def _check_tables(tool: str, source: str, target: str) -> None:
    if source.lower() == target.split(".")[-1].lower():
        raise ConfigError(
            f"{tool}'s bookkeeping table is named {source}, the name migrator would use for "
            "its own. Give migrator another table with --migrations-table NAME (for example "
            "--migrations-table migrator_migrations), and keep passing it (or set "
            "MIGRATIONS_TABLE, or migrations_table in migrator.toml) on every later command"
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
    """Record what ``tool`` applied as applied in migrator's table, in one transaction."""
    source = source_table or TABLES[tool]
    _check_tables(tool, source, table)
    database_file(url)  # adopt never creates a database
    migrations = discover(migrations_dir)
    result = AdoptResult(tool, source)
    backend = open_backend(url, table=table, readonly=dry_run, busy_timeout=5.0)
    try:
        if not isinstance(backend, SqliteBackend):
            raise ConfigError("adopt works on SQLite databases only")
        if not _has_table(backend.conn, source):
            raise ConfigError(
                f"no table {source} in the database, so there is no {tool} history to adopt; "
                "check --from, or name the table with --source-table"
            )
        if dry_run:
            return _fill(result, tool, backend, source, migrations, write=False)
        # the table too, so a refused adoption leaves no trace
        with backend.run_lock(lock_timeout), transaction(backend):
            backend.conn.execute(backend.sql.create())
            _fill(result, tool, backend, source, migrations, write=True)
        return result
    finally:
        backend.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (name,)
    ).fetchone()
    return row is not None


def _fill(
    result: AdoptResult, tool: str, backend: SqliteBackend, source: str,
    migrations: list[Migration], *, write: bool,
) -> AdoptResult:
    state = READERS[tool](backend.conn, source)
    result.notes = state.notes
    ours = {version_key(row.version) for row in backend.applied()}
    for m in _select(tool, state, migrations):
        if m.key in ours:
            result.already.append(m)
            continue
        if write:
            backend.record(AppliedMigration(m.version, m.name, m.checksum, utc_now(), 0))
        result.recorded.append(m)
    return result
