"""``migrator new``: an empty, correctly named migration with the next timestamp."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from migrator.errors import ConfigError
from migrator.files import NAME_OK, discover

UP_TEMPLATE = "-- {label}: up\n\n"
DOWN_TEMPLATE = "-- {label}: down (undo everything the up file does)\n\n"


def new_migration(directory: Path, name: str, layout: str = "pair",
                  contents: tuple[str, str] | None = None) -> list[Path]:
    """Write the files and return their paths; never overwrites anything.
    ``contents``: the (up, down) texts instead of the empty templates (``diff``)."""
    if not NAME_OK.match(name):
        raise ConfigError(
            f"invalid migration name {name!r}: use letters, digits, '_' and '-' "
            "(for example add_users_email)"
        )
    if layout not in ("pair", "dir"):
        raise ConfigError(f"unknown layout {layout!r} (known: pair, dir)")
    directory.mkdir(parents=True, exist_ok=True)
    # Two `new` calls in the same second (a script, two terminals) would pick
    # the same version under different names; an flock on the directory itself
    # makes choose-and-create atomic, leaves no file behind and dies with us.
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _create(directory, name, layout, contents)
    finally:
        os.close(fd)


def _create(directory: Path, name: str, layout: str,
            contents: tuple[str, str] | None) -> list[Path]:
    taken = {m.key for m in discover(directory)}
    stamp = datetime.now(UTC).replace(microsecond=0)
    version = stamp.strftime("%Y%m%d%H%M%S")
    while int(version) in taken or _exists(directory, version):
        stamp += timedelta(seconds=1)
        version = stamp.strftime("%Y%m%d%H%M%S")
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
    return paths


def _exists(directory: Path, version: str) -> bool:
    return any(p.name.startswith(f"{version}_") for p in directory.iterdir())
