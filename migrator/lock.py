"""A run-wide OS file lock that dies with its holder.

``flock`` on a file beside the database: the kernel releases it when the
process exits, even on ``kill -9``, so a stale lock cannot block a deploy
(Liquibase's lock row can). The holder writes its host, pid and start time
into the file so a waiter can name it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from migrator.errors import ConfigError, LockError
from migrator.state import utc_now

_POLL = 0.05


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".migrator-lock")


def _open_lock_file(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                f"lock file {path} is a symbolic link; migrator will not follow it. "
                "Remove it and try again"
            ) from exc
        if os.path.lexists(path):
            raise ConfigError(
                f"cannot open lock file {path} for writing: {exc.strerror}; remove it "
                "(migrator unlock) or run as the user who owns it"
            ) from exc
        directory = path.parent if str(path.parent) else Path(".")
        raise ConfigError(
            f"cannot create lock file {path}: {exc.strerror}; the directory {directory} "
            "holding the database must be writable"
        ) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ConfigError(f"lock file {path} is not a regular file")
    if info.st_nlink > 1:
        # A hard link planted in its place: writing the holder would overwrite
        # the other file's content, which O_NOFOLLOW cannot prevent.
        os.close(fd)
        raise ConfigError(
            f"lock file {path} has {info.st_nlink} hard links, so it is also another "
            "file; migrator will not write to it. Remove it and try again"
        )
    return fd


def read_holder(path: Path) -> str:
    """The holder's description as the holder wrote it, or a fallback."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "another process (it has not written its name yet)"


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _try_lock(path: Path) -> int | None:
    """The locked fd, or None if another process holds the lock."""
    while True:
        fd = _open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # 'unlock' removed the file between open and flock: retry


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold the lock at ``path`` for the block; LockError after ``timeout`` seconds."""
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        fd = _try_lock(path)
        if fd is not None:
            break
        if time.monotonic() >= deadline:
            waited = f" after waiting {timeout:g}s" if timeout > 0 else ""
            raise LockError(
                f"{what} is locked by another migrator{waited}: held by {read_holder(path)}. "
                "Retry later, or pass --lock-timeout SECONDS to wait for it"
            )
        time.sleep(_POLL)
    try:
        holder = f"host {socket.gethostname()}, pid {os.getpid()}, since {utc_now()}\n"
        os.ftruncate(fd, 0)
        # The note only names the holder for a refused run; the flock is the lock. On a
        # full disk (ENOSPC, EFBIG, EDQUOT) the command goes on without it and meets the
        # database's own error where it writes, or succeeds where it only deletes (drop).
        with contextlib.suppress(OSError):
            os.pwrite(fd, holder.encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def remove_lock(path: Path) -> str:
    """Delete the lock file unless a live process holds it."""
    if not os.path.lexists(path):
        return f"no lock file at {path}; nothing to do"
    if os.path.islink(path):
        os.unlink(path)
        return f"removed symbolic link {path} planted in place of the lock file"
    if os.lstat(path).st_nlink > 1:
        os.unlink(path)  # only the name goes: the file it is linked to stays as it was
        return f"removed hard link {path} planted in place of the lock file"
    fd = _try_lock(path)
    if fd is None:
        raise LockError(
            f"the lock {path} is held by a running migrator ({read_holder(path)}); "
            "it is released when that process ends. Not removed"
        )
    try:
        os.unlink(path)
    finally:
        os.close(fd)
    return f"removed lock file {path}"
