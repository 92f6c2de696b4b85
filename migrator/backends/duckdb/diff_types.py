"""Whether changing a DuckDB column's type can lose what it holds.

Wider integers, more decimal digits, DOUBLE for FLOAT, TIMESTAMP for DATE and
VARCHAR for anything keep every value; any other change is marked destructive
(a warning too many rather than a silent truncation).
"""

from __future__ import annotations

import re

_SIGNED = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"]
_UNSIGNED = ["UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"]
_DIGITS = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39,
           "UTINYINT": 3, "USMALLINT": 5, "UINTEGER": 10, "UBIGINT": 20, "UHUGEINT": 39}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def _widens(old: str, new: str) -> bool:
    if new == "VARCHAR":
        return True
    for family in (_SIGNED, _UNSIGNED):
        if old in family and new in family:
            return family.index(new) >= family.index(old)
    if old in _UNSIGNED and new in _SIGNED:
        return _SIGNED.index(new) > _UNSIGNED.index(old)
    decimal_old, decimal_new = _DECIMAL.fullmatch(old), _DECIMAL.fullmatch(new)
    if decimal_new:
        p, s = int(decimal_new.group(1)), int(decimal_new.group(2))
        if decimal_old:
            po, so = int(decimal_old.group(1)), int(decimal_old.group(2))
            return p - s >= po - so and s >= so
        return old in _DIGITS and p - s >= _DIGITS[old]
    if new == "DOUBLE":
        return old in ("FLOAT", *_DIGITS) or bool(decimal_old)
    return (old, new) in {("DATE", "TIMESTAMP"), ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")}


def narrowing(old: str, new: str) -> str | None:
    """Why type ``new`` may hold less than ``old``; None when it holds every value."""
    if old == new or _widens(old.upper(), new.upper()):
        return None
    return f"from {old} to {new}"
