"""The bookkeeping table: row type, DDL and queries.

The table name is user input; it is validated and quoted here, the only
place that builds SQL around it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable
from typing import NamedTuple

from migrator.errors import ConfigError, DriftError

COLUMNS = ("version", "name", "checksum", "applied_at", "duration_ms")
_PART = r"[A-Za-z_][A-Za-z0-9_$]*"
_TABLE_NAME = re.compile(rf"^{_PART}(?:\.{_PART})?\Z")  # "$" would let a newline through


class AppliedMigration(NamedTuple):
    """One bookkeeping row (a NamedTuple: status builds thousands, in C)."""

    version: str
    name: str
    checksum: str
    applied_at: str
    duration_ms: int


def utc_now() -> str:
    """UTC now as ISO 8601 with milliseconds: ``2026-11-24T05:26:07.123Z``.

    Built with ``time``, not ``datetime``: one call per migration, and the
    datetime import alone costs ~3 ms of a short command.
    """
    seconds, millis = divmod(int(time.time() * 1000), 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def validate_table_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise ConfigError(
            f"invalid migrations table name {name!r}: use letters, digits and '_' "
            "(optionally schema.table)"
        )
    return name


class StateSql(NamedTuple):
    """Queries on the bookkeeping table; ``mark`` is the driver's placeholder.

    The statements are built once per table (cached): ``up`` asks for two of
    them per migration.
    """

    table: str
    quote_char: str = '"'
    mark: str = "?"

    @property
    def qualified(self) -> str:
        q = self.quote_char
        return ".".join(f"{q}{part}{q}" for part in self.table.split("."))

    @property
    def bare_name(self) -> str:
        return self.table.split(".")[-1]

    def create(self, text_type: str = "TEXT", key_type: str = "TEXT") -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.qualified} (\n"
            f"    version {key_type} NOT NULL PRIMARY KEY,\n"
            f"    name {text_type} NOT NULL,\n"
            f"    checksum {text_type} NOT NULL,\n"
            f"    applied_at {text_type} NOT NULL,\n"
            "    duration_ms INTEGER NOT NULL\n"
            ")"
        )

    @functools.cache  # noqa: B019 (a handful of instances, kept for the run)
    def select_all(self) -> str:
        return f"SELECT {', '.join(COLUMNS)} FROM {self.qualified}"

    @functools.cache  # noqa: B019 (a handful of instances, kept for the run)
    def select_one(self) -> str:
        return f"SELECT 1 FROM {self.qualified} WHERE version = {self.mark}"

    @functools.cache  # noqa: B019 (a handful of instances, kept for the run)
    def insert(self) -> str:
        marks = ", ".join([self.mark] * len(COLUMNS))
        return f"INSERT INTO {self.qualified} ({', '.join(COLUMNS)}) VALUES ({marks})"

    @functools.cache  # noqa: B019 (a handful of instances, kept for the run)
    def delete(self) -> str:
        return f"DELETE FROM {self.qualified} WHERE version = {self.mark}"


def sql_literal(value: object) -> str:
    """A literal for dry-run scripts (never used to build executed SQL)."""
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def is_ours(table: str, columns: list[str] | None) -> bool:
    """True if the bookkeeping table exists with migrator's columns, False if it does
    not exist; a same-named table another tool wrote is refused (DriftError)."""
    if not columns:
        return False
    if not set(COLUMNS) <= {c.lower() for c in columns}:
        raise DriftError(foreign_table_message(table, columns))
    return True


def foreign_table_message(table: str, columns: list[str]) -> str:
    """Explain a same-named table that another tool wrote, and how to adopt it."""
    cols = set(columns)
    if cols == {"version"}:
        guess, tool = "dbmate's", "dbmate"
    elif cols == {"version", "dirty"}:
        guess, tool = "golang-migrate's", "golang-migrate"
    else:
        guess, tool = "another tool's", ""
    if tool:
        return (
            f"table {table} exists but was not written by migrator: its columns "
            f"({', '.join(columns)}) look like {guess} bookkeeping table, which migrator "
            f"does not change on its own. To adopt this database: 'migrator adopt --from "
            f"{tool}' converts it in place, keeping its rows as {table}_{tool.replace('-', '_')}"
            "_backup; later commands need no flag"
        )
    return (
        f"table {table} exists but was not written by migrator: its columns "
        f"({', '.join(columns)}) look like {guess} bookkeeping table. migrator never alters "
        "it. To adopt this database: keep that table and give migrator its own with "
        "--migrations-table NAME (or MIGRATIONS_TABLE), then record what is already "
        "applied with 'migrator baseline VERSION', VERSION being the newest version the "
        f"other tool applied (SELECT max(version) FROM {table})"
    )


DUMP_HEADER = "-- schema dump written by 'migrator dump'; do not edit"


def applied_inserts(
    state: StateSql, rows: Iterable[tuple[str, str, str]], now: str
) -> list[str]:
    """One INSERT per applied ``(version, name, checksum)`` for a schema dump.

    ``applied_at`` is the loading database's ``now`` expression and the
    duration 0, so two equal databases dump to equal bytes whenever they ran.
    """
    columns = ", ".join(COLUMNS)
    return [f"INSERT INTO {state.qualified} ({columns}) VALUES "
            f"({sql_literal(v)}, {sql_literal(n)}, {sql_literal(c)}, {now}, 0);"
            for v, n, c in rows]


def render_dump(body: str, create: str, state: StateSql, applied: Iterable[AppliedMigration],
                now: str) -> str:
    """A server's dump: the header, the schema ``body``, then the bookkeeping table's
    ``create`` and one INSERT per applied migration."""
    out = [DUMP_HEADER, "", body.strip("\n"), "", "-- applied migrations", create + ";"]
    out.extend(applied_inserts(state, ((r.version, r.name, r.checksum) for r in applied), now))
    return "\n".join(out) + "\n"


def squeeze(lines: Iterable[str]) -> str:
    """Blank-line runs left where a dump tool's noise was removed collapse to one."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out)
