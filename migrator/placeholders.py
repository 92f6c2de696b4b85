"""``${NAME}`` substitution for files that opt in with ``-- migrator: placeholders``.

Opt-in per file, so a ``${`` in an ordinary file (a PL/pgSQL body, a JSON
literal) is never touched. The checksum stays that of the raw file: a
changed value is a different deployment, not a modified migration. Values
marked secret are replaced by ``***`` wherever migrator shows SQL (dry-run,
``--verbose``, failure messages), never in what the database receives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from migrator.errors import FileProblem, MigrationFailed
from migrator.progress import Progress

if TYPE_CHECKING:
    from migrator.files import Migration
    from migrator.progress import StepResult
    from migrator.splitting import Statement

VAR_PREFIX = "MIGRATOR_VAR_"
SECRET_PREFIX = "MIGRATOR_SECRET_"
MASK = "***"

# $${ is an escaped literal "${"; ${NAME} a placeholder; a "${" without a valid
# name and closing brace is an error rather than text sent as is.
_TOKEN = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Variable(NamedTuple):
    value: str
    secret: bool = False


class PlaceholderError(Exception):
    """Placeholders that cannot be filled; carries every located problem."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def substitute(text: str, shown: str, variables: Mapping[str, Variable]) -> str:
    """The text with every ``${NAME}`` replaced; PlaceholderError lists each unset name."""
    if "${" not in text:
        return text
    problems: list[FileProblem] = []
    parts: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[pos:match.start()])
        pos = match.end()
        token, name = match.group(), match.group("name")
        if token == "$${":
            parts.append("${")
        elif name is None:
            problems.append(FileProblem(shown, "'${' starts no placeholder: write ${NAME} "
                                        "(letters, digits, '_'), or $${ for a literal ${",
                                        _line(text, match.start())))
        elif name in variables:
            parts.append(variables[name].value)
        else:
            problems.append(FileProblem(
                shown, f"placeholder ${{{name}}} has no value: pass --var {name}=VALUE, set "
                f"{VAR_PREFIX}{name}, or add it under [vars] in the config file",
                _line(text, match.start())))
    if problems:
        raise PlaceholderError(problems)
    parts.append(text[pos:])
    return "".join(parts)


def mask(sql: str, variables: Mapping[str, Variable]) -> str:
    """SQL as migrator may show it: each secret value replaced by ``***``."""
    for var in sorted((v for v in variables.values() if v.secret and v.value),
                      key=lambda v: -len(v.value)):
        sql = sql.replace(var.value, MASK)
    return sql


def has_secrets(variables: Mapping[str, Variable]) -> bool:
    return any(v.secret and v.value for v in variables.values())


def masked_failure(exc: MigrationFailed, variables: Mapping[str, Variable]) -> MigrationFailed:
    """The same report with secret values hidden: the statement, the database's
    message (which may quote it) and the whole text."""
    info = exc.info
    db = info.db_error
    db = db._replace(message=mask(db.message, variables),
                     detail=mask(db.detail, variables) if db.detail else db.detail)
    shown = MigrationFailed(info._replace(sql=mask(info.sql, variables), db_error=db),
                            mask(str(exc), variables))
    shown.completed = exc.completed
    return shown


class MaskedProgress(Progress):
    """Forwards every hook, with secret values hidden from what it shows.

    Used only when a secret is set, so the hot statement loop keeps its fast
    path otherwise; ``wants_statements`` is passed on from the wrapped one.
    """

    def __init__(self, inner: Progress, variables: Mapping[str, Variable]) -> None:
        self.inner, self.variables = inner, variables
        # as migrator.statements.wants_statements asks it of the wrapped object
        listens = type(inner).statement_started is not Progress.statement_started
        self.wants_statements = listens and bool(getattr(inner, "wants_statements", True))

    def run_started(self, direction: str, total: int) -> None:
        self.inner.run_started(direction, total)

    def migration_started(self, migration: Migration, direction: str, total: int) -> None:
        self.inner.migration_started(migration, direction, total)

    def statement_started(self, migration: Migration, statement: Statement, total: int) -> None:
        sql = mask(statement.sql, self.variables)
        self.inner.statement_started(migration, statement._replace(sql=sql), total)

    def statements_done(self, migration: Migration, done: int, total: int) -> None:
        self.inner.statements_done(migration, done, total)

    def before_commit(self, migration: Migration, direction: str) -> None:
        self.inner.before_commit(migration, direction)

    def migration_finished(self, step: StepResult) -> None:
        self.inner.migration_finished(step)

    def warning(self, problem: FileProblem) -> None:
        self.inner.warning(problem._replace(message=mask(problem.message, self.variables)))


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` from ``--var``; ValueError with a message otherwise."""
    name, sep, value = text.partition("=")
    if not sep or not _NAME.match(name):
        raise ValueError(f"expected NAME=VALUE with NAME made of letters, digits and '_', "
                         f"got {text!r}")
    return name, value


def collect(
    config: Mapping[str, str],
    environ: Mapping[str, str],
    flags: Iterable[str] = (),
    secret_flags: Iterable[str] = (),
) -> dict[str, Variable]:
    """Values by precedence: ``--var``/``--secret-var``, then the environment
    (``MIGRATOR_VAR_NAME``, ``MIGRATOR_SECRET_NAME``), then ``[vars]``."""
    found: dict[str, Variable] = {k: Variable(v) for k, v in config.items()}
    for key, value in environ.items():
        if key.startswith(VAR_PREFIX) and len(key) > len(VAR_PREFIX):
            found[key[len(VAR_PREFIX):]] = Variable(value)
    for key, value in environ.items():
        if key.startswith(SECRET_PREFIX) and len(key) > len(SECRET_PREFIX):
            found[key[len(SECRET_PREFIX):]] = Variable(value, secret=True)
    for text in flags:
        name, value = parse_assignment(text)
        found[name] = Variable(value)
    for text in secret_flags:
        name, value = parse_assignment(text)
        found[name] = Variable(value, secret=True)
    return found


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
