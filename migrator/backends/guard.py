"""A driver's error outside a migration file: a message and exit 1, never a traceback.

Inside a file the engine reports a failure with its file and statement. The
same errors can come wherever else a command talks to the database: polling
the run lock, reading or writing the bookkeeping table, loading a dump. The
commonest is a connection that ends under the command (a server restart, a
terminated session); the backend's ``describe_error`` says whether an
exception is its driver's, so this module names no driver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from migrator.backends.base import Backend
from migrator.errors import DatabaseFailed


@contextlib.contextmanager
def driver_errors(backend: Backend) -> Iterator[None]:
    """Turn a driver exception escaping the block into ``DatabaseFailed``."""
    try:
        yield
    except Exception as exc:
        error = backend.describe_error(exc)
        if error is None:
            raise
        raise DatabaseFailed(backend.display_url, error) from exc
