"""PostgreSQL through psycopg 3 (the ``postgres`` extra)."""

from migrator.backends.base import DialectInfo

DIALECT = DialectInfo(
    name="postgres",
    schemes=("postgres", "postgresql"),
    extra="postgres",
    splitter="migrator.backends.postgres.split:statement_bounds",
    backend="migrator.backends.postgres.backend:open_backend",
)
