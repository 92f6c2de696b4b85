"""PostgreSQL statement boundaries.

sqlparse keeps dollar-quoted bodies whole. ``DELIMITER`` (a mysql client
command) and ``COPY ... FROM STDIN`` (which needs psql to stream the data)
are refused with their line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from migrator.preflight import statement_kind
from migrator.splitting import SplitError, Statement, bounds_of, split_sqlparse

_COPY_STDIO = re.compile(r"\b(?:FROM\s+STDIN|TO\s+STDOUT)\b", re.IGNORECASE)
_DELIMITER = re.compile(r"^[ \t]*DELIMITER[ \t]+\S", re.IGNORECASE | re.MULTILINE)


def split(text: str) -> Iterator[Statement]:
    match = _DELIMITER.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        raise SplitError(line, "DELIMITER is a mysql client command; PostgreSQL "
                               "needs none (use $$ quoting for function bodies)")
    for stmt in split_sqlparse(text):
        if statement_kind(stmt.sql) == "COPY" and _COPY_STDIO.search(stmt.sql):
            raise SplitError(
                stmt.line, "COPY ... FROM STDIN / TO STDOUT needs psql to stream the "
                "data; load data with INSERT, or COPY from a file the server can read",
            )
        yield stmt


def statement_bounds(text: str) -> Iterator[tuple[int, int, int]]:
    return bounds_of(split(text))
