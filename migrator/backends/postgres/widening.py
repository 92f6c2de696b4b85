"""Which PostgreSQL column type changes keep the table's bytes, for the PG006 rule.

Measured on PostgreSQL (the tests compare ``relfilenode`` before and after):
these changes neither rewrite the table nor scan it.
"""

from __future__ import annotations

import re

from pglast import ast


def type_text(type_name: ast.TypeName | None) -> str:
    """``varchar(10)``, ``numeric(8,2)``, ``text``: a declared type, to compare two of them."""
    if type_name is None or not type_name.names:
        return ""
    name = str(getattr(type_name.names[-1], "sval", "")).lower()
    mods = [str(getattr(m.val, "ival", "?")) for m in type_name.typmods or ()
            if isinstance(m, ast.A_Const)]
    array = "[]" if type_name.arrayBounds else ""
    return f"{name}({','.join(mods)}){array}" if mods else f"{name}{array}"


_TYPE_PARTS = re.compile(r"^(?P<name>\w+)(?:\((?P<mods>[\d,]+)\))?$")
_TEXTUAL = frozenset({"varchar", "text"})


def widens(old: str, new: str) -> bool:
    """True if changing ``old`` to ``new`` keeps the table's bytes: no rewrite, no scan.

    What PostgreSQL does without a rewrite (measured: ``relfilenode`` stays):
    a longer or unbounded varchar, varchar to text, a numeric with more
    precision and the same scale, or an unbounded numeric. ``old`` is "" when
    no earlier file declared the column: then nobody knows.
    """
    if not old:
        return False
    if old == new:
        return True
    a, b = _TYPE_PARTS.match(old), _TYPE_PARTS.match(new)
    if a is None or b is None:
        return False
    old_mods = [int(m) for m in (a["mods"] or "").split(",") if m]
    new_mods = [int(m) for m in (b["mods"] or "").split(",") if m]
    if a["name"] in _TEXTUAL and b["name"] in _TEXTUAL:
        return not new_mods or (a["name"] == "varchar" and bool(old_mods)
                                and new_mods[0] >= old_mods[0])
    if a["name"] == b["name"] == "numeric" and old_mods:
        if not new_mods:
            return True
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return new_mods[0] >= old_mods[0] and new_scale == old_scale
    return False
