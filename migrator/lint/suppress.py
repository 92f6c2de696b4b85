"""``-- migrator: allow RULE-ID -- why``: a rule silenced on purpose, with the reason.

In the comment lines at the top of the file it covers the whole file;
anywhere else it covers the next statement. A suppression that names no
reason, or a rule this dialect does not have, is itself an error: a reviewer
must be able to tell a decision from a typo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from migrator.errors import FileProblem
from migrator.splitting import Statement

_ALLOW = re.compile(r"^[ \t]*--[ \t]*migrator[ \t]*:[ \t]*allow\b(?P<rest>.*)$",
                    re.IGNORECASE | re.MULTILINE)
_IDS = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class Allow:
    line: int
    ids: tuple[str, ...]
    statement: int | None  # the statement index it covers; None: the whole file


@dataclass(slots=True)
class Suppressions:
    allows_: list[Allow] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)

    def allows(self, rule_id: str, statement_index: int) -> bool:
        return any(rule_id in a.ids and a.statement in (None, statement_index)
                   for a in self.allows_)

    def unused(self, fired: set[tuple[str, int]], path: str) -> list[FileProblem]:
        """A suppression no finding needs: the danger is gone, or it sits above the
        wrong statement; either way it would silence a future finding unread."""
        found = []
        for a in self.allows_:
            idle = [i for i in a.ids
                    if not any(r == i and a.statement in (None, at) for r, at in fired)]
            if idle:
                found.append(FileProblem(
                    path, f"'-- migrator: allow {', '.join(idle)}' silences nothing "
                    f"{'in this file' if a.statement is None else 'in the next statement'}; "
                    "remove it", a.line))
        return found


def parse(text: str, statements: list[Statement], path: str,
          known: Mapping[str, object], dialect: str) -> Suppressions:
    """Every ``allow`` comment of the file, checked against the dialect's rule IDs."""
    found = Suppressions()
    if "allow" not in text.lower():
        return found
    first_sql = statements[0].line if statements else None
    for match in _ALLOW.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        ids_part, dashes, reason = match["rest"].partition("--")
        ids = [i.upper() for i in _IDS.split(ids_part.strip()) if i]
        if not ids:
            found.problems.append(FileProblem(
                path, "'-- migrator: allow' names no rule; write "
                "'-- migrator: allow RULE-ID -- why'", line))
            continue
        unknown = [i for i in ids if i not in known]
        if unknown:
            found.problems.append(FileProblem(
                path, f"'-- migrator: allow' names unknown {dialect} rule(s) "
                f"{', '.join(unknown)} (known: {', '.join(sorted(known))})", line))
            continue
        if not dashes or not reason.strip():
            found.problems.append(FileProblem(
                path, f"'-- migrator: allow {' '.join(ids)}' gives no reason; add "
                "'-- why' after the rule ID(s), so the next reviewer knows it was decided",
                line))
            continue
        if first_sql is None or (line < first_sql and _in_header(text, match.start())):
            found.allows_.append(Allow(line, tuple(ids), None))
            continue
        target = next((s for s in statements if s.line > line), None)
        if target is None:
            found.problems.append(FileProblem(
                path, "'-- migrator: allow' after the last statement covers nothing; "
                "put it above the statement it is about", line))
            continue
        found.allows_.append(Allow(line, tuple(ids), target.index))
    return found


def _in_header(text: str, at: int) -> bool:
    """True if only comment lines and blank lines come before offset ``at``."""
    for line in text[:at].splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            return False
    return True
