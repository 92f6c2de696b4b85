"""``migrations.sum``: the SHA-256 of every migration file, so git sees two branches collide.

One line per migration in the order they run (versioned by version, then
repeatable by name), the last line hashing all the lines above it, as
go.sum and atlas.sum do. Two branches that each add a migration change that
last line differently, so git reports a conflict when they merge instead of
``up`` finding two new files at deploy time. The file is opt-in: a
directory without one works as before, and ``migrator hash`` creates it.

Hashes are the files' raw bytes (the checksums ``status`` and ``verify``
keep); a file that differs from its line only in CRLF/LF or a UTF-8 BOM is
not refused, as it is not drift (git's autocrlf on a Windows checkout).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import NamedTuple

from migrator.errors import DriftError
from migrator.files import REPEATABLE_PREFIX, Discovered, Migration, discover_all

SUM_NAME = "migrations.sum"
HEADER = (f"# {SUM_NAME}: SHA-256 of each migration's up and down file; "
          "'migrator hash' rewrites it")
_TOTAL = "sum "
_NO_FILE = "-"
_CONFLICT = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")
HASH_HINT = "after a deliberate change, run 'migrator hash' to rewrite {sum}"
CONFLICT_HINT = (
    "two branches each added migrations. Take the sum of the branch you merge "
    "('git checkout main -- {sum}', your branch for main), then run 'migrator rebase "
    "VERSION...' for this branch's new migrations (README \"Branches\")"
)


class Line(NamedTuple):
    """One migration as the sum records it."""

    label: str  # version_name, or R_name for a repeatable
    up: str
    down: str | None  # None: no down file

    def render(self) -> str:
        repeatable = self.label.startswith(REPEATABLE_PREFIX)  # never has a down file
        down = "" if repeatable else f" down:{self.down or _NO_FILE}"
        return f"{self.label} up:{self.up}{down}"


class SumMismatch(DriftError):
    """The directory disagrees with its ``migrations.sum``; ``problems`` names each file."""

    kind = "sum"


def sum_path(directory: Path) -> Path:
    return directory / SUM_NAME


def lines_of(found: Discovered) -> list[Line]:
    """What the sum records for ``found``, in run order."""
    return [_line(m) for m in (*found.migrations, *found.repeatables)]


def _line(m: Migration) -> Line:
    return Line(m.label, m.up.checksum, m.down.checksum if m.down is not None else None)


def render(lines: Iterable[Line]) -> str:
    """The file's text: the header, one line per migration, then the total."""
    body = "".join(f"{text}\n" for text in (HEADER, *(line.render() for line in lines)))
    return f"{body}{_TOTAL}{_total(body)}\n"


def _total(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Written(NamedTuple):
    path: Path
    migrations: int
    repeatables: int
    total: str


def write_sum(directory: Path, found: Discovered | None = None) -> Written:
    """Write ``directory``'s sum from its files (discovered here unless given), atomically."""
    found = discover_all(directory) if found is None else found
    text = render(lines_of(found))
    from migrator.atomicfile import write_atomically  # only when writing: status only reads

    path = sum_path(directory)
    write_atomically(path, text)
    total = text.rsplit(_TOTAL, 1)[1].strip()
    return Written(path, len(found.migrations), len(found.repeatables), total)


def rewrite_if_present(directory: Path) -> Written | None:
    """Rewrite the sum after a command changed the files; nothing if there is none."""
    if not sum_path(directory).exists():
        return None
    return write_sum(directory)


def discover_verified(directory: Path) -> Discovered:
    """Every migration in ``directory``; refused (exit 3) if its migrations.sum disagrees."""
    found = discover_all(directory)
    verify(directory, found)
    return found


def verify(directory: Path, found: Discovered, *, exempt: Collection[str] = ()) -> None:
    """Raise SumMismatch, naming every file that differs, if ``directory`` has a sum that
    disagrees with ``found``; nothing if it has none (the file is opt-in).

    ``exempt``: labels that may be missing from the sum, differ or be gone (``rebase``
    is about to rename them and write a new sum).
    """
    path = sum_path(directory)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        why = f"unreadable: {exc.strerror or exc}"
        raise SumMismatch(f"cannot read {path}: {exc.strerror or exc}",
                          [{"label": None, "file": str(path), "kind": "damaged",
                            "detail": why}]) from exc
    if raw.replace(b"\r\n", b"\n") == render(lines_of(found)).encode("utf-8"):
        return  # the usual case: no parsing, no per-line comparison
    recorded = parse(raw, str(path))
    problems = compare(recorded, found, exempt)
    if problems:
        raise SumMismatch(_message(path, problems), problems)


def changes(directory: Path, found: Discovered) -> list[dict[str, object]]:
    """How ``found`` differs from the sum on disk (for ``hash`` to say what it accepts);
    a damaged, conflicted or unreadable sum is one problem; no sum, none."""
    path = sum_path(directory)
    try:
        return compare(parse(path.read_bytes(), str(path)), found)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [{"label": None, "file": str(path), "kind": "damaged",
                 "detail": f"unreadable: {exc.strerror}"}]
    except SumMismatch as exc:
        return exc.problems


def parse(raw: bytes, shown: str) -> dict[str, Line]:
    """The recorded lines by label; SumMismatch if the file is damaged or has conflict
    markers (CRLF line endings are fine: git may have added them)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(shown, "not UTF-8 text") from None
    rows = text.splitlines()
    if any(row.startswith(_CONFLICT) for row in rows):
        problem: dict[str, object] = {"label": None, "file": shown, "kind": "conflict",
                                      "detail": "git merge conflict markers"}
        raise SumMismatch(f"{shown} has git merge conflict markers\n"
                          f"  fix: {CONFLICT_HINT.format(sum=shown)}", [problem])
    if not rows or not rows[-1].startswith(_TOTAL):
        raise _damaged(shown, f"its last line must be '{_TOTAL}<sha256>'")
    body = "".join(f"{row}\n" for row in rows[:-1])
    if rows[-1][len(_TOTAL):].strip() != _total(body):
        raise _damaged(shown, "its last line does not match the lines above it "
                              "(edited by hand?)")
    recorded: dict[str, Line] = {}
    for number, row in enumerate(rows[:-1], start=1):
        if not row.strip() or row.startswith("#"):
            continue
        line = _parse_line(row)
        if line is None:
            raise _damaged(shown, f"line {number} is not '<label> up:<sha256> down:<sha256>'")
        recorded[line.label] = line
    return recorded


def _parse_line(row: str) -> Line | None:
    label, *fields = row.split()
    values = dict(f.split(":", 1) for f in fields if ":" in f)
    up, down = values.get("up"), values.get("down", _NO_FILE)
    if up is None or len(fields) != len(values) or set(values) - {"up", "down"}:
        return None
    return Line(label, up, None if down == _NO_FILE else down)


def _damaged(shown: str, why: str) -> SumMismatch:
    return SumMismatch(f"{shown} is damaged: {why}\n"
                       f"  fix: {HASH_HINT.format(sum=shown)}",
                       [{"label": None, "file": shown, "kind": "damaged", "detail": why}])


def compare(recorded: dict[str, Line], found: Discovered,
            exempt: Collection[str] = ()) -> list[dict[str, object]]:
    """Each difference between the sum and the files, in run order."""
    problems: list[dict[str, object]] = []
    seen: set[str] = set()
    for m in (*found.migrations, *found.repeatables):
        seen.add(m.label)
        if m.label in exempt:
            continue
        line = recorded.get(m.label)
        if line is None:
            problems.append({"label": m.label, "file": m.up.path, "kind": "unlisted",
                             "detail": f"not listed in {SUM_NAME}"})
            continue
        for kind, sql, expected in (("up", m.up, line.up), ("down", m.down, line.down)):
            got = sql.checksum if sql is not None else None
            if got == expected or (sql is not None and expected and _cosmetic(sql.path,
                                                                               expected)):
                continue
            shown = sql.path if sql is not None else f"{m.label} ({kind} file)"
            detail = (f"differs from {SUM_NAME}" if sql is not None and expected
                      else f"added since {SUM_NAME} was written" if sql is not None
                      else f"removed since {SUM_NAME} was written")
            problems.append({"label": m.label, "file": shown, "kind": "changed",
                             "detail": detail})
    for label in recorded:
        if label not in seen and label not in exempt:
            problems.append({"label": label, "file": None, "kind": "gone",
                             "detail": f"listed in {SUM_NAME}, but its files are gone"})
    return problems


def _cosmetic(path: str, expected: str) -> bool:
    """Only CRLF/LF or a BOM differ from the recorded bytes (read again: rare)."""
    from migrator.checksum import cosmetic_match
    from migrator.source import read_bytes

    try:
        return cosmetic_match(read_bytes(path), expected) is not None
    except OSError:
        return False


def _message(path: Path, problems: list[dict[str, object]]) -> str:
    count = len(problems)
    what = "a file differs" if count == 1 else f"{count} differences"
    lines = [f"the migrations directory disagrees with {path} ({what})"]
    lines += [f"  {p['file'] or p['label']}: {p['detail']}" for p in problems]
    lines.append(f"  fix: {HASH_HINT.format(sum=path)}")
    return "\n".join(lines)
