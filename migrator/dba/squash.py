"""``migrator squash --to VERSION``: many old migrations become one, proven equivalent.

The old files are applied to a scratch space of the URL's backend (a
temporary SQLite file without a URL); what they built, schema and rows, is
written out by the backend's catalog as one migration with the newest
squashed version. That file is applied to a second scratch space and both
are compared before anything is written. The old files move to
``squashed/`` under the migrations directory, where discovery ignores them.

The new file says ``-- migrator: replaces V1 V2 ...``: a database that already
applied the old migrations gets the squashed row in place of theirs on its
next ``up`` (see migrator.replaces). ``--history-only`` does the same rewrite
at once, on one database, in one transaction.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from migrator.api import Migrator
from migrator.backends.base import ScratchSpace
from migrator.dba.spaces import opened, rebuild_of, schema_of, scratch_beside
from migrator.errors import ConfigError, DriftError
from migrator.files import Migration, discover, version_key
from migrator.plan import find, reconcile
from migrator.progress import Progress
from migrator.replaces import replaced_versions
from migrator.source import REPLACES, read_sql
from migrator.state import AppliedMigration, utc_now

ARCHIVE = "squashed"
HEADER = "-- squash of migrations "
_HEADER = re.compile(r"^-- squash of migrations (?P<labels>[^;\n]+);", re.M)
_DIRECTIVES = re.compile(r"\A(?:[ \t]*--[ \t]*migrator[ \t]*:[^\n]*\n)*", re.I)


@dataclass(slots=True)
class SquashResult:
    squashed: list[Migration]
    up_file: Path
    down_file: Path | None
    statements: int
    moved: list[Path] = field(default_factory=list)


def _fingerprint(space: ScratchSpace) -> list[str]:
    """Schema and every row, as text, for comparing two scratch spaces."""
    return [*schema_of(space).lines(), *rebuild_of(space)[0].splitlines()]


def _with_header(up: str, header: str) -> str:
    """The header after the directives, which must stay the file's first lines."""
    directives = _DIRECTIVES.match(up)
    end = directives.end() if directives else 0
    return up[:end] + header + up[end:]


def squash(
    migrations_dir: Path, table: str, to: str, *, name: str = "squashed", dry_run: bool = False,
    url: str | None = None,
) -> SquashResult:
    """Replace every migration up to ``to`` by one equivalent migration.

    Built and proven in scratch spaces of ``url``'s backend, so the new file is
    in that database's dialect; without a URL, in temporary SQLite files.
    """
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
    with scratch_beside(url, table) as chain:
        Migrator(chain.url, migrations_dir, table=chain.table,
                 progress=Progress()).up(to=last.version)
        body, down = rebuild_of(chain)
        labels = ", ".join(m.label for m in chosen)
        directive = f"-- migrator: {REPLACES} {' '.join(m.version for m in chosen)}\n"
        up_text = _with_header(
            body, f"{directive}{HEADER}{labels}; the originals are in {ARCHIVE}/\n")
        down_text = down if all(m.down is not None for m in chosen) else None
        with scratch_beside(url, table) as trial:
            statements = _prove(trial, up_text, down_text, _fingerprint(chain))
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
    from migrator.integrity import rewrite_if_present

    rewrite_if_present(migrations_dir)  # opt-in: only a directory that has one
    return result


def _prove(
    space: ScratchSpace, up_text: str, down_text: str | None, expected: list[str]
) -> int:
    """Apply the squashed file to an empty space; it must equal the chain's result,
    and its down must bring the space back to empty."""
    empty = _fingerprint(space)
    with tempfile.TemporaryDirectory(prefix="migrator-squash-") as directory:
        trial = Path(directory)
        (trial / "1_squashed.up.sql").write_text(up_text, encoding="utf-8")
        if down_text is not None:
            (trial / "1_squashed.down.sql").write_text(down_text, encoding="utf-8")
        m = Migrator(space.url, trial, table=space.table, progress=Progress())
        result = m.up()
        got = _fingerprint(space)
        if got != expected:
            diff = difflib.unified_diff(expected, got, "old migrations", "squashed migration",
                                        lineterm="", n=1)
            raise DriftError("the squashed migration does not rebuild the same database as "
                             "the migrations it replaces; nothing was written\n"
                             + "\n".join(list(diff)[:40]))
        if down_text is not None:
            m.down()
            if _fingerprint(space) != empty:
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
    with opened(url, table, readonly=True) as reader:
        reader.catalog().schema()  # a database that does not exist is not created
    migrations = discover(migrations_dir)
    target = next((m for m in migrations if m.key == _key(to)), None)
    if target is None:
        raise ConfigError(f"no migration file with version {to}")
    versions = replaced_versions(target.up)
    if not versions:  # written before squash wrote the directive: its header lists them
        match = _HEADER.search(read_sql(Path(target.up.path)).text)
        if match is None:
            raise ConfigError(f"{target.up.path} is not a file written by 'migrator squash'")
        versions = [label.split("_", 1)[0] for label in match["labels"].split(", ")]
    keys = {version_key(v) for v in versions}
    with opened(url, table, readonly=False) as backend:
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


def _key(version: str) -> int:
    try:
        return version_key(version)
    except ValueError:
        raise ConfigError(f"'{version}' is not a migration version (digits expected)") from None

