"""``create`` and ``drop`` for a database that is one file (SQLite, DuckDB).

Only the file the URL names and the files its engine keeps beside it are
touched, and only when the file's header says it is a database of that
engine: a URL that names a source file by mistake never deletes it. The drop
holds migrator's run lock, so it never removes a database a run is using.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from migrator.errors import ConfigError


class FileEngine(NamedTuple):
    what: str  # "SQLite database", for messages
    sidecars: tuple[str, ...]  # suffixes of the files the engine writes beside the database
    is_database: Callable[[bytes], bool]  # the file's first 16 bytes (b"" when empty)
    make: Callable[[str], None]  # creates an empty database at the path


def _checked(path: Path, engine: FileEngine) -> None:
    """ConfigError unless ``path`` is a regular file holding a database of ``engine``."""
    if path.is_symlink() or not path.is_file():
        raise ConfigError(f"{path} is not a regular file; migrator leaves it alone")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if not engine.is_database(head):
        raise ConfigError(f"{path} is not a {engine.what} file; migrator leaves it alone")


def describe(path: str, engine: FileEngine) -> str:
    p = Path(path)
    if not os.path.lexists(p):
        return f"{engine.what} {path} (it does not exist)"
    try:
        size = p.stat().st_size
    except OSError:
        return f"{engine.what} {path}"
    return f"{engine.what} {path} ({size} bytes)"


def create(path: str, engine: FileEngine) -> str:
    p = Path(path)
    if os.path.lexists(p):
        _checked(p, engine)
        return f"{engine.what} {path} already exists"
    directory = p.parent if str(p.parent) else Path(".")
    if not directory.is_dir():
        raise ConfigError(f"cannot create {engine.what} {path}: the directory {directory} "
                          "does not exist")
    engine.make(path)
    return f"created {engine.what} {path}"


def drop(path: str, engine: FileEngine) -> str:
    from migrator.lock import file_lock, lock_path_for

    p = Path(path)
    if not os.path.lexists(p):
        return f"{engine.what} {path} does not exist; nothing to drop"
    _checked(p, engine)
    lock = lock_path_for(p)
    removed: list[str] = []
    with file_lock(lock, 0.0, f"database {path}"):
        for file in (p, *(p.with_name(p.name + s) for s in engine.sidecars)):
            if os.path.lexists(file):
                try:
                    file.unlink()
                except OSError as exc:
                    raise ConfigError(f"cannot remove {file}: {exc.strerror}") from exc
                removed.append(str(file))
        lock.unlink(missing_ok=True)
    extra = f" and {', '.join(removed[1:])}" if len(removed) > 1 else ""
    return f"dropped {engine.what} {path}{extra}"
