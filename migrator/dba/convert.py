"""``migrator convert``: rewrite another tool's migration files into migrator's layout.

Each up and down section keeps its SQL bytes exactly (line endings, comments,
goose's StatementBegin/End lines); the only thing added is a
``-- migrator: no-transaction`` line where the source tool marked a section
non-transactional. Anything without a faithful translation (Go migrations,
placeholders, repeatable scripts) stops the conversion and is listed, so a
converted directory never behaves differently in silence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.errors import ConfigError, FileProblem, MigrationFileError
from migrator.files import discover, version_key

_BOM = b"\xef\xbb\xbf"
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_DBMATE_MARK = re.compile(rb"^--[ \t]*migrate:(up|down)\b([^\r\n]*)\r?$", re.M | re.I)
_GOOSE_MARK = re.compile(rb"^--[ \t]*\+goose[ \t]+([^\r\n]*?)[ \t]*\r?$", re.M | re.I)
_DIRECTIVE = b"-- migrator: no-transaction"
TOOLS = ("dbmate", "goose", "flyway", "sqlx")


@dataclass(slots=True)
class Converted:
    version: str
    name: str
    source: str
    up: bytes
    down: bytes | None = None
    no_transaction: bool = False
    notes: list[str] = field(default_factory=list)

    def files(self) -> dict[str, bytes]:
        stem = f"{self.version}_{self.name}"
        out = {f"{stem}.up.sql": self._mark(self.up)}
        if self.down is not None:
            out[f"{stem}.down.sql"] = self._mark(self.down)
        return out

    def _mark(self, body: bytes) -> bytes:
        if not self.no_transaction:
            return body
        eol = b"\r\n" if b"\r\n" in body else b"\n"
        return _DIRECTIVE + eol + body


@dataclass(slots=True)
class Conversion:
    migrations: list[Converted] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files that are not migrations


def _name(raw: str, notes: list[str]) -> str:
    name = _NAME_BAD.sub("_", raw).strip("_") or "migration"
    if name != raw:
        notes.append(f"name {raw!r} became {name!r}")
    return name


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _sections(
    data: bytes, marks: list[tuple[str, re.Match[bytes]]], path: str,
) -> tuple[bytes | None, bytes | None, list[FileProblem]]:
    """Up and down bodies: from after each marker line to the next marker line."""
    problems: list[FileProblem] = []
    bodies: dict[str, bytes] = {}
    first = marks[0][1].start() if marks else len(data)
    if data[:first].strip() and not all(
        ln.strip().startswith(b"--") or not ln.strip() for ln in data[:first].splitlines()
    ):
        problems.append(FileProblem(path, "SQL before the first up/down marker", 1))
    for i, (which, match) in enumerate(marks):
        if which in bodies:
            problems.append(FileProblem(path, f"second '{which}' section",
                                        _line_of(data, match.start())))
            continue
        start = match.end()
        if data[start:start + 2] == b"\r\n":
            start += 2
        elif data[start:start + 1] == b"\n":
            start += 1
        end = marks[i + 1][1].start() if i + 1 < len(marks) else len(data)
        bodies[which] = data[start:end]
    if "up" not in bodies:
        problems.append(FileProblem(path, "no up section marker"))
    return bodies.get("up"), bodies.get("down"), problems


def _dbmate(path: Path, data: bytes) -> tuple[Converted | None, list[FileProblem]]:
    match = re.match(r"^(\d+)_(.+)\.sql$", path.name)
    if match is None:
        return None, []
    shown = str(path)
    notes: list[str] = []
    data = data.removeprefix(_BOM)
    marks = [(m.group(1).decode().lower(), m) for m in _DBMATE_MARK.finditer(data)]
    up, down, problems = _sections(data, marks, shown)
    no_tx = set()
    for which, m in marks:
        for option in m.group(2).split():
            if option.lower() == b"transaction:false":
                no_tx.add(which)
            elif option.lower() != b"transaction:true":
                problems.append(FileProblem(
                    shown, f"unknown dbmate option {option.decode(errors='replace')!r}",
                    _line_of(data, m.start())))
    if len(no_tx) == 1 and down is not None:
        problems.append(FileProblem(
            shown, "transaction:false on only one of up/down; migrator marks whole "
            "migrations, so put it on both sections"))
    if problems or up is None:
        return None, problems
    converted = Converted(match[1], _name(match[2], notes), shown, up, down, bool(no_tx), notes)
    return converted, []


def _goose(path: Path, data: bytes) -> tuple[Converted | None, list[FileProblem]]:
    shown = str(path)
    if path.suffix == ".go":
        return None, [FileProblem(shown, "Go migrations cannot be converted to SQL; rewrite "
                                         "it as SQL first")]
    match = re.match(r"^(\d+)_(.+)\.sql$", path.name)
    if match is None:
        return None, []
    notes: list[str] = []
    problems: list[FileProblem] = []
    data = data.removeprefix(_BOM)
    marks: list[tuple[str, re.Match[bytes]]] = []
    no_tx = False
    for m in _GOOSE_MARK.finditer(data):
        word = m.group(1).decode(errors="replace").strip().lower()
        if word in ("up", "down"):
            marks.append((word, m))
        elif word == "no transaction":
            no_tx = True
        elif word.startswith("envsub"):
            problems.append(FileProblem(
                shown, "ENVSUB substitutes environment variables, which migrator never "
                "does; replace the ${VARS} by their values first", _line_of(data, m.start())))
        elif word not in ("statementbegin", "statementend"):
            problems.append(FileProblem(shown, f"unknown goose annotation '+goose {word}'",
                                        _line_of(data, m.start())))
    up, down, more = _sections(data, marks, shown)
    problems.extend(more)
    if problems or up is None:
        return None, problems
    if b"+goose StatementBegin" in data or b"+goose statementbegin" in data.lower():
        notes.append("kept StatementBegin/End lines as comments; SQLite's tokenizer "
                     "finds trigger bodies on its own")
    return Converted(match[1], _name(match[2], notes), shown, up, down, no_tx, notes), []


_FLYWAY = re.compile(r"^(?P<prefix>[VUR])(?P<version>[^_]*)__(?P<desc>.+)\.sql$")


def _flyway_all(files: list[Path]) -> tuple[list[Converted], list[FileProblem], list[str]]:
    """Flyway pairs V (up) with U (undo) files, so it reads the whole list at once."""
    ups: dict[str, Converted] = {}
    undos: dict[str, tuple[Path, bytes]] = {}
    problems: list[FileProblem] = []
    skipped: list[str] = []
    for path in files:
        match = _FLYWAY.match(path.name)
        if match is None:
            if path.name.endswith(".sql"):
                problems.append(FileProblem(str(path), "not a Flyway versioned migration name "
                                            "(V<version>__<description>.sql)"))
            elif not path.name.endswith(".sql.conf"):
                skipped.append(str(path))
            continue
        prefix, version = match["prefix"], match["version"]
        if prefix == "R":
            problems.append(FileProblem(str(path), "repeatable migrations have no migrator "
                                        "equivalent; turn it into a versioned migration"))
            continue
        if not version.isdigit():
            problems.append(FileProblem(
                str(path), f"version {version!r} is not plain digits; migrator orders by an "
                "integer version, so rename it (V1_1 -> V101, for example) first"))
            continue
        data = _read(path)
        if prefix == "U":
            undos[version] = (path, data)
            continue
        notes: list[str] = []
        conf = path.with_name(path.name + ".conf")
        no_tx = conf.is_file() and re.search(
            r"(?im)^\s*executeInTransaction\s*=\s*false\s*$",
            conf.read_text(encoding="utf-8", errors="replace")) is not None
        ups[version] = Converted(version, _name(match["desc"], notes), str(path), data,
                                 None, no_tx, notes)
    for version, (path, data) in undos.items():
        if version not in ups:
            problems.append(FileProblem(str(path), "undo file without its V file"))
        else:
            ups[version].down = data
    return list(ups.values()), problems, skipped


def _sqlx(path: Path, data: bytes) -> tuple[Converted | None, list[FileProblem]]:
    match = re.match(r"^(\d+)_(.+?)(\.up|\.down)?\.sql$", path.name)
    if match is None or match[3] == ".down":
        return None, []
    notes: list[str] = []
    down_path = path.with_name(f"{match[1]}_{match[2]}.down.sql") if match[3] else None
    down = _read(down_path) if down_path and down_path.is_file() else None
    no_tx = data.lstrip(_BOM).startswith(b"-- no-transaction")
    return Converted(match[1], _name(match[2], notes), str(path), data, down, no_tx, notes), []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc


_PER_FILE: dict[str, Callable[[Path, bytes], tuple[Converted | None, list[FileProblem]]]] = {
    "dbmate": _dbmate,
    "goose": _goose,
    "sqlx": _sqlx,
}


def read_source(tool: str, source: Path) -> Conversion:
    """Parse every migration of ``tool`` under ``source``; all problems raised at once."""
    if not source.is_dir():
        raise ConfigError(f"source directory {source} does not exist")
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    result = Conversion()
    problems: list[FileProblem] = []
    if tool == "flyway":
        result.migrations, problems, result.skipped = _flyway_all(files)
    else:
        for path in files:
            converted, found = _PER_FILE[tool](path, _read(path))
            problems.extend(found)
            if converted is not None:
                result.migrations.append(converted)
            elif not found:
                result.skipped.append(str(path))
    seen: dict[int, Converted] = {}
    for c in result.migrations:
        other = seen.setdefault(version_key(c.version), c)
        if other is not c:
            problems.append(FileProblem(c.source, f"same version as {other.source}"))
    if problems:
        raise MigrationFileError(problems, hint="nothing was written")
    result.migrations.sort(key=lambda c: version_key(c.version))
    return result


def convert(tool: str, source: Path, dest: Path, *, dry_run: bool = False) -> Conversion:
    """Write ``source``'s migrations into ``dest`` (new or empty), then validate the result."""
    if tool not in TOOLS:
        raise ConfigError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
    result = read_source(tool, source)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"destination {dest} exists and is not an empty directory; "
                          "convert writes into a new directory only")
    if dry_run:
        result.written = [dest / name for c in result.migrations for name in c.files()]
        return result
    dest.mkdir(parents=True, exist_ok=True)
    for c in result.migrations:
        for name, body in c.files().items():
            target = dest / name
            target.write_bytes(body)
            result.written.append(target)
    discover(dest)  # what we wrote must load; raises with every problem if not
    return result
