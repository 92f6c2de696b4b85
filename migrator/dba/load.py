"""``migrator load``: a ``migrator dump`` file applied to an empty database.

dbmate's ``load``: a new developer or a CI job builds the schema from the
committed dump instead of replaying every migration. The file is split in the
URL's dialect and run in one transaction where the database has transactional
DDL, under the run lock; the bookkeeping rows in the dump come along, so
``migrator up`` then applies only what is newer than the dump.
"""

from __future__ import annotations

from collections.abc import Callable

from migrator.dba.spaces import opened
from migrator.errors import ConfigError, DbError, MigratorError
from migrator.splitting import SplitError


class LoadFailed(MigratorError):
    """A statement of the dump failed; the database said why."""

    kind = "load-failed"

    def __init__(self, file: str, line: int, index: int, error: DbError, kept: bool) -> None:
        self.file, self.line, self.index, self.error = file, line, index, error
        outcome = ("the statements before it stay applied (no transactional DDL here): drop "
                   "the database and load again" if kept else "nothing was loaded")
        super().__init__(f"{file}:{line}: statement {index} failed: {error}\n{outcome}")

    def details(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "statement": self.index,
                "code": self.error.code}


def load_dump(url: str, table: str, file: str, text: str, lock_timeout: float,
              loadable: Callable[[str], str]) -> int:
    """Run ``text`` (the dump read from ``file``) on the empty database at ``url``, each
    statement as the dialect's ``loadable`` adapts it; the number of statements run."""
    with opened(url, table, readonly=False) as backend, backend.run_lock(lock_timeout):
        if not backend.catalog().schema().empty or backend.applied():
            raise ConfigError(
                f"{backend.display_url} is not empty: load applies a dump to an empty database "
                "only ('migrator drop' then 'migrator create' empties it)")
        try:
            statements = list(backend.split(text))
        except SplitError as exc:
            raise ConfigError(f"{file}:{exc.line}: {exc.message}") from exc
        if not statements:
            raise ConfigError(f"{file} holds no SQL statement; is it a 'migrator dump' file?")
        transactional = backend.transactional_ddl
        if transactional:
            backend.begin()
        done = 0
        try:
            for statement in statements:
                backend.execute(loadable(statement.sql))
                done += 1
            if transactional:
                backend.commit()
        except Exception as exc:
            if transactional:
                backend.rollback()
            error = backend.describe_error(exc)
            if error is None:
                raise
            failed = statements[min(done, len(statements) - 1)]  # COMMIT: the last
            raise LoadFailed(file, failed.line, failed.index, error,
                             kept=not transactional and done > 0) from exc
        except BaseException:
            if transactional:
                backend.rollback()
            raise
        return len(statements)
