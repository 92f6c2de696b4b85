"""PostgreSQL's differ for the objects a table's columns use: sequences, enums,
domains and composite types, each read back from the catalog's one-line text.

Texts (see ``catalog._OBJECTS``): a sequence is ``bigint START 1 INCREMENT 1
MIN 1 MAX 9 [CYCLE] [OWNED BY t.c]``; a type is ``ENUM ('a', 'b')``,
``DOMAIN integer [COLLATE c] [DEFAULT e] [NOT NULL] [CONSTRAINT n CHECK (...)]...``
or ``COMPOSITE (a integer, b text)``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from migrator.backends.postgres.diff_text import literal, literals, q, split_top, sql
from migrator.diff.model import Step

# -- sequences -----------------------------------------------------------------------------

_SEQUENCE = re.compile(r"^(?P<type>\w+) START (?P<start>-?\d+) INCREMENT (?P<inc>-?\d+) "
                       r"MIN (?P<min>-?\d+) MAX (?P<max>-?\d+)(?P<cycle> CYCLE)?"
                       r"(?: OWNED BY (?P<owner>.+))?$")


class Sequence(NamedTuple):
    options: str  # "AS bigint START WITH 1 ..."
    cycle: bool
    owner: str  # "t.c" (quoted as needed) or ""


def sequence(definition: str) -> Sequence:
    m = _SEQUENCE.match(definition.strip())
    if m is None:
        raise ValueError(f"unexpected sequence text: {definition!r}")
    options = (f"AS {m['type']} INCREMENT BY {m['inc']} MINVALUE {m['min']} "
               f"MAXVALUE {m['max']} START WITH {m['start']}")
    return Sequence(options, bool(m["cycle"]), m["owner"] or "")


def owner_column(definition: str) -> tuple[str, str] | None:
    """The (table, column) that owns a sequence (serial or identity), unquoted."""
    owner = sequence(definition).owner
    if not owner:
        return None
    parts = re.findall(r'"((?:[^"]|"")+)"|([^."]+)', owner)
    names = [quoted.replace('""', '"') if quoted else bare for quoted, bare in parts]
    return (names[0], names[1]) if len(names) == 2 else None


def create_sequence(name: str, definition: str) -> Step:
    seq = sequence(definition)
    return Step(f"CREATE SEQUENCE {q(name)} {seq.options}" + (" CYCLE" if seq.cycle else ""))


def alter_sequence(name: str, definition: str) -> Step:
    seq = sequence(definition)
    return Step(f"ALTER SEQUENCE {q(name)} {seq.options} "
                + ("CYCLE" if seq.cycle else "NO CYCLE"))


def identity_options(name: str, definition: str) -> str:
    """What ``GENERATED ... AS IDENTITY (...)`` takes to rebuild a sequence exactly."""
    seq = sequence(definition)
    options = seq.options.split(" ", 2)[2]  # the column's type is the sequence's
    return f"(SEQUENCE NAME {q(name)} {options}{' CYCLE' if seq.cycle else ''})"


# -- enums -----------------------------------------------------------------------------------

def kind_of(definition: str) -> str:
    return definition.split(" ", 1)[0].split("(", 1)[0]  # ENUM | DOMAIN | COMPOSITE


def enum_values(definition: str) -> list[str]:
    return literals(definition[len("ENUM"):])


def enum_additions(name: str, old: list[str], new: list[str]) -> list[Step] | None:
    """``ADD VALUE`` steps when ``old`` is ``new`` with values left out (order kept);
    None when values go or move: then the type is rebuilt."""
    kept = [v for v in new if v in old]
    if kept != old:
        return None
    steps: list[Step] = []
    for i, value in enumerate(new):
        if value in old:
            continue
        where = f" AFTER {literal(new[i - 1])}" if i else \
            (f" BEFORE {literal(new[1])}" if len(new) > 1 else "")
        steps.append(Step(f"ALTER TYPE {q(name)} ADD VALUE {literal(value)}{where}"))
    return steps


def create_type(name: str, definition: str) -> Step:
    kind = kind_of(definition)
    if kind == "ENUM":
        values = ", ".join(literal(v) for v in enum_values(definition))
        return Step(f"CREATE TYPE {q(name)} AS ENUM ({values})")
    if kind == "DOMAIN":
        return Step(f"CREATE DOMAIN {q(name)} AS {sql(definition[len('DOMAIN '):])}")
    body = definition[len("COMPOSITE"):].strip()
    return Step(f"CREATE TYPE {q(name)} AS {sql(body) if body else '()'}")


def drop_type(name: str, definition: str) -> Step:
    word = "DOMAIN" if kind_of(definition) == "DOMAIN" else "TYPE"
    return Step(f"DROP {word} {q(name)}")


# -- domains ------------------------------------------------------------------------------

_DOMAIN = re.compile(r"^DOMAIN (?P<base>.+?)(?: COLLATE (?P<coll>\S+))?"
                     r"(?: DEFAULT (?P<default>.+?))?(?P<notnull> NOT NULL)?"
                     r"(?P<checks>(?: CONSTRAINT .+)?)$", re.S)
_CHECK = re.compile(r" CONSTRAINT (\"(?:[^\"]|\"\")+\"|\S+) (.+?)(?= CONSTRAINT |$)", re.S)


class Domain(NamedTuple):
    base: str
    collation: str
    default: str
    notnull: bool
    checks: dict[str, str]  # quoted name -> CHECK (...)


def domain(definition: str) -> Domain:
    m = _DOMAIN.match(definition.strip())
    if m is None:
        raise ValueError(f"unexpected domain text: {definition!r}")
    checks = {name: body.strip() for name, body in _CHECK.findall(m["checks"] or "")}
    return Domain(m["base"], m["coll"] or "", m["default"] or "", bool(m["notnull"]), checks)


def alter_domain(name: str, old: Domain, new: Domain) -> list[Step]:
    """ALTER DOMAIN steps, or [] when the base type or collation changed (rebuilt)."""
    at = f"ALTER DOMAIN {q(name)}"
    steps = [Step(f"{at} DROP CONSTRAINT {c}") for c, body in old.checks.items()
             if new.checks.get(c) != body]
    if old.default != new.default:
        steps.append(Step(f"{at} SET DEFAULT {sql(new.default)}" if new.default
                          else f"{at} DROP DEFAULT"))
    if old.notnull != new.notnull:
        steps.append(Step(f"{at} {'SET' if new.notnull else 'DROP'} NOT NULL"))
    steps += [Step(f"{at} ADD CONSTRAINT {c} {sql(body)}") for c, body in new.checks.items()
              if old.checks.get(c) != body]
    return steps


# -- composite types ---------------------------------------------------------------------------

def attributes(definition: str) -> list[tuple[str, str]]:
    """``COMPOSITE (a integer, "B" text)`` as [("a", "integer"), ('"B"', "text")]."""
    body = definition[len("COMPOSITE"):].strip()
    if not body.startswith("("):
        return []
    out: list[tuple[str, str]] = []
    for part in split_top(body[1:-1]):
        m = re.match(r'("(?:[^"]|"")+"|\S+) (.+)$', part, re.S)
        if m:
            out.append((m[1], m[2]))
    return out


def alter_composite(name: str, old: list[tuple[str, str]],
                    new: list[tuple[str, str]]) -> list[Step] | None:
    """ALTER TYPE ... ADD/DROP ATTRIBUTE when the kept attributes keep their order and
    type and new ones come last; None otherwise (the type is rebuilt)."""
    old_names = [a for a, _ in old]
    new_map = dict(new)
    kept = [a for a, _ in new if a in old_names]
    if kept != [a for a in old_names if a in new_map] or \
            [a for a, _ in new][:len(kept)] != kept:
        return None
    old_map = dict(old)
    if any(a in old_map and old_map[a] != t for a, t in new):
        return None  # ALTER ATTRIBUTE TYPE is refused while a column uses the type
    at = f"ALTER TYPE {q(name)}"
    steps = [Step(f"{at} DROP ATTRIBUTE {a}") for a in old_names if a not in new_map]
    steps += [Step(f"{at} ADD ATTRIBUTE {a} {sql(t)}") for a, t in new if a not in old_map]
    return steps
