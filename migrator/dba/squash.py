"""``migrator squash --to VERSION``: many old migrations become one, proven equivalent.

The old files are applied to a scratch database; what they built (schema,
rows, sqlite_sequence, user_version) is written out as one migration with
the newest squashed version. That file is applied to a second scratch
database and both are compared before anything is written. The old files move
to ``squashed/`` under the migrations directory, where discovery ignores them.

A database that already applied the old migrations still has one row per
old version; ``--history-only`` rewrites those rows into the squashed row,
on each such database, in one transaction.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator
from migrator.backends import open_backend
from migrator.dba.sqlitefile import SchemaObject, database_file, schema_objects
from migrator.errors import ConfigError, DriftError
from migrator.files import Migration, discover, version_key
from migrator.plan import find, reconcile
from migrator.progress import Progress
from migrator.source import read_sql
from migrator.state import AppliedMigration, utc_now

ARCHIVE = "squashed"
HEADER = "-- squash of migrations "
_HEADER = re.compile(r"^-- squash of migrations (?P<labels>[^;\n]+);", re.M)
_FK_OFF = "-- migrator: foreign-keys-off\n"


@dataclass(slots=True)
class SquashResult:
    squashed: list[Migration]
    up_file: Path
    down_file: Path | None
    statements: int
    moved: list[Path] = field(default_factory=list)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal that reads back as the same SQLite value and type."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "NULL"  # SQLite stores NaN as NULL anyway
        if value in (float("inf"), float("-inf")):
            return "9e999" if value > 0 else "-9e999"
        return repr(value)
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _rows(conn: sqlite3.Connection, table: SchemaObject) -> list[str]:
    columns = [str(r[1]) for r in conn.execute(f"PRAGMA table_xinfo({_quote(table.name)})")
               if r[6] == 0]  # generated and hidden columns are computed, not stored
    names = ", ".join(_quote(c) for c in columns)
    select = f"SELECT {names} FROM {_quote(table.name)}"
    try:
        rows = conn.execute(select + " ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:  # WITHOUT ROWID: primary-key order
        rows = conn.execute(select).fetchall()
    head = f"INSERT INTO {_quote(table.name)} ({names}) VALUES "
    return [head + "(" + ", ".join(literal(v) for v in row) + ");" for row in rows]


def build_sql(db: Path, table: str) -> tuple[str, list[SchemaObject]]:
    """The statements that rebuild ``db`` (bookkeeping excluded), triggers after the rows."""
    conn = sqlite3.connect(str(db))
    try:
        objects = schema_objects(conn, exclude={table.split(".")[-1]})
        out: list[str] = []
        tables = [o for o in objects if o.type == "table"]
        out += [o.sql.rstrip().rstrip(";") + ";" for o in tables]
        for t in tables:
            out += _rows(conn, t)
        has_seq = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
        if has_seq:
            wanted = {t.name for t in tables}
            for name, seq in conn.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name"):
                if name in wanted:  # the rows above made an entry already, maybe lower
                    out.append(f"DELETE FROM sqlite_sequence WHERE name = {literal(name)};")
                    out.append(f"INSERT INTO sqlite_sequence (name, seq) VALUES "
                               f"({literal(name)}, {literal(seq)});")
        out += [o.sql.rstrip().rstrip(";") + ";" for o in objects if o.type != "table"]
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if user_version:
            out.append(f"PRAGMA user_version = {user_version};")
    finally:
        conn.close()
    return "\n".join(out) + "\n", objects


def _down_sql(objects: list[SchemaObject], resets_user_version: bool) -> str:
    drops = {"trigger": "DROP TRIGGER", "view": "DROP VIEW", "table": "DROP TABLE"}
    lines = [f"{drops[o.type]} IF EXISTS {_quote(o.name)};"
             for o in reversed(objects) if o.type in drops]
    if resets_user_version:
        lines.append("PRAGMA user_version = 0;")
    return _FK_OFF + "\n".join(lines) + "\n"


def _fingerprint(db: Path, table: str) -> str:
    """Schema and every row, as text, for comparing two databases."""
    return build_sql(db, table)[0]


def squash(
    migrations_dir: Path, table: str, to: str, *, name: str = "squashed", dry_run: bool = False,
) -> SquashResult:
    """Replace every migration up to ``to`` by one equivalent migration."""
    migrations = discover(migrations_dir)
    limit = find(reconcile(migrations, []), to)
    chosen = [m for m in migrations if m.key <= limit.key]
    if len(chosen) < 2:
        raise ConfigError(f"--to {to}: squashing needs at least two migrations up to it")
    no_tx = [m.up.path for m in chosen if not m.up.transactional]
    if no_tx:
        raise ConfigError("cannot squash no-transaction migrations (their statements are not "
                          "schema a dump can carry): " + ", ".join(no_tx))
    last = chosen[-1]
    with tempfile.TemporaryDirectory(prefix="migrator-squash-") as scratch:
        chain_db, squashed_db = Path(scratch) / "chain.db", Path(scratch) / "squashed.db"
        Migrator(f"sqlite:///{chain_db}", migrations_dir, table=table,
                 progress=Progress()).up(to=last.version)
        body, objects = build_sql(chain_db, table)
        labels = ", ".join(m.label for m in chosen)
        up_text = (f"{_FK_OFF}{HEADER}{labels}; the originals are in {ARCHIVE}/\n{body}")
        reversible = all(m.down is not None for m in chosen)
        resets = re.search(r"(?m)^PRAGMA user_version = ", body) is not None
        down_text = _down_sql(objects, resets) if reversible else None
        statements = _prove(Path(scratch), up_text, down_text, table, chain_db, squashed_db)
    stem = f"{last.version}_{name}"
    up_file = migrations_dir / f"{stem}.up.sql"
    down_file = migrations_dir / f"{stem}.down.sql" if down_text is not None else None
    result = SquashResult(chosen, up_file, down_file, statements)
    if dry_run:
        return result
    archive = migrations_dir / ARCHIVE
    archive.mkdir(exist_ok=True)
    for m in chosen:
        result.moved += _archive(m, migrations_dir, archive)
    up_file.write_text(up_text, encoding="utf-8")
    if down_file is not None and down_text is not None:
        down_file.write_text(down_text, encoding="utf-8")
    discover(migrations_dir)
    return result


def _prove(
    scratch: Path, up_text: str, down_text: str | None, table: str, chain_db: Path,
    squashed_db: Path,
) -> int:
    """Apply the squashed file to an empty database; it must equal the chain's result."""
    trial = scratch / "trial"
    trial.mkdir()
    (trial / "1_squashed.up.sql").write_text(up_text, encoding="utf-8")
    if down_text is not None:
        (trial / "1_squashed.down.sql").write_text(down_text, encoding="utf-8")
    m = Migrator(f"sqlite:///{squashed_db}", trial, table=table, progress=Progress())
    result = m.up()
    expected, got = _fingerprint(chain_db, table), _fingerprint(squashed_db, table)
    if got != expected:
        diff = difflib.unified_diff(expected.splitlines(), got.splitlines(), "old migrations",
                                    "squashed migration", lineterm="", n=1)
        raise DriftError("the squashed migration does not rebuild the same database as the "
                         "migrations it replaces; nothing was written\n"
                         + "\n".join(list(diff)[:40]))
    if down_text is not None:
        m.down()
        if _fingerprint(squashed_db, table) != "\n":
            raise DriftError("the squashed down file does not empty the database; "
                             "nothing was written")
    return result.steps[0].statements


def _archive(m: Migration, directory: Path, archive: Path) -> list[Path]:
    moved: list[Path] = []
    up = Path(m.up.path)
    if up.parent != directory:  # directory layout: move the whole directory
        target = archive / up.parent.name
        up.parent.rename(target)
        return [target]
    for path in (up, Path(m.down.path) if m.down else None):
        if path is not None:
            target = archive / path.name
            path.rename(target)
            moved.append(target)
    return moved


@dataclass(slots=True)
class HistoryResult:
    removed: list[str]
    recorded: str | None


def rewrite_history(url: str, migrations_dir: Path, table: str, to: str,
                    lock_timeout: float = 0.0) -> HistoryResult:
    """On a database that applied the old migrations: their rows become the squashed row."""
    database_file(url)
    migrations = discover(migrations_dir)
    target = next((m for m in migrations if m.key == _key(to)), None)
    if target is None:
        raise ConfigError(f"no migration file with version {to}")
    match = _HEADER.search(read_sql(Path(target.up.path)).text)
    if match is None:
        raise ConfigError(f"{target.up.path} is not a file written by 'migrator squash'")
    versions = [label.split("_", 1)[0] for label in match["labels"].split(", ")]
    keys = {version_key(v) for v in versions}
    backend = open_backend(url, table=table, readonly=False, busy_timeout=5.0)
    try:
        with backend.run_lock(lock_timeout):
            backend.ensure_state_table()
            backend.begin()
            try:
                rows = {version_key(r.version): r for r in backend.applied()}
                present = sorted(rows[k].version for k in keys if k in rows)
                done = target.key in rows and rows[target.key].checksum == target.checksum
                if done and present == [rows[target.key].version]:
                    backend.rollback()
                    return HistoryResult([], None)  # already rewritten
                if not present:
                    backend.rollback()
                    return HistoryResult([], None)  # a fresh database runs the squashed file
                if len(present) != len(keys):
                    missing = sorted(set(versions) - set(present), key=version_key)
                    raise DriftError(
                        "this database applied only part of the squashed migrations (missing "
                        + ", ".join(missing) + "); apply them with the files in "
                        f"{ARCHIVE}/ first, then run this again. Nothing was changed")
                for version in present:
                    backend.forget(version)
                backend.record(AppliedMigration(target.version, target.name, target.checksum,
                                                utc_now(), 0))
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
        return HistoryResult(present, target.version)
    finally:
        backend.close()


def _key(version: str) -> int:
    try:
        return version_key(version)
    except ValueError:
        raise ConfigError(f"'{version}' is not a migration version (digits expected)") from None

