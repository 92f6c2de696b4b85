"""Replace a file in one rename, so a reader (or a crash) never sees half of it.

``dump`` and ``migrations.sum`` are committed files other tools read: each is
written to a temporary file beside its target, flushed to disk, given the
mode any new file would get, and renamed over the old one.
"""

from __future__ import annotations

import os
from pathlib import Path

from migrator.errors import ConfigError


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and one rename."""
    import tempfile  # only when writing: status and up merely read such files

    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # The mode any new file gets: mkstemp's 0600 would hide the file from the
        # team, and a fixed 0644 would ignore a umask such as 077.
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # e.g. the target is a directory
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
