"""MySQL/MariaDB's answers for ``migrator test --locks``: which algorithm an ALTER gets.

An ``ALTER TABLE`` is first run with ``ALGORITHM=INSTANT``, then with
``ALGORITHM=INPLACE, LOCK=NONE``: the server refuses either rather than fall
back, so the first it accepts is what the ALTER needs. Only when both are
refused does it run as written: a table copy, writes blocked throughout.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pymysql  # type: ignore[import-untyped]

from migrator.lint.probe import Measured
from migrator.schema import Column, Table

_ALTER = re.compile(r"^\s*ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE\s+(?P<table>[`\"]?[\w$]+[`\"]?)",
                    re.IGNORECASE)
_HAS_ALGORITHM = re.compile(r"\b(?:ALGORITHM|LOCK)\s*=", re.IGNORECASE)
# ER_ALTER_OPERATION_NOT_SUPPORTED and ..._REASON: the algorithm asked for cannot do it
_NOT_SUPPORTED = frozenset({1845, 1846})
_COLUMNS = ("SELECT column_name, column_type, is_nullable, column_default, column_key, extra "
            "FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND table_name = %s ORDER BY ordinal_position")


class MysqlProbe:
    def rows(self, backend: Any, sql: str) -> list[tuple[Any, ...]]:
        with backend.conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []

    def storage(self, backend: Any) -> dict[str, object]:
        return {}  # a copy is told by the algorithm the server accepted

    def columns(self, backend: Any, table: Table) -> tuple[Column, ...]:
        """From information_schema: the catalog keeps MySQL tables as SHOW CREATE text.
        A key or unique column must get a value; an AUTO_INCREMENT one makes its own."""
        found = []
        with backend.conn.cursor() as cur:
            cur.execute(_COLUMNS, (table.name,))
            for name, kind, nullable, default, key, extra in cur.fetchall():
                keyed = str(key) in ("PRI", "UNI")
                found.append(Column(
                    str(name), str(kind), nullable=nullable == "YES" and not keyed,
                    default=None if default is None or keyed else str(default),
                    generated=str(extra) if "auto_increment" in str(extra).lower()
                    or "generated" in str(extra).lower() else None))
        return tuple(found)

    def run(self, backend: Any, sql: str, transactional: bool) -> Measured:
        started = time.perf_counter()
        measured = Measured()
        alter = _ALTER.match(sql)
        body = sql.strip().rstrip(";").rstrip()
        if alter is not None and not _HAS_ALGORITHM.search(body):
            for algorithm, suffix in (("INSTANT", ", ALGORITHM=INSTANT"),
                                      ("INPLACE", ", ALGORITHM=INPLACE, LOCK=NONE")):
                try:
                    backend.execute(body + suffix)
                except pymysql.err.MySQLError as exc:
                    if not exc.args or exc.args[0] not in _NOT_SUPPORTED:
                        raise
                    continue
                measured.algorithm = algorithm
                break
        if not measured.algorithm:
            backend.execute(sql)
            if alter is not None:
                measured.algorithm = "COPY" if not _HAS_ALGORITHM.search(body) else "AS WRITTEN"
        measured.ms = round((time.perf_counter() - started) * 1000)
        if alter is not None and measured.algorithm == "COPY":
            measured.rewritten = [alter["table"].strip("`\"")]
        return measured

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def as_text(self, expr: str) -> str:
        return f"CAST({expr} AS CHAR)"

    def as_bool(self, expr: str) -> str:
        return f"({expr} % 2)"

    def rewrite_rules(self) -> frozenset[str]:
        return frozenset({"MY001"})


PROBE = MysqlProbe()
