"""``migrator adopt``: take over a database another tool migrated, without re-running anything.

It reads that tool's bookkeeping table (through the backend's catalog, so
every database works alike), matches each version it applied to today's
migration file, and records those as applied in migrator's own table, all in
one transaction. The foreign table is only read, never changed, so the other
tool keeps working until the switch is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends.base import Backend, transaction
from migrator.dba.spaces import opened
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
    """Record what ``tool`` applied as applied in migrator's table, in one transaction.

    Everything that can refuse is decided on a read-only connection first, so a
    refused adoption leaves no trace; the write re-reads inside its transaction.
    """
    source = source_table or TABLES[tool]
    _check_tables(tool, source, table)
    migrations = discover(migrations_dir)
    result = AdoptResult(tool, source)
    with opened(url, table, readonly=True) as reader:  # never creates a database
        _fill(result, tool, reader, source, migrations, write=False)
    if dry_run:
        return result
    result = AdoptResult(tool, source)
    with opened(url, table, readonly=False) as backend, backend.run_lock(lock_timeout):
        backend.ensure_state_table()
        with transaction(backend):
            _fill(result, tool, backend, source, migrations, write=True)
    return result


def _fill(
    result: AdoptResult, tool: str, backend: Backend, source: str,
    migrations: list[Migration], *, write: bool,
) -> AdoptResult:
    rows = backend.catalog().read_table(source)
    if rows is None:
        raise ConfigError(
            f"no table {source} in the database, so there is no {tool} history to adopt; "
            "check --from, or name the table with --source-table"
        )
    lowered = [{str(k).lower(): v for k, v in row.items()} for row in rows]
    state = READERS[tool](lowered, source)
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
