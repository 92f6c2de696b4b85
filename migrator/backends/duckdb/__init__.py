"""DuckDB through the ``duckdb`` package: an embedded file, like SQLite."""

from migrator.backends.base import DialectInfo

DIALECT = DialectInfo(
    name="duckdb",
    schemes=("duckdb",),
    extra="duckdb",
    splitter="migrator.backends.duckdb.split:statement_bounds",
    backend="migrator.backends.duckdb.backend:open_backend",
)
