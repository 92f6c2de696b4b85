"""``migrator rebase VERSION...``: this branch's new migrations move after everyone else's.

Two branches each add a migration; the one merged second may carry the
older timestamp, so on a database that already ran the other one it would
be out of order. Rebasing renames its files to fresh timestamps after the
newest migration in the directory (the generator ``new`` uses), in the
order given, and rewrites ``migrations.sum``. Only a migration no database
has applied may move: its version is its identity in every
``schema_migrations`` table, so each database given (``-u``, repeatable, or
the configured URL) is asked first, read-only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from migrator.config import redact_url
from migrator.dba.spaces import opened
from migrator.errors import ConfigError
from migrator.files import REPEATABLE_PREFIX, Discovered, Migration, discover_all, version_key
from migrator.integrity import Written, rewrite_if_present, verify
from migrator.scaffold import directory_lock, next_version


class Moved(NamedTuple):
    """One rebased migration: its files, from and to."""

    migration: Migration
    version: str  # the new one
    renames: list[tuple[Path, Path]]

    @property
    def label(self) -> str:
        return f"{self.version}_{self.migration.name}"


class Rebased(NamedTuple):
    moved: list[Moved]
    checked: list[str]  # the databases asked, passwords redacted
    sum: Written | None  # None: the directory has no migrations.sum (or --dry-run)


class AlreadyApplied(ConfigError):
    """A migration to move is applied somewhere: renaming it would make it new there."""

    kind = "applied"

    def __init__(self, found: list[tuple[Migration, str, str]]) -> None:
        self.found = found
        lines = ["refusing to rebase a migration a database already applied; nothing was "
                 "renamed"]
        lines += [f"  {m.label}: {state} on {url}" for m, url, state in found]
        lines.append("  fix: an applied migration keeps its version; roll it back there "
                     "first ('migrator -u URL down --to VERSION') if it must move")
        super().__init__("\n".join(lines))

    def details(self) -> dict[str, object]:
        return {"applied": [{"version": m.version, "name": m.name, "url": url, "state": state}
                            for m, url, state in self.found]}


def rebase(directory: Path, versions: Sequence[str], urls: Sequence[str], table: str, *,
           dry_run: bool = False) -> Rebased:
    """Rename the migrations named by ``versions`` to fresh versions after the newest one.

    :raises ConfigError: a version names no migration, or a repeatable one.
    :raises AlreadyApplied: a database in ``urls`` applied (or part-applied) one of them.
    :raises SumMismatch: another migration disagrees with ``migrations.sum``.
    """
    if not directory.is_dir():
        discover_all(directory)  # raises the usual "does not exist" message
    with directory_lock(directory):
        found = discover_all(directory)
        chosen = _chosen(found, versions)
        verify(directory, found, exempt={m.label for m in chosen})
        checked = [redact_url(url) for url in urls]
        applied = [hit for url in urls for hit in _applied(url, table, chosen)]
        if applied:
            raise AlreadyApplied(applied)
        moved = _plan(directory, found, chosen)
        if dry_run:
            return Rebased(moved, checked, None)
        _rename(moved)
        return Rebased(moved, checked, rewrite_if_present(directory))


def _chosen(found: Discovered, versions: Sequence[str]) -> list[Migration]:
    by_key = {m.key: m for m in found.migrations}
    chosen: list[Migration] = []
    for text in versions:
        if text.startswith(REPEATABLE_PREFIX):
            raise ConfigError(f"{text} is a repeatable migration: it has no version to move")
        version = text.split("_", 1)[0]  # a label (20260101120000_add_x) works too
        if not version[:1].isdigit() or not version.replace("-", "").isdigit():
            raise ConfigError(f"'{text}' is not a migration version (digits expected)")
        m = by_key.get(version_key(version))
        if m is None:
            raise ConfigError(f"no migration with version {version}")
        if m in chosen:
            raise ConfigError(f"{m.label} is named twice")
        chosen.append(m)
    return chosen


def _applied(url: str, table: str, chosen: list[Migration]) -> list[tuple[Migration, str, str]]:
    """The chosen migrations this database applied, or started and did not finish."""
    with opened(url, table, readonly=True) as backend:
        rows = {version_key(r.version) for r in backend.applied()}
        journal = backend.journal
        unfinished = set() if journal is None else {version_key(u.version)
                                                    for u in journal.unfinished()}
    shown = redact_url(url)
    return [(m, shown, "applied" if m.key in rows else "stopped part-way")
            for m in chosen if m.key in rows or m.key in unfinished]


def _plan(directory: Path, found: Discovered, chosen: list[Migration]) -> list[Moved]:
    taken = {m.key for m in found.migrations}
    after = max(taken)  # chosen is not empty, so neither is taken
    moved = []
    for m in chosen:
        version = next_version(directory, taken, after)
        after = version_key(version)
        taken.add(after)
        moved.append(Moved(m, version, _renames(m, f"{version}_{m.name}")))
    return moved


def _renames(m: Migration, label: str) -> list[tuple[Path, Path]]:
    up = Path(m.up.path)
    if up.name == "up.sql":  # the directory layout: V_name/up.sql, down.sql
        return [(up.parent, up.parent.with_name(label))]
    paths = [up] if m.down is None else [up, Path(m.down.path)]
    return [(p, p.with_name(label + p.name[len(m.label):])) for p in paths]


def _rename(moved: list[Moved]) -> None:
    """Every rename, or none: one that fails puts back those done before it."""
    done: list[tuple[Path, Path]] = []
    try:
        for item in moved:
            for source, target in item.renames:
                if os.path.lexists(target):
                    raise ConfigError(f"{target} exists; nothing was renamed")
                os.rename(source, target)
                done.append((source, target))
    except BaseException as exc:
        for source, target in reversed(done):
            os.rename(target, source)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot rename {exc.filename}: {exc.strerror}; nothing was "
                              "renamed") from exc
        raise
    for item in moved:
        _relabel(item)


def _relabel(item: Moved) -> None:
    """The first line ``new`` wrote names the old label (``-- V_name: up``): make it the
    new one, so the file does not contradict its name. Other text is left alone."""
    old, new = item.migration.label, item.label
    for _, target in item.renames:
        files = [target / "up.sql", target / "down.sql"] if target.is_dir() else [target]
        for path in files:
            if not path.is_file():
                continue
            raw = path.read_bytes()
            head = f"-- {old}: ".encode()
            if raw.startswith(head):
                path.write_bytes(f"-- {new}: ".encode() + raw[len(head):])
