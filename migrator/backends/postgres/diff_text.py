"""Text helpers for PostgreSQL's differ: quoting, the model's texts read back as SQL.

The model holds the server's own texts (``format_type``, ``pg_get_*def``)
with the schema written as ``<schema>``; a generated migration names
nothing by schema, so it runs wherever its ``search_path`` points, like the
migrations it follows.
"""

from __future__ import annotations

import re

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from migrator.backends.postgres.widening import widens
from migrator.schema import PLACEHOLDER

_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_KEYWORDS = frozenset(RESERVED_KEYWORDS | COL_NAME_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS)
_DOLLAR = re.compile(r"\$[A-Za-z_]*\$")  # a dollar quote's delimiter, $function$
_TOKEN = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][\w$]*)')


def q(name: str) -> str:
    """An identifier as ``quote_ident`` writes it: quoted only when it must be."""
    if _PLAIN.match(name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def sql(text: str) -> str:
    """A model text as SQL for the migration's own schema: the placeholder's
    qualifier dropped, so names resolve through ``search_path``."""
    return text.replace(PLACEHOLDER + ".", "").strip()


def tokens(text: str) -> set[str]:
    """The identifiers a text mentions (unquoted ones folded to lower case): an
    over-approximation of what a view, trigger or function depends on."""
    found: set[str] = set()
    for quoted, bare in _TOKEN.findall(_DOLLAR.sub(" ", text)):
        found.add(quoted.replace('""', '"') if quoted else bare.lower())
    return found


def split_top(text: str, sep: str = ",") -> list[str]:
    """``text`` split at ``sep`` outside parentheses and quotes, parts stripped."""
    parts: list[str] = []
    depth, start, quote = 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def literals(text: str) -> list[str]:
    """The quoted literals of ``ENUM ('a', 'b''c')``, unescaped."""
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", text)]


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- type changes: which lose nothing ---------------------------------------------------

_SHORT = {"character varying": "varchar", "character": "bpchar", "timestamp without time zone":
          "timestamp", "timestamp with time zone": "timestamptz", "double precision": "float8",
          "real": "float4", "smallint": "int2", "integer": "int4", "bigint": "int8"}
_TYPE = re.compile(r"^(?P<name>[a-z ]+?)(?P<mods>\([\d,]+\))?(?P<rest>[a-z ]*)$")
# (old, new) base types where every old value has an equal new value
_WIDER = {("int2", "int4"), ("int2", "int8"), ("int4", "int8"), ("int2", "numeric"),
          ("int4", "numeric"), ("int8", "numeric"), ("float4", "float8"),
          ("int2", "float8"), ("int4", "float8"), ("varchar", "text"), ("bpchar", "text"),
          ("int2", "text"), ("int4", "text"), ("int8", "text"), ("numeric", "text"),
          ("timestamp", "timestamptz"), ("date", "timestamp"), ("date", "timestamptz"),
          ("json", "jsonb"), ("uuid", "text"), ("bool", "text")}


def short_type(text: str) -> str:
    """``character varying(20)`` as ``varchar(20)``: the spelling ``widens`` reads."""
    m = _TYPE.match(text.strip())
    if m is None:
        return text.strip()
    name = (m["name"] + (m["rest"] or "")).strip()
    if m["rest"] and m["rest"].strip() in ("with time zone", "without time zone"):
        name = (m["name"].strip() + " " + m["rest"].strip())
    name = _SHORT.get(name, name)
    return name + (m["mods"] or "")


def narrows(old: str, new: str) -> bool:
    """True unless every value of column type ``old`` fits ``new`` unchanged: the
    known widenings (``widening.widens`` plus the lossless casts above)."""
    if old == new:
        return False
    if old.endswith("[]") != new.endswith("[]"):
        return True
    a, b = short_type(old.removesuffix("[]")), short_type(new.removesuffix("[]"))
    if widens(a, b):
        return False
    base_a, base_b = a.partition("(")[0], b.partition("(")[0]
    if (base_a, base_b) in _WIDER:
        return base_b in ("text", "numeric") and "(" in b  # bounded targets may cut
    if base_a == base_b == "varchar" and "(" not in a:
        return True
    return not (base_a == base_b and "(" in a and "(" not in b)


# (old, new) base types with an assignment cast: ALTER COLUMN ... TYPE needs no USING
_ASSIGNED = {("varchar", "text"), ("bpchar", "text"), ("text", "varchar"), ("int2", "int4"),
             ("int2", "int8"), ("int4", "int8"), ("int4", "int2"), ("int8", "int4"),
             ("int8", "int2"), ("int2", "numeric"), ("int4", "numeric"), ("int8", "numeric"),
             ("float4", "float8"), ("float8", "float4"), ("numeric", "int4"),
             ("numeric", "int8"), ("timestamp", "timestamptz"), ("timestamptz", "timestamp"),
             ("date", "timestamp"), ("date", "timestamptz"), ("varchar", "bpchar"),
             ("bpchar", "varchar"), ("text", "bpchar")}


def needs_using(old: str, new: str) -> bool:
    """Whether ``ALTER COLUMN ... TYPE new`` needs ``USING col::new`` (no assignment cast)."""
    a = short_type(old).partition("(")[0]
    b = short_type(new).partition("(")[0]
    return a != b and (a, b) not in _ASSIGNED
