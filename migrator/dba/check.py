"""``migrator check``: every problem in the migration files, at once, without a database.

It runs the same validation as ``up`` (names, duplicates, decoding,
directives, transaction control) but keeps going past the first bad file, and
adds what only a reviewer would catch: irreversible migrations, empty down
files, and the dialect's own checks (on SQLite, statements that sqlparse cuts
differently), and the dialect's safety rules (``migrator.lint``) on up files.
Files are split in the dialect of the URL or of ``dialect``, so a
PostgreSQL ``$$`` body or a MySQL ``DELIMITER`` trigger is not an error.
Discovery and reading are the run path's: a FIFO named like a migration is
refused as ``up`` refuses it, never opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends import dialect_named, dialect_of_url, reviewer, splitter
from migrator.backends.base import DialectInfo
from migrator.dba.spaces import DEFAULT_DIALECT
from migrator.errors import ConfigError, FileProblem, MigrationFileError
from migrator.files import DIRECTORY, PAIR, Migration, discover_all, version_key
from migrator.integrity import verify as verify_sum
from migrator.lint.model import DialectRules, FileContext, Known, Rule
from migrator.lint.registry import rules_for
from migrator.lint.run import lint_file
from migrator.preflight import check as preflight
from migrator.source import (
    FOREIGN_KEYS_OFF,
    NO_TRANSACTION,
    SourceError,
    decode,
    read_bytes,
    read_sql,
)
from migrator.splitting import SplitError, Statement

ERROR, WARNING = "error", "warning"
# Rules that say what a pre-flight warning says, better: the warning is dropped where they fire.
_PREFLIGHT_TWINS = {"SQ003": "PRAGMA foreign_keys"}


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str
    problem: FileProblem
    rule: Rule | None = None  # None: a structural problem, not a safety rule
    column: int | None = None

    def to_json(self) -> dict[str, object]:
        p = self.problem
        found: dict[str, object] = {"severity": self.severity, "file": p.path, "line": p.line,
                                    "message": p.message}
        if self.rule is not None:  # a structural problem keeps the document it always had
            found.update(rule=self.rule.id, column=self.column, hint=self.rule.hint)
        return found

    def __str__(self) -> str:
        p = self.problem
        if self.rule is not None:
            return f"{p.path}:{p.line}:{self.column}: {self.severity} {self.rule.id} {p.message}"
        where = f"{p.path}:{p.line}" if p.line else p.path
        return f"{where}: {self.severity}: {p.message}"


@dataclass(slots=True)
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    migrations: int = 0
    suppressed: int = 0  # rule findings silenced by '-- migrator: allow RULE -- why'
    rules: tuple[Rule, ...] = ()  # the dialect's rules, for SARIF

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def add(self, severity: str, problem: FileProblem, rule: Rule | None = None,
            column: int | None = None) -> None:
        finding = Finding(severity, problem, rule, column)
        if finding not in self.findings:  # discovery and the per-file pass overlap
            self.findings.append(finding)


@dataclass(slots=True)
class _Pair:
    up: Path | None = None
    down: Path | None = None


@dataclass(slots=True)
class _Dialect:
    """How one dialect cuts a file, and what it checks beyond the shared checks.

    ``new_tables`` is shared by the files of one run (``--pending``, ``--since``):
    a table an earlier one creates is not yet in use when a later one alters it.
    """

    name: str
    bounds: Callable[[str], Iterator[tuple[int, int, int]]]
    review: Callable[..., list[FileProblem]] | None
    lint: DialectRules | None
    run_together: bool = False
    url_params: frozenset[str] = frozenset()
    new_tables: set[str] = field(default_factory=set)
    known: Known = field(default_factory=Known)


def choose_dialect(url: str | None, dialect: str | None) -> DialectInfo:
    """The URL's dialect, or the one named; SQLite when neither is given."""
    by_url = dialect_of_url(url) if url else None
    named = dialect_named(dialect) if dialect else None
    if by_url is not None and named is not None and by_url.name != named.name:
        raise ConfigError(
            f"the dialect is {named.name} but the database URL is a {by_url.name} URL; "
            "drop one of them or make them agree"
        )
    return by_url or named or dialect_named(DEFAULT_DIALECT)


def check_directory(
    directory: Path, *, url: str | None = None, dialect: str | None = None,
    only: Collection[Path] | None = None,
) -> CheckReport:
    """Check every migration file under ``directory``; raises ConfigError if it is missing.

    Statements are cut as the dialect of ``url`` (or ``dialect``; SQLite by
    default) cuts them, so each dialect's own syntax checks clean. With
    ``only``, just those migrations (their up file's path) are checked, as
    one run: what an earlier one creates is new to a later one.
    """
    info = choose_dialect(url, dialect)
    rules = _Dialect(info.name, splitter(info), reviewer(info), rules_for(info),
                     run_together=only is not None, url_params=_query_names(url))
    chosen = None if only is None else {p.resolve() for p in only}
    report = CheckReport(rules=rules.lint.rules if rules.lint else ())
    pairs: dict[tuple[str, str], _Pair] = {}
    candidates: Iterable[tuple[tuple[str, str], str, Path]]
    try:
        found = discover_all(directory)
        verify_sum(directory, found)  # exit 3 if the directory disagrees with migrations.sum
        migrations = found.migrations
        report.migrations = len(migrations)
        candidates = _discovered(migrations)
    except MigrationFileError as exc:
        for problem in exc.problems:
            report.add(ERROR, problem)
        candidates = _candidates(directory)  # the files discovery did not refuse
    for ident, direction, path in candidates:
        pair = pairs.setdefault(ident, _Pair())
        setattr(pair, direction, path)
    for ident in sorted(pairs, key=lambda i: version_key(i[0])):  # the order they run in
        pair = pairs[ident]
        if chosen is not None and (pair.up is None or pair.up.resolve() not in chosen):
            if pair.up is not None:  # not reported, but what it creates is known to later files
                _check_file(pair.up, CheckReport(), rules, up=True, learn_only=True)
            continue
        up_body = (_check_file(pair.up, report, rules, up=True, together=rules.run_together)
                   if pair.up else None)
        down_body = _check_file(pair.down, report, rules) if pair.down else None
        if pair.up is None:
            continue
        if pair.down is None:
            report.add(WARNING, FileProblem(
                str(pair.up), "irreversible: no down file, so 'migrator down' will refuse it"))
        elif up_body and down_body is False:
            report.add(WARNING, FileProblem(
                str(pair.down), "down file is empty or comments only, but its up file is not: "
                "rolling back would record the migration as undone while undoing nothing"))
    _check_version_widths(pairs, report)
    if chosen is not None:
        skipped = {str(p) for pair in pairs.values() for p in (pair.up, pair.down)
                   if p is not None and (pair.up is None or pair.up.resolve() not in chosen)}
        report.findings = [f for f in report.findings if f.problem.path not in skipped]
    report.findings.sort(key=lambda f: (f.problem.path, f.problem.line or 0, f.column or 0))
    return report


def _query_names(url: str | None) -> frozenset[str]:
    """The lower-case names of the URL's query parameters (the rules read no values)."""
    if not url or "?" not in url:
        return frozenset()
    from urllib.parse import parse_qsl

    query = url.split("?", 1)[1].split("#", 1)[0]
    return frozenset(name.lower() for name, _ in parse_qsl(query, keep_blank_values=True))


def _check_version_widths(pairs: dict[tuple[str, str], _Pair], report: CheckReport) -> None:
    """Warn about a date-like version shorter than the others.

    Versions run in integer order, so ``2024-03-13_170000_x`` (a ``_`` typed
    for a ``-``) runs before every 14-digit version, although its date and
    diesel's text order put it among them.
    """
    digits = {
        ident: ident[0].replace("-", "") for ident, pair in pairs.items() if pair.up is not None
    }
    widest = max((len(d) for d in digits.values()), default=0)
    for (version, name), number in digits.items():
        if not 8 <= len(number) < widest:
            continue
        up = pairs[(version, name)].up
        assert up is not None
        message = (
            f"version {version} has {len(number)} digits, others have {widest}: "
            "migrations run in integer order, so it runs before every longer version, "
            "not among the dates around it"
        )
        head, _, rest = name.partition("_")
        if head.isdigit() and rest and len(number) + len(head) == widest:
            message += f" (did you mean {version}-{head}_{rest}?)"
        report.add(WARNING, FileProblem(str(up), message))


def _discovered(migrations: list[Migration]) -> list[tuple[tuple[str, str], str, Path]]:
    found = [((m.version, m.name), "up", Path(m.up.path)) for m in migrations]
    found += [((m.version, m.name), "down", Path(m.down.path)) for m in migrations if m.down]
    return sorted(found, key=lambda f: str(f[2]))


def _candidates(directory: Path) -> Iterator[tuple[tuple[str, str], str, Path]]:
    """(version, name), direction, path for every regular file that names itself a
    migration; discovery has reported the rest (a FIFO would block a read forever)."""
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = directory / entry.name
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:  # a symbolic link loop: discovery reported it
            continue
        if is_dir:
            match = DIRECTORY.match(entry.name)
            if match is None:
                continue
            for direction in ("up", "down"):
                if (path / f"{direction}.sql").is_file():
                    yield (match["version"], match["name"]), direction, path / f"{direction}.sql"
        elif is_file:
            match = PAIR.match(entry.name)
            if match is not None:
                yield (match["version"], match["name"]), match["direction"], path


def _read(path: Path, shown: str, report: CheckReport) -> tuple[str, frozenset[str]] | None:
    """The text and directives as ``up`` reads them; a file with bad directives is still
    split, so its other problems show in the same run."""
    try:
        sql = read_sql(path, shown)
        return sql.text, sql.directives
    except SourceError as exc:
        for problem in exc.problems:
            report.add(ERROR, problem)
    try:
        return decode(read_bytes(path), shown), frozenset()
    except (OSError, SourceError):  # reported above
        return None


def _check_file(path: Path, report: CheckReport, rules: _Dialect, *, up: bool = False,
                together: bool = False, learn_only: bool = False) -> bool | None:
    """Add the file's problems; True if it has statements, False if none, None if unreadable.

    ``learn_only``: only the safety rules run, for what the file tells about the
    schema (a file outside ``--pending``/``--since``, whose problems nobody sees).
    """
    report.files += 1
    shown = str(path)
    read = _read(path, shown, report)
    if read is None:
        return None
    text, directives = read
    try:
        statements = [Statement(index, line, text[first:end], first)
                      for index, (first, end, line) in enumerate(rules.bounds(text), start=1)]
    except SplitError as exc:
        report.add(ERROR, FileProblem(shown, exc.message, exc.line))
        return None
    twins = _lint(text, directives, statements, shown, report, rules, together) if up else set()
    if learn_only:
        return bool(statements)
    found = preflight(statements, shown, directives)
    for problem in found.errors:
        report.add(ERROR, problem)
    for problem in found.warnings:
        if not any(line == problem.line and said in problem.message for line, said in twins):
            report.add(WARNING, problem)
    if rules.review is not None:
        for problem in rules.review(text, statements, shown):
            report.add(ERROR, problem)
    return bool(statements)


def _lint(text: str, directives: frozenset[str], statements: list[Statement], shown: str,
          report: CheckReport, rules: _Dialect, together: bool) -> set[tuple[int, str]]:
    """Add the safety rules' findings; returns (line, text) of pre-flight warnings they replace."""
    if rules.lint is None:
        return set()
    ctx = FileContext(shown, text, statements, NO_TRANSACTION not in directives,
                      FOREIGN_KEYS_OFF in directives,
                      rules.new_tables if together else set(), rules.known, rules.url_params)
    located, problems, idle = lint_file(ctx, rules.lint, rules.name)
    for problem in problems:
        report.add(ERROR, problem)
    for problem in idle:
        report.add(WARNING, problem)
    twins: set[tuple[int, str]] = set()
    for found in located:
        if found.rule.id in _PREFLIGHT_TWINS:
            twins.add((found.line, _PREFLIGHT_TWINS[found.rule.id]))
        if found.suppressed:
            report.suppressed += 1
        else:
            report.add(found.rule.severity, FileProblem(shown, found.message, found.line),
                       found.rule, found.column)
    return twins
