"""A MySQL/MariaDB table's SHOW CREATE TABLE text, cut into the clauses a differ compares.

The catalog keeps one normalized ``CREATE TABLE`` text per table, one clause
per line: column lines, then ``PRIMARY KEY``, keys, then ``CONSTRAINT``
lines, then the table options after ``)``. The differ compares clause by
clause, so this module only cuts and names them; it never guesses a meaning
the server's text does not spell out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migrator.schema import PLACEHOLDER

_NAME = re.compile(r"`((?:[^`]|``)*)`")
_KEY = re.compile(r"(?:(UNIQUE|FULLTEXT|SPATIAL) )?KEY `((?:[^`]|``)*)` ")
_CONSTRAINT = re.compile(r"CONSTRAINT `((?:[^`]|``)*)` (FOREIGN KEY|CHECK)\b")
_OPTION = re.compile(r"((?:DEFAULT )?[A-Z_]+(?: [A-Z_]+)?)=('(?:[^'\\]|\\.|'')*'|\S+)")
_STRINGY = re.compile(r"(?:var)?char\b|(?:tiny|medium|long)?text\b|enum\b|set\b", re.I)


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def unquote(text: str) -> str:
    return text.replace("``", "`")


def unplaced(sql: str) -> str:
    """The text runnable in any database: ``<schema>.`x``` names the current one."""
    return sql.replace(PLACEHOLDER + ".", "")


@dataclass
class Parsed:
    """One table's clauses, each kept as the server wrote it (no trailing comma)."""

    name: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> text after the name
    primary: str | None = None  # the whole PRIMARY KEY line
    keys: dict[str, str] = field(default_factory=dict)  # name -> whole line
    foreign: dict[str, str] = field(default_factory=dict)  # name -> whole line
    checks: dict[str, str] = field(default_factory=dict)  # name -> whole line
    other: list[str] = field(default_factory=list)  # lines this module does not know
    options: str = ""  # after the closing ")"

    def option_map(self) -> dict[str, str]:
        return {k: v for k, v in _OPTION.findall(self.options)}

    def render(self, *, foreign: bool = True) -> str:
        """The CREATE TABLE text again, without the foreign keys when asked."""
        return self._text(list(self.keys.values()),
                          list(self.foreign.values()) if foreign else [],
                          list(self.checks.values()))

    def canonical(self) -> str:
        """The text with keys and constraints in name order: the order ``SHOW CREATE
        TABLE`` lists them in follows creation history, which no ALTER reorders."""
        keys = sorted(self.keys.items(),
                      key=lambda kv: (not kv[1].lstrip().startswith("UNIQUE"), kv[0]))
        return self._text([line for _, line in keys],
                          [self.foreign[n] for n in sorted(self.foreign)],
                          [self.checks[n] for n in sorted(self.checks)])

    def _text(self, keys: list[str], foreign: list[str], checks: list[str]) -> str:
        lines = [f"  {quote(n)} {rest}" for n, rest in self.columns.items()]
        lines += [self.primary] if self.primary else []
        lines += keys + self.other + foreign + checks
        body = ",\n".join(line if line.startswith("  ") else "  " + line for line in lines)
        return f"CREATE TABLE {quote(self.name)} (\n{body}\n){self.options}"


def parse(name: str, definition: str) -> Parsed:
    """Cut a normalized SHOW CREATE TABLE text into its clauses."""
    table = Parsed(name)
    text = definition.strip()
    rest = text.partition("(\n")[2]
    body, _, options = rest.rpartition("\n)")
    table.options = options
    clauses: list[str] = []
    for line in body.split("\n"):
        if line.startswith("  ") or not clauses:
            clauses.append(line)
        else:  # a clause the server wrapped: part of the one before
            clauses[-1] += "\n" + line
    for raw in clauses:
        line = raw.rstrip().removesuffix(",")
        clause = line.strip()
        if clause.startswith("`"):
            found = _NAME.match(clause)
            assert found is not None
            table.columns[unquote(found.group(1))] = clause[found.end():].lstrip()
        elif clause.startswith("PRIMARY KEY"):
            table.primary = line
        elif key := _KEY.match(clause):
            table.keys[unquote(key.group(2))] = line
        elif constraint := _CONSTRAINT.match(clause):
            target = table.foreign if constraint.group(2) == "FOREIGN KEY" else table.checks
            target[unquote(constraint.group(1))] = line
        else:
            table.other.append(line)
    return table


def stringy(column_text: str) -> bool:
    """Whether a column's type takes the table's character set."""
    return bool(_STRINGY.match(column_text))


def rename_in(text: str, columns: dict[str, str]) -> str:
    """``text`` with every backquoted column name in ``columns`` renamed."""
    if not columns:
        return text
    return _NAME.sub(lambda m: quote(columns.get(unquote(m.group(1)), unquote(m.group(1)))),
                     text)
