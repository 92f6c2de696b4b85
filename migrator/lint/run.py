"""Running a dialect's rules over one file, with its suppressions applied."""

from __future__ import annotations

from dataclasses import dataclass

from migrator.errors import FileProblem
from migrator.lint import suppress
from migrator.lint.model import DialectRules, FileContext, Hit, Rule


@dataclass(frozen=True, slots=True)
class Located:
    """A rule's finding placed in the file (1-based line and column)."""

    rule: Rule
    path: str
    line: int
    column: int
    message: str
    suppressed: bool


def lint_file(ctx: FileContext, rules: DialectRules, dialect: str
              ) -> tuple[list[Located], list[FileProblem], list[FileProblem]]:
    """The rules' findings (suppressed ones flagged), the bad suppressions (errors)
    and the suppressions that silence nothing (warnings)."""
    allowed = suppress.parse(ctx.text, ctx.statements, ctx.path, rules.by_id(), dialect)
    hits = rules.lint(ctx)
    located = [_locate(ctx, hit, allowed.allows(hit.rule.id, hit.statement.index))
               for hit in hits]
    fired = {(hit.rule.id, hit.statement.index) for hit in hits}
    return located, allowed.problems, allowed.unused(fired, ctx.path)


def _locate(ctx: FileContext, hit: Hit, suppressed: bool) -> Located:
    at = hit.statement.offset + max(0, min(hit.at, len(hit.statement.sql)))
    line_start = ctx.text.rfind("\n", 0, at) + 1
    line = hit.statement.line + hit.statement.sql.count("\n", 0, at - hit.statement.offset)
    message = hit.rule.message + (f": {hit.detail}" if hit.detail else "")
    return Located(hit.rule, ctx.path, line, at - line_start + 1, message, suppressed)
