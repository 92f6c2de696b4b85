"""``migrator rebase VERSION...``: this branch's new migrations move after everyone else's.

Two branches each add a migration; the one merged second may carry the
older version, so on a database that already ran the other one it would be
out of order, or both picked the same version (the same second, or the
next number of a sequence), which no command accepts. Rebasing renames its
files to fresh timestamps after the newest migration in the directory (the
generator ``new`` uses), in the order given, and rewrites
``migrations.sum``. Only a migration no database has applied may move: its
version is its identity in every ``schema_migrations`` table, so each
database given (``-u``, repeatable, or the configured URL) is asked first,
read-only.

It works on file names, not on discovered migrations: a directory whose
only problem is a version two migrations share must be rebased too, and
discovery refuses it whole.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from migrator.config import redact_url
from migrator.dba.spaces import opened
from migrator.errors import ConfigError, MigrationFileError, MigratorError
from migrator.files import DIRECTORY, PAIR, REPEATABLE_PREFIX, discover_all, version_key
from migrator.integrity import Written, rewrite_if_present, verify
from migrator.scaffold import directory_lock, next_version


class Moved(NamedTuple):
    """One rebased migration: its files, from and to."""

    old: str  # its label before: version_name
    version: str  # the new one
    renames: list[tuple[Path, Path]]

    @property
    def old_version(self) -> str:
        return self.old.split("_", 1)[0]

    @property
    def name(self) -> str:
        return self.old.split("_", 1)[1]

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"


class Rebased(NamedTuple):
    moved: list[Moved]
    checked: list[str]  # the databases asked, passwords redacted
    sum: Written | None  # None: the directory has no migrations.sum (or --dry-run)


class AlreadyApplied(ConfigError):
    """A migration to move is applied somewhere: renaming it would make it new there."""

    kind = "applied"

    def __init__(self, found: list[tuple[str, str, str]]) -> None:
        self.found = found  # (label, redacted URL, state)
        lines = ["refusing to rebase a migration a database already applied; nothing was "
                 "renamed"]
        lines += [f"  {label}: {state} on {url}" for label, url, state in found]
        lines.append("  fix: an applied migration keeps its version; roll it back there "
                     "first ('migrator -u URL down --to VERSION') if it must move")
        super().__init__("\n".join(lines))

    def details(self) -> dict[str, object]:
        return {"applied": [{"version": label.split("_", 1)[0], "name": label.split("_", 1)[1],
                             "url": url, "state": state} for label, url, state in self.found]}


def rebase(directory: Path, versions: Sequence[str], urls: Sequence[str], table: str, *,
           dry_run: bool = False) -> Rebased:
    """Rename the migrations named by ``versions`` to fresh versions after the newest one.

    :raises ConfigError: a version names no migration, a repeatable one, or two.
    :raises AlreadyApplied: a database in ``urls`` applied (or part-applied) one of them.
    :raises SumMismatch: another migration disagrees with ``migrations.sum``.
    """
    if not directory.is_dir():
        discover_all(directory)  # raises the usual "does not exist" message
    with directory_lock(directory):
        disk = _on_disk(directory)
        chosen = _chosen(disk, versions)
        verified = _verify_before(directory, chosen)
        checked = [redact_url(url) for url in urls]
        applied = [hit for url in urls for hit in _applied(url, table, chosen)]
        if applied:
            raise AlreadyApplied(applied)
        moved = _plan(directory, disk, chosen)
        if dry_run:
            return Rebased(moved, checked, None)
        _rename(moved)
        if not verified:  # a shared version: only now can the directory be read
            try:
                verify(directory, discover_all(directory), exempt={m.label for m in moved})
            except MigratorError:
                _undo([pair for m in moved for pair in m.renames])
                raise
        for m in moved:
            _relabel(m)
        return Rebased(moved, checked, rewrite_if_present(directory))


def _on_disk(directory: Path) -> dict[str, list[Path]]:
    """Each versioned migration's label and paths: its up/down files, or its directory."""
    found: dict[str, list[Path]] = {}
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:  # a symbolic link loop: discovery names it
            continue
        if is_dir:
            label = entry.name if DIRECTORY.match(entry.name) else None
        else:
            match = PAIR.match(entry.name)
            label = f"{match['version']}_{match['name']}" if match else None
        if label is not None:
            found.setdefault(label, []).append(Path(entry.path))
    return found


def _chosen(disk: dict[str, list[Path]], versions: Sequence[str]) -> list[str]:
    """The label of each migration named (by version, or by label where two share one)."""
    chosen: list[str] = []
    for text in versions:
        if text.startswith(REPEATABLE_PREFIX):
            raise ConfigError(f"{text} is a repeatable migration: it has no version to move")
        version = text.split("_", 1)[0]
        if not version[:1].isdigit() or not version.replace("-", "").isdigit():
            raise ConfigError(f"'{text}' is not a migration version (digits expected)")
        key = version_key(version)
        same = [label for label in disk if version_key(label.split("_", 1)[0]) == key]
        if "_" in text:  # a label: exactly that one
            same = [label for label in same if label == text]
        if not same:
            raise ConfigError(f"no migration {'named' if '_' in text else 'with version'} "
                              f"{text}")
        if len(same) > 1:
            raise ConfigError(f"version {version} is shared by {', '.join(same)}: name the one "
                              f"to move by its label ('migrator rebase {same[-1]}')")
        if same[0] in chosen:
            raise ConfigError(f"{same[0]} is named twice")
        chosen.append(same[0])
    return chosen


def _verify_before(directory: Path, chosen: list[str]) -> bool:
    """Check the sum (the chosen may disagree with it); False when a version two
    migrations share keeps the directory from being read until the rename."""
    try:
        found = discover_all(directory)
    except MigrationFileError as exc:
        if all(p.message.startswith("duplicate version") for p in exc.problems):
            return False
        raise
    verify(directory, found, exempt=set(chosen))
    return True


def _applied(url: str, table: str, chosen: list[str]) -> list[tuple[str, str, str]]:
    """The chosen migrations this database applied, or started and did not finish."""
    with opened(url, table, readonly=True) as backend:
        rows = {version_key(r.version) for r in backend.applied()}
        journal = backend.journal
        unfinished = set() if journal is None else {version_key(u.version)
                                                    for u in journal.unfinished()}
    shown = redact_url(url)
    found = []
    for label in chosen:
        key = version_key(label.split("_", 1)[0])
        if key in rows or key in unfinished:
            found.append((label, shown, "applied" if key in rows else "stopped part-way"))
    return found


def _plan(directory: Path, disk: dict[str, list[Path]], chosen: list[str]) -> list[Moved]:
    taken = {version_key(label.split("_", 1)[0]) for label in disk}
    after = max(taken)  # chosen is not empty, so neither is taken
    moved = []
    for old in chosen:
        version = next_version(directory, taken, after)
        after = version_key(version)
        taken.add(after)
        new = f"{version}_{old.split('_', 1)[1]}"
        moved.append(Moved(old, version, [(p, p.with_name(new + p.name[len(old):]))
                                          for p in disk[old]]))
    return moved


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
        _undo(done)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot rename {exc.filename}: {exc.strerror}; nothing was "
                              "renamed") from exc
        raise


def _undo(done: list[tuple[Path, Path]]) -> None:
    for source, target in reversed(done):
        os.rename(target, source)


def _relabel(item: Moved) -> None:
    """The first line ``new`` wrote names the old label (``-- V_name: up``): make it the
    new one, so the file does not contradict its name. Other text is left alone."""
    head = f"-- {item.old}: ".encode()
    for _, target in item.renames:
        files = [target / "up.sql", target / "down.sql"] if target.is_dir() else [target]
        for path in files:
            if not path.is_file():
                continue
            raw = path.read_bytes()
            if raw.startswith(head):
                path.write_bytes(f"-- {item.label}: ".encode() + raw[len(head):])
