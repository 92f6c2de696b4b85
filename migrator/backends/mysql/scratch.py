"""Scratch databases beside the user's: empty ones for ``test`` and ``squash``,
faithful copies for ``rehearse``.

Each is named ``migrator_test_<random>`` and dropped in a ``finally``, so a
failing migration, an error or SIGTERM (which the CLI turns into an
exception) leaves nothing behind. A copy is built from the catalog walker on
the server itself: tables from their SHOW CREATE text (keys, AUTO_INCREMENT
counters), rows with INSERT … SELECT inside one consistent snapshot, then
views, routines, events (disabled, so they do not run there) and triggers
(after the rows, so they do not fire on the copy). The source is only read.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pymysql  # type: ignore[import-untyped]

from migrator.backends.base import ScratchSpace
from migrator.backends.mysql.connection import MysqlConnection
from migrator.backends.mysql.walker import DEFINER, CatalogObject, quote, walk
from migrator.errors import ConfigError

_GENERATED = "GENERATED|VIRTUAL|PERSISTENT|STORED"
# An event runs on the copy only if enabled there: copies are made disabled.
_ENABLED = re.compile(r"(ON COMPLETION (?:NOT )?PRESERVE) (?:ENABLE|DISABLE ON SLAVE)\b")


def scratch_name() -> str:
    return f"migrator_test_{secrets.token_hex(6)}"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@contextlib.contextmanager
def scratch(backend: MysqlConnection) -> Iterator[ScratchSpace]:
    """An empty database on the same server; its bookkeeping table is the backend's."""
    name = scratch_name()
    try:
        backend._query(f"CREATE DATABASE {quote(name)}")
    except pymysql.err.MySQLError as exc:
        raise ConfigError(
            f"cannot create the scratch database {name} on {backend.display_url}: "
            f"{' '.join(str(exc).split())}; this command on MySQL/MariaDB needs a user "
            "that may CREATE and DROP databases"
        ) from exc
    try:
        yield ScratchSpace(with_database(backend.url, name), backend.sql.bare_name,
                           f"database {name}")
    except BaseException:
        with contextlib.suppress(pymysql.err.MySQLError):  # the first error is the news
            _drop(backend, name)
        raise
    _drop(backend, name)


def _drop(backend: MysqlConnection, name: str) -> None:
    try:
        backend._query(f"DROP DATABASE IF EXISTS {quote(name)}")
    except pymysql.err.MySQLError as exc:
        raise ConfigError(f"cannot drop the scratch database {name} on {backend.display_url}: "
                          f"{' '.join(str(exc).split())}; drop it by hand") from exc


@contextlib.contextmanager
def copy(backend: MysqlConnection) -> Iterator[ScratchSpace]:
    """A scratch database holding a copy of the backend's database, bookkeeping included."""
    with scratch(backend) as space:
        target = MysqlConnection(space.url, table=backend.sql.table,
                                 busy_timeout=backend.busy_timeout)
        try:
            _fill(backend, target)
            size = _size(target)
        finally:
            target.close()
        yield space._replace(size_bytes=size)


def _size(target: MysqlConnection) -> int:
    """Bytes the copy takes on the server: its tables' data and indexes, after
    ANALYZE TABLE (InnoDB updates its statistics later, on its own time)."""
    tables = [quote(str(r[0])) for r in target._query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
        "AND table_type = 'BASE TABLE' ORDER BY 1")]
    for at in range(0, len(tables), 100):
        target._query("ANALYZE TABLE " + ", ".join(tables[at:at + 100]))
    return int(target._one(
        "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
        "WHERE table_schema = DATABASE()") or 0)


def _fill(source: MysqlConnection, target: MysqlConnection) -> None:
    objects = walk(source, skip=set())
    q = target._query
    q("SET SESSION FOREIGN_KEY_CHECKS = 0")
    tables = [o for o in objects if o.kind in ("table", "sequence")]
    for obj in tables:
        q(DEFINER.sub("", obj.sql))
    q("START TRANSACTION WITH CONSISTENT SNAPSHOT")  # every table as of one moment
    for obj in tables:
        if obj.kind == "table":
            columns = _stored_columns(source, obj.name)
            q(f"INSERT INTO {quote(obj.name)} ({columns}) SELECT {columns} FROM "
              f"{quote(source.database)}.{quote(obj.name)}")
    q("COMMIT")
    q("SET SESSION FOREIGN_KEY_CHECKS = 1")
    _create_views(target, [o for o in objects if o.kind == "view"])
    for kind in ("procedure", "function", "event", "trigger"):
        for obj in objects:
            if obj.kind == kind:
                text = DEFINER.sub("", obj.sql)
                q(_ENABLED.sub(r"\1 DISABLE", text, count=1) if kind == "event" else text)


def _stored_columns(source: MysqlConnection, table: str) -> str:
    rows = source._query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
        f"AND table_name = %s AND extra NOT RLIKE '{_GENERATED}' ORDER BY ordinal_position",
        (table,))
    return ", ".join(quote(str(r[0])) for r in rows)


def _create_views(target: MysqlConnection, views: list[CatalogObject]) -> None:
    """Views in name order, again for those that read a view not made yet."""
    pending = list(views)
    while pending:
        failed: list[CatalogObject] = []
        error: pymysql.err.MySQLError | None = None
        for obj in pending:
            try:
                target._query(DEFINER.sub("", obj.sql))
            except pymysql.err.MySQLError as exc:
                failed.append(obj)
                error = exc
        if len(failed) == len(pending):
            raise ConfigError(f"cannot copy view {failed[0].name} into the scratch database: "
                              f"{error}")
        pending = failed
