"""Scratch places beside a PostgreSQL database: a schema for ``test``, a database
copy for ``rehearse``. Each is named ``migrator_*_<random>`` and dropped in a
``finally``, so a failing migration leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from migrator.backends.base import ScratchSpace
from migrator.backends.postgres import tools
from migrator.backends.postgres.session import PgSession
from migrator.backends.postgres.tools import ident
from migrator.errors import ConfigError

_MAINTENANCE = ("postgres", "template1")


def with_search_path(url: str, schema: str) -> str:
    """The URL with ``search_path`` set to ``schema`` (and any ``schema=`` dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in ("search_path", "schema")]
    query.append(("search_path", schema))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query),
                       parts.fragment))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@contextlib.contextmanager
def scratch_schema(backend: PgSession) -> Iterator[ScratchSpace]:
    """A new schema in the same database; the bookkeeping table lives there too."""
    name = f"migrator_test_{secrets.token_hex(6)}"
    bare = backend.sql.bare_name
    admin = PgSession(backend.url, table=bare, readonly=True, busy_timeout=10.0)
    try:
        try:
            admin.conn.execute(f"CREATE SCHEMA {ident(name)}")
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot create the scratch schema {name} in {admin.display_url}: "
                f"{' '.join(str(exc).split())} (the user needs CREATE on the database)"
            ) from exc
        try:
            yield ScratchSpace(with_search_path(backend.url, name), bare, f"schema {name}")
        finally:
            admin.conn.execute(f"DROP SCHEMA IF EXISTS {ident(name)} CASCADE")
    finally:
        admin.close()


@contextlib.contextmanager
def database_copy(backend: PgSession) -> Iterator[ScratchSpace]:
    """A copy of the whole database (every schema, rows, sequence values).

    ``CREATE DATABASE ... TEMPLATE`` copies files and is fast, but needs the
    source to have no other session; ours is closed meanwhile. Otherwise an
    empty database is filled by ``pg_dump | psql``. The source is only read.
    """
    source = str(backend.conn.info.dbname)
    name = f"migrator_rehearse_{secrets.token_hex(6)}"
    admin = _maintenance(backend)
    try:
        if not _template_copy(backend, admin, source, name):
            _dump_copy(backend, admin, source, name)
        row = admin.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
        try:
            yield ScratchSpace(with_database(backend.url, name), backend.sql.table,
                               f"database {name}", int(row[0]) if row else 0)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)")
    finally:
        admin.close()


def _maintenance(backend: PgSession) -> psycopg.Connection[Any]:
    """A connection to another database: CREATE/DROP DATABASE cannot run in the source."""
    errors: list[str] = []
    for dbname in _MAINTENANCE:
        conninfo, _env = tools.connection(backend.settings.conninfo, dbname)
        try:
            return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            errors.append(f"{dbname}: {' '.join(str(exc).split())}")
    raise ConfigError(f"cannot copy {backend.display_url}: CREATE DATABASE needs a "
                      f"connection to another database ({'; '.join(errors)})")


def _template_copy(backend: PgSession, admin: psycopg.Connection[Any], source: str,
                   name: str) -> bool:
    others = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
        (source, backend.conn.info.backend_pid)).fetchone()
    if others is None or others[0]:
        return False
    backend.close()
    try:
        admin.execute(f"CREATE DATABASE {ident(name)} TEMPLATE {ident(source)}")
        return True
    except psycopg.Error:  # someone connected meanwhile, or no right to use it as template
        return False
    finally:
        backend.reconnect()


def _dump_copy(backend: PgSession, admin: psycopg.Connection[Any], source: str,
               name: str) -> None:
    version = int(backend.conn.info.server_version)
    dump = tools.need("pg_dump", version, "'migrator rehearse' on PostgreSQL")
    psql = tools.need("psql", version, "'migrator rehearse' on PostgreSQL")
    try:
        admin.execute(f"CREATE DATABASE {ident(name)} TEMPLATE template0")
    except psycopg.Error as exc:
        raise ConfigError(f"cannot create the scratch database {name} on "
                          f"{backend.display_url}: {' '.join(str(exc).split())} (the user "
                          "needs CREATEDB)") from exc
    try:
        source_db, env = tools.connection(backend.settings.conninfo, source)
        target_db, _env = tools.connection(backend.settings.conninfo, name)
        tools.pipe([dump, "--no-owner", "--no-privileges", f"--dbname={source_db}"],
                   [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={target_db}"], env)
    except BaseException:
        admin.execute(f"DROP DATABASE IF EXISTS {ident(name)} WITH (FORCE)")
        raise
