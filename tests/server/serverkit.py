"""Helpers for the server tests: an isolated namespace and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PG_ENV = "MIGRATOR_TEST_POSTGRES_URL"
MY_ENV = "MIGRATOR_TEST_MYSQL_URL"
CLI_TIMEOUT = 180


def with_query(url: str, extra: str) -> str:
    return url + ("&" if "?" in url else "?") + extra


@dataclass
class Server:
    """One isolated namespace on a real server, and a way to look inside it."""

    kind: str  # "postgres" | "mysql"
    url: str  # what migrator gets
    namespace: str  # schema (PG) or database (MariaDB)
    admin_url: str
    _conn: Any = field(default=None, repr=False)

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.kind, self.admin_url)
        return self._conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "postgres":
            cur = self.conn.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []
        with self.conn.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []

    def tables(self) -> set[str]:
        if self.kind == "postgres":
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        else:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        return {str(r[0]) for r in self.query(sql, (self.namespace,))}

    def schema_dump(self) -> list[tuple[Any, ...]]:
        """Tables, columns and indexes in the namespace: equal dumps mean equal schemas."""
        cols = self.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY 1, 2",
            (self.namespace,),
        )
        if self.kind == "postgres":
            idx = self.query(
                "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 2",
                (self.namespace,),
            )
        else:
            idx = self.query(
                "SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
                "WHERE table_schema = %s ORDER BY 2",
                (self.namespace,),
            )
        return [*cols, *idx]

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        q = '"' if self.kind == "postgres" else "`"
        return self.query(f"SELECT * FROM {q}{self.namespace}{q}.{q}{table}{q} ORDER BY 1")

    def applied_versions(self, table: str = "schema_migrations") -> list[str]:
        if table not in self.tables():
            return []
        return sorted(str(r[0]) for r in self.rows(table))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def connect(kind: str, url: str) -> Any:
    if kind == "postgres":
        import psycopg

        return psycopg.connect(url, autocommit=True)
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
        user=parts.username or "root", password=parts.password or "",
        database=parts.path.lstrip("/") or None, autocommit=True,
    )


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "MIGRATIONS_DIR", "MIGRATIONS_TABLE",
                        "MIGRATOR_LOCK_TIMEOUT")}
    env["NO_COLOR"] = "1"
    return env


def cli_args(url: str, directory: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "migrator", "-u", url, "-d", str(directory), *args]


def run_cli(url: str, directory: Path, *args: str, cwd: Path | None = None) -> Result:
    proc = subprocess.run(
        cli_args(url, directory, *args), capture_output=True, text=True,
        timeout=CLI_TIMEOUT, env=_env(), cwd=cwd or directory.parent,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start_cli(url: str, directory: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_args(url, directory, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_env(), cwd=directory.parent,
    )
