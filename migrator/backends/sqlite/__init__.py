"""SQLite through the standard library: the embedded default."""

from migrator.backends.base import DialectInfo

DIALECT = DialectInfo(
    name="sqlite",
    schemes=("sqlite", "sqlite3"),
    extra=None,
    splitter="migrator.backends.sqlite.split:sqlite_bounds",
    backend="migrator.backends.sqlite.backend:open_backend",
    review="migrator.backends.sqlite.review:splitter_disagreements",
)
