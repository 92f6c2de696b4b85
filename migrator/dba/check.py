"""``migrator check``: every problem in the migration files, at once, without a database.

It runs the same validation as ``up`` (names, duplicates, decoding,
directives, transaction control) but keeps going past the first bad file, and
adds what only a reviewer would catch: irreversible migrations, empty down
files, and statements on which the two splitters disagree.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from migrator.backends.sqlite.split import split_sqlite
from migrator.errors import FileProblem, MigrationFileError
from migrator.files import DIRECTORY, PAIR, discover
from migrator.preflight import check as preflight
from migrator.source import SourceError, decode, parse_directives
from migrator.splitting import SplitError, Statement, split_sqlparse

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str
    problem: FileProblem

    def to_json(self) -> dict[str, object]:
        p = self.problem
        return {"severity": self.severity, "file": p.path, "line": p.line, "message": p.message}

    def __str__(self) -> str:
        p = self.problem
        where = f"{p.path}:{p.line}" if p.line else p.path
        return f"{where}: {self.severity}: {p.message}"


@dataclass(slots=True)
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    migrations: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def add(self, severity: str, problem: FileProblem) -> None:
        finding = Finding(severity, problem)
        if finding not in self.findings:  # discovery and the per-file pass overlap
            self.findings.append(finding)


@dataclass(slots=True)
class _Pair:
    up: Path | None = None
    down: Path | None = None


def check_directory(directory: Path) -> CheckReport:
    """Check every migration file under ``directory``; raises ConfigError if it is missing."""
    report = CheckReport()
    try:
        report.migrations = len(discover(directory))
    except MigrationFileError as exc:
        for problem in exc.problems:
            report.add(ERROR, problem)
    pairs: dict[tuple[str, str], _Pair] = {}
    for ident, direction, path in _candidates(directory):
        pair = pairs.setdefault(ident, _Pair())
        setattr(pair, direction, path)
    for pair in pairs.values():
        up_body = _check_file(pair.up, report) if pair.up else None
        down_body = _check_file(pair.down, report) if pair.down else None
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
    report.findings.sort(key=lambda f: (f.problem.path, f.problem.line or 0))
    return report


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


def _candidates(directory: Path) -> Iterator[tuple[tuple[str, str], str, Path]]:
    """(version, name), direction, path for every file that names itself a migration."""
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        path = directory / entry.name
        if entry.is_dir():
            match = DIRECTORY.match(entry.name)
            if match is None:
                continue
            for direction in ("up", "down"):
                if (path / f"{direction}.sql").is_file():
                    yield (match["version"], match["name"]), direction, path / f"{direction}.sql"
        else:
            match = PAIR.match(entry.name)
            if match is not None:
                yield (match["version"], match["name"]), match["direction"], path


def _check_file(path: Path, report: CheckReport) -> bool | None:
    """Add the file's problems; True if it has statements, False if none, None if unreadable."""
    report.files += 1
    shown = str(path)
    try:
        text = decode(path.read_bytes(), shown)
    except OSError as exc:
        report.add(ERROR, FileProblem(shown, f"cannot read: {exc.strerror or exc}"))
        return None
    except SourceError as exc:
        for problem in exc.problems:
            report.add(ERROR, problem)
        return None
    try:
        directives = parse_directives(text, shown)
    except SourceError as exc:
        for problem in exc.problems:
            report.add(ERROR, problem)
        directives = frozenset()
    try:
        statements = list(split_sqlite(text))
    except SplitError as exc:
        report.add(ERROR, FileProblem(shown, exc.message, exc.line))
        return None
    found = preflight(statements, shown, directives)
    for problem in found.errors:
        report.add(ERROR, problem)
    for problem in found.warnings:
        report.add(WARNING, problem)
    for problem in splitter_disagreements(text, statements, shown):
        report.add(ERROR, problem)
    return bool(statements)


def splitter_disagreements(
    text: str, sqlite_statements: list[Statement], shown: str
) -> list[FileProblem]:
    """Where sqlparse starts statements that SQLite's tokenizer does not, and vice versa.

    Both splitters skip leading comments, so a statement is identified by the
    offset of its first token; any offset in one list only is a disagreement.
    """
    try:
        theirs = {s.offset: s for s in split_sqlparse(text)}
    except Exception as exc:  # sqlparse is not ours; never let it crash a check
        return [FileProblem(shown, f"sqlparse could not split the file: {exc}")]
    ours = {s.offset: s for s in sqlite_statements}
    problems: list[FileProblem] = []
    for offset in sorted(ours.keys() - theirs.keys()):
        stmt = ours[offset]
        problems.append(FileProblem(
            shown,
            f"statement {stmt.index} starts here for SQLite, but sqlparse joins it to the "
            "statement before it; a server backend would run both as one: "
            f"{_first_line(stmt.sql)}",
            stmt.line,
        ))
    for offset in sorted(theirs.keys() - ours.keys()):
        stmt = theirs[offset]
        problems.append(FileProblem(
            shown,
            "sqlparse starts a new statement here, but for SQLite's tokenizer the statement "
            "above continues (a keyword such as BEGIN/END used as a name?): "
            f"{_first_line(stmt.sql)}",
            stmt.line,
        ))
    return problems


def _first_line(sql: str) -> str:
    line = sql.strip().splitlines()[0] if sql.strip() else ""
    return line if len(line) <= 60 else line[:60] + " …"
