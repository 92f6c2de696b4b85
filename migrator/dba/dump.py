"""``migrator dump``: the schema and the applied versions as one deterministic SQL file.

Committed next to the migrations, it shows in review what a migration did to
the schema (dbmate's schema.sql). Each backend's catalog writes it: objects
sorted by kind and name, not by creation order, and rows without timestamps,
so two databases with the same schema and history dump to the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from migrator.dba.spaces import opened
from migrator.errors import ConfigError


def dump_schema(url: str, table: str) -> str:
    """The dump text of the database at ``url``, read through a read-only connection."""
    with opened(url, table, readonly=True) as backend:
        return backend.catalog().dump()


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one rename, so a reader never sees half a dump."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        # The mode any new file gets: mkstemp's 0600 would hide the dump from the
        # team, and a fixed 0644 would ignore a umask such as 077.
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # e.g. FILE is a directory
            raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
        raise
