"""Files split and checked before any runs: what the run loop is given.

``prepare`` fills the placeholders of the files that ask for them, splits
every pending file with the backend's splitter and runs the pre-flight
checks, so an invalid file stops the run before it writes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

from migrator.backends.base import Backend
from migrator.errors import FileProblem, MigrationFileError
from migrator.files import Migration
from migrator.preflight import RISKY_FIRST, Findings, check
from migrator.progress import UP, Progress
from migrator.source import PLACEHOLDERS, SqlText
from migrator.splitting import SplitError, Statement

if TYPE_CHECKING:
    from migrator.placeholders import Variable

_NO_VARIABLES: Mapping[str, Variable] = {}


class Spans:
    """Where ``prepare`` found each statement: three machine integers apiece.

    ``run`` re-slices the statements from these instead of splitting the file
    a second time, and nothing holds a list of Statement objects (a 20 MB data
    file has 200k of them). Relies on ``sql == text[offset:offset + len(sql)]``,
    which both splitters guarantee.
    """

    __slots__ = ("ends", "lines", "offsets")

    def __init__(self) -> None:
        self.offsets = array("q")
        self.ends = array("q")
        self.lines = array("q")

    def collect(self, bounds: Iterable[tuple[int, int, int]]) -> SplitError | None:
        """Record every statement; a split error is returned after those before it."""
        add_offset, add_end, add_line = self.offsets.append, self.ends.append, self.lines.append
        try:
            for first, end, line in bounds:
                add_offset(first)
                add_end(end)
                add_line(line)
        except SplitError as exc:
            return exc
        return None

    def __len__(self) -> int:
        return len(self.offsets)

    def risky(self, text: str) -> Iterator[Statement]:
        """The statements the pre-flight check can object to, judged by first letter."""
        make, risky = Statement, RISKY_FIRST
        for index, (offset, end, line) in enumerate(
            zip(self.offsets, self.ends, self.lines, strict=True), start=1
        ):
            if text[offset] in risky:
                yield make(index, line, text[offset:end], offset)

    def statements(self, text: str) -> Iterator[Statement]:
        make = Statement
        for index, (offset, end, line) in enumerate(
            zip(self.offsets, self.ends, self.lines, strict=True), start=1
        ):
            yield make(index, line, text[offset:end], offset)

    def statement(self, at: int, text: str) -> Statement:
        """The statement at 0-based position ``at``, rebuilt for a report."""
        offset = self.offsets[at]
        return Statement(at + 1, self.lines[at], text[offset:self.ends[at]], offset)


class Prepared(NamedTuple):
    migration: Migration
    direction: str
    source: SqlText  # placeholders filled; the checksum still that of the raw file
    total: int
    spans: Spans | None = None  # None: split the file again when it runs
    variables: Mapping[str, Variable] = _NO_VARIABLES  # to mask secrets in what is shown


def source_for(migration: Migration, direction: str) -> SqlText:
    if direction == UP:
        return migration.up
    assert migration.down is not None
    return migration.down


def prepare(
    backend: Backend, migrations: list[tuple[Migration, str]], progress: Progress,
    variables: Mapping[str, Variable] = _NO_VARIABLES,
) -> list[Prepared]:
    """Fill, split and check every file before any runs; all problems raised at once."""
    problems: list[FileProblem] = []
    prepared: list[Prepared] = []
    for migration, direction in migrations:
        source = source_for(migration, direction)
        shown = _NO_VARIABLES
        if PLACEHOLDERS in source.directives:
            from migrator.placeholders import PlaceholderError, substitute

            try:
                source = source._replace(text=substitute(source.text, source.path, variables))
            except PlaceholderError as exc:
                problems.extend(exc.problems)
                continue
            shown = variables
        spans = Spans()
        split_error = spans.collect(backend.statement_bounds(source.text))
        found: Findings = check(spans.risky(source.text), source.path, source.directives)
        problems.extend(found.errors)
        if split_error is not None:
            problems.append(FileProblem(source.path, split_error.message, split_error.line))
            continue
        for warning in found.warnings:
            progress.warning(warning)
        prepared.append(Prepared(migration, direction, source, len(spans), spans, shown))
    if problems:
        raise MigrationFileError(problems)
    return prepared


def statements_of(backend: Backend, item: Prepared) -> Iterator[Statement]:
    """The file's statements: replayed from its spans, or split again."""
    text = item.source.text
    return item.spans.statements(text) if item.spans is not None else backend.split(text)
