"""MySQL and MariaDB through PyMySQL (the ``mysql`` extra)."""

from migrator.backends.base import DialectInfo

DIALECT = DialectInfo(
    name="mysql",
    schemes=("mysql", "mariadb"),
    extra="mysql",
    splitter="migrator.backends.mysql.split:statement_bounds",
    backend="migrator.backends.mysql.backend:open_backend",
)
