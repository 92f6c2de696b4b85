"""Where the two models come from: migrations replayed, a DDL file, or a live database.

Every model is read by the dialect's catalog from a real database: a scratch
space of the dialect (a temporary SQLite file without a URL) into which the
migrations or the file were applied, or the live database read-only. The
current schema also stays built in its scratch space, with its bookkeeping
rows forgotten, so the proof can apply the generated migration on top.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from migrator.api import Migrator
from migrator.backends import admin, dialect_of_url, splitter
from migrator.backends.base import ScratchSpace
from migrator.dba.load import load_dump
from migrator.dba.spaces import opened, schema_of, scratch_beside
from migrator.diff.dialects import desired_text
from migrator.errors import ConfigError, DriftError
from migrator.files import discover_all, version_key
from migrator.placeholders import Variable
from migrator.progress import Progress
from migrator.schema import Schema


@dataclass(frozen=True, slots=True)
class Built:
    """A model, and the scratch space holding that schema (empty bookkeeping)."""

    schema: Schema
    space: ScratchSpace
    origin: str  # for reports: "the migrations", "schema.sql", the redacted URL


def read_text(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def live_schema(url: str, table: str) -> Schema:
    """A live database's model, read-only (a missing database is an error, not created)."""
    with opened(url, table, readonly=True) as backend:
        return backend.catalog().schema()


def _forget_all(space: ScratchSpace) -> None:
    """The space's bookkeeping rows go: the proof runs only the generated file there."""
    with opened(space.url, space.table, readonly=False) as backend:
        backend.ensure_state_table()
        backend.begin()
        try:
            for row in backend.applied():
                backend.forget(row.version)
            backend.commit()
        except BaseException:
            backend.rollback()
            raise


@contextlib.contextmanager
def from_migrations(scratch_url: str | None, directory: Path, table: str,
                    variables: Mapping[str, Variable] | None = None,
                    versions: set[str] | None = None) -> Iterator[Built]:
    """The migrations (all, or only those in ``versions``) replayed on a new scratch space."""
    with tempfile.TemporaryDirectory(prefix="migrator-diff-") as tmp, \
            scratch_beside(scratch_url, table) as space:
        if versions is not None:
            source = _only(directory, versions, Path(tmp))
        elif directory.is_dir():
            source = directory
        else:  # no migrations yet: diff writes the first one from an empty schema
            source = Path(tmp)
        Migrator(space.url, source, table=space.table, progress=Progress(),
                 variables=variables).up(allow_out_of_order=True)
        schema = schema_of(space)
        _forget_all(space)
        yield Built(schema, space, "the migrations")


def _only(directory: Path, versions: set[str], into: Path) -> Path:
    """A copy of the files of ``versions`` alone (the applied ones, for drift)."""
    found = discover_all(directory)
    chosen = [m for m in [*found.migrations, *found.repeatables] if m.version in versions]
    missing = sorted(versions - {m.version for m in chosen}, key=version_key)
    if missing:
        raise DriftError("the database applied migrations whose files are missing, so the "
                         "schema they build is unknown: " + ", ".join(missing))
    for m in chosen:
        up = Path(m.up.path)
        if up.parent != directory and up.parent.parent == directory:  # directory layout
            shutil.copytree(up.parent, into / up.parent.name)
            continue
        for path in (up, Path(m.down.path) if m.down else None):
            if path is not None:
                shutil.copy2(path, into / path.name)
    return into


@contextlib.contextmanager
def from_file(scratch_url: str | None, file: str, table: str) -> Iterator[Built]:
    """``file`` (plain DDL, or a ``migrator dump``: its bookkeeping rows are not schema)
    run statement by statement on a new scratch space, as ``load`` would."""
    text = read_text(file)
    with scratch_beside(scratch_url, table) as space:
        info = dialect_of_url(space.url)
        text = desired_text(info, text)
        if next(iter(splitter(info)(text)), None) is not None:  # empty: drop everything
            load_dump(space.url, space.table, file, text, 0.0, admin(info).loadable)
        schema = schema_of(space)
        _forget_all(space)
        yield Built(schema, space, file)


class Live(NamedTuple):
    """A live database as read: its model and its catalog's rebuild script."""

    schema: Schema
    rebuild: str
    shown: str  # the redacted URL, for reports


def read_live(url: str, table: str, shown: str) -> Live:
    """A live database's model and rebuild script (the one ``squash`` writes:
    relocatable, rows included), read-only; a missing database is an error."""
    with opened(url, table, readonly=True) as backend:
        catalog = backend.catalog()
        return Live(catalog.schema(), catalog.rebuild_script()[0], shown)


@contextlib.contextmanager
def from_live(scratch_url: str | None, live: Live, table: str) -> Iterator[Built]:
    """``live``'s rebuild script run on a scratch space, for the proof."""
    with tempfile.TemporaryDirectory(prefix="migrator-diff-") as tmp, \
            scratch_beside(scratch_url, table) as space:
        (Path(tmp) / "1_current.up.sql").write_text(live.rebuild, encoding="utf-8")
        Migrator(space.url, Path(tmp), table=space.table, progress=Progress()).up()
        _forget_all(space)
        yield Built(live.schema, space, live.shown)
