"""``migrator new``: an empty, correctly named migration with the next timestamp."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from migrator.errors import ConfigError
from migrator.files import NAME_OK, discover_all
from migrator.integrity import rewrite_if_present, verify

UP_TEMPLATE = "-- {label}: up\n\n"
DOWN_TEMPLATE = "-- {label}: down (undo everything the up file does)\n\n"
STAMP = "%Y%m%d%H%M%S"


def new_migration(directory: Path, name: str, layout: str = "pair",
                  contents: tuple[str, str] | None = None) -> list[Path]:
    """Write the files and return their paths; never overwrites anything.

    ``contents``: the (up, down) texts instead of the empty templates (``diff``).

    A directory with a ``migrations.sum`` must agree with it first (exit 3
    otherwise: ``new`` would bless an edit), and gets it rewritten after.
    """
    if not NAME_OK.match(name):
        raise ConfigError(
            f"invalid migration name {name!r}: use letters, digits, '_' and '-' "
            "(for example add_users_email)"
        )
    if layout not in ("pair", "dir"):
        raise ConfigError(f"unknown layout {layout!r} (known: pair, dir)")
    directory.mkdir(parents=True, exist_ok=True)
    with directory_lock(directory):
        return _create(directory, name, layout, contents)


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Held while a command picks versions and writes files (``new``, ``rebase``, ``hash``).

    Two `new` calls in the same second (a script, two terminals) would pick
    the same version under different names; an flock on the directory itself
    makes choose-and-create atomic, leaves no file behind and dies with us.
    """
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _create(directory: Path, name: str, layout: str,
            contents: tuple[str, str] | None) -> list[Path]:
    found = discover_all(directory)
    verify(directory, found)
    version = next_version(directory, {m.key for m in found.migrations})
    label = f"{version}_{name}"
    if layout == "dir":
        folder = directory / label
        folder.mkdir()
        paths = [folder / "up.sql", folder / "down.sql"]
    else:
        paths = [directory / f"{label}.up.sql", directory / f"{label}.down.sql"]
    texts = contents or (UP_TEMPLATE.format(label=label), DOWN_TEMPLATE.format(label=label))
    for path, text in zip(paths, texts, strict=True):
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    rewrite_if_present(directory)
    return paths


def next_version(directory: Path, taken: Collection[int], after: int = -1) -> str:
    """The next free timestamp version: now (UTC), else one second past ``after``
    (``rebase``: the newest version), moved on while ``taken`` or on disk."""
    try:
        stamp = datetime.now(UTC).replace(microsecond=0)
        if int(stamp.strftime(STAMP)) <= after:
            stamp = datetime.strptime(str(after), STAMP).replace(tzinfo=UTC)
        version = stamp.strftime(STAMP)
        while int(version) in taken or int(version) <= after or _exists(directory, version):
            stamp += timedelta(seconds=1)
            version = stamp.strftime(STAMP)
        return version
    except (ValueError, OverflowError):  # ``after`` is no timestamp: a wider version
        number = after + 1
        while number in taken:
            number += 1
        return str(number)


def _exists(directory: Path, version: str) -> bool:
    return any(p.name.startswith(f"{version}_") for p in directory.iterdir())
