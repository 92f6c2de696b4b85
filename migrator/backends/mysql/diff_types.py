"""Whether changing a MySQL/MariaDB column's type can lose what it holds.

A MODIFY to a type that holds less (a shorter varchar, a smaller integer
class, text to varchar, fewer enum values, a signedness change, another
family altogether) is destructive: the differ marks it, and the up needs
``--allow-destructive``. Unknown types count as narrowing: a warning too many
is better than a silent truncation.
"""

from __future__ import annotations

import re

_TYPE = re.compile(r"([a-z]+)(?:\(((?:[^()']|'(?:[^'\\]|\\.|'')*')*)\))?((?: unsigned| zerofill)*)",
                   re.I)
_INTS = ["tinyint", "smallint", "mediumint", "int", "bigint"]
_TEXTS = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295,
          "tinyblob": 255, "blob": 65535, "mediumblob": 16777215, "longblob": 4294967295}
_CHARS = {"char": "text", "varchar": "text", "binary": "blob", "varbinary": "blob"}
_FLOATS = ["float", "double"]
_TIMES = {"datetime", "timestamp", "time"}
_CHARSET = re.compile(r"CHARACTER SET (\w+)")


def _split(text: str) -> tuple[str, str, bool]:
    found = _TYPE.match(text)
    if found is None:
        return text.split(" ", 1)[0].lower(), "", False
    return found.group(1).lower(), found.group(2) or "", "unsigned" in found.group(3).lower()


def _labels(args: str) -> set[str]:
    return set(re.findall(r"'((?:[^'\\]|\\.|'')*)'", args))


def _capacity(kind: str, args: str) -> tuple[str, int] | None:
    """(family, length) of a string type."""
    if kind in _CHARS:
        return _CHARS[kind], int(args or 1)
    if kind in _TEXTS:
        return ("blob" if "blob" in kind else "text"), _TEXTS[kind]
    return None


def narrowing(old: str, new: str) -> str | None:
    """Why the column text ``new`` may hold less than ``old``; None when it holds at least
    as much."""
    (ok, oa, ou), (nk, na, nu) = _split(old), _split(new)
    old_type = old.split(" CHARACTER SET")[0].split(" DEFAULT")[0].split(" NOT NULL")[0]
    new_type = new.split(" CHARACTER SET")[0].split(" DEFAULT")[0].split(" NOT NULL")[0]
    why = f"from {old_type} to {new_type}"
    old_cs, new_cs = _CHARSET.search(old), _CHARSET.search(new)
    if old_cs and new_cs and old_cs.group(1) != new_cs.group(1) and \
            not new_cs.group(1).startswith("utf8mb4"):
        return f"changes the character set {old_cs.group(1)} to {new_cs.group(1)}"
    if (ok, oa, ou) == (nk, na, nu):
        return None
    if ok in _INTS and nk in _INTS:
        if ou != nu or _INTS.index(nk) < _INTS.index(ok):
            return why
        return None
    if ok in ("decimal", "numeric") and nk in ("decimal", "numeric"):
        op, _, os_ = (oa or "10,0").partition(",")
        np_, _, ns = (na or "10,0").partition(",")
        whole = int(np_) - int(ns or 0) < int(op) - int(os_ or 0)
        return why if whole or int(ns or 0) < int(os_ or 0) or (ou and not nu) or \
            (nu and not ou) else None
    if ok in _FLOATS and nk in _FLOATS:
        return why if _FLOATS.index(nk) < _FLOATS.index(ok) or ou != nu else None
    if ok in _INTS and nk in ("decimal", "numeric", "bigint"):
        return None if nk != "bigint" else why
    old_cap, new_cap = _capacity(ok, oa), _capacity(nk, na)
    if old_cap and new_cap:
        return why if old_cap[0] != new_cap[0] or new_cap[1] < old_cap[1] else None
    if ok in ("enum", "set") and nk == ok:
        return why if not _labels(oa) <= _labels(na) else None
    if ok in _TIMES and nk == ok:
        return why if int(na or 0) < int(oa or 0) else None
    if ok == "date" and nk in ("datetime", "timestamp"):
        return None
    return why
