"""Discovering migrations on disk in either layout, versioned and repeatable.

Every bad file is collected before anything is reported, so a DBA fixes the
whole directory in one pass instead of one error per run (dbmate skips
silently; we refuse loudly).
"""

from __future__ import annotations

import os
import re
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from migrator.errors import ConfigError, FileProblem, MigrationFileError
from migrator.source import SourceError, SqlText, read_sql

# Versions are ASCII digits (int() would also read other scripts' digits); names
# are letters and digits of any script (\w: 'créer_table'), '_' and '-'.
_VERSION = r"(?P<version>[0-9][0-9-]*?)"
_NAME = r"(?P<name>[\w-]+)"
PAIR = re.compile(rf"^{_VERSION}_{_NAME}\.(?P<direction>up|down)\.sql\Z")
DIRECTORY = re.compile(rf"^{_VERSION}_{_NAME}\Z")
_LOOKS_VERSIONED = re.compile(r"^\d")
NAME_OK = re.compile(r"^[\w-]+\Z")  # \Z: "$" would accept a trailing newline
# Repeatable migrations (Flyway's R__): "R_<name>.up.sql" or "R_<name>/up.sql". Their
# recorded version is "R_<name>": no file version starts with a letter, and "R" sorts
# after every digit, so such rows never collide with numeric versions and list last.
REPEATABLE_PREFIX = "R_"
REPEATABLE_KEY = -1  # like a hand-edited row's: never equal to a file version's key
REPEATABLE = re.compile(rf"^R_{_NAME}\.(?P<direction>up|down)\.sql\Z")
REPEATABLE_DIRECTORY = re.compile(rf"^R_{_NAME}\Z")



def label_of(version: str, name: str) -> str:
    """How messages name a migration: ``version_name``, or ``R_name`` for a repeatable
    (whose version already holds its name)."""
    return version if version.startswith(REPEATABLE_PREFIX) else f"{version}_{name}"

class Migration(NamedTuple):
    """One migration: its identity and the decoded up/down files.

    A NamedTuple rather than a frozen dataclass: ``status`` builds thousands
    and a tuple is built in C, several times faster; both are immutable.
    """

    version: str  # as written in the file name
    key: int  # ordering value: the digits with dashes removed
    name: str
    up: SqlText
    down: SqlText | None

    @property
    def label(self) -> str:
        return label_of(self.version, self.name)

    @property
    def repeatable(self) -> bool:
        """Run again whenever its checksum changes, never rolled back."""
        return self.version.startswith(REPEATABLE_PREFIX)

    @property
    def checksum(self) -> str:
        return self.up.checksum


def version_key(version: str) -> int:
    """Ordering value of a version; -1 for text that is no version (a hand-edited row).

    Converted in slices: int() refuses more than 4300 digits at once, and a
    traceback is no answer to a mistyped ``--to`` or a foreign row.
    """
    digits = version.replace("-", "")
    if not (digits.isascii() and digits.isdigit()):
        return -1
    if len(digits) < 4000:
        return int(digits)
    key = 0
    for at in range(0, len(digits), 4000):
        chunk = digits[at : at + 4000]
        key = key * 10 ** len(chunk) + int(chunk)
    return key


def _file_key(version: str) -> int:
    """version_key for a version the file name pattern matched: ASCII digits and dashes."""
    if "-" in version or len(version) >= 4000:
        return version_key(version)
    return int(version)  # the pattern already excluded signs, spaces, '_' and other digits


class Discovered(NamedTuple):
    migrations: list[Migration]  # versioned, ordered by version
    repeatables: list[Migration]  # ordered by name, the order they run in


def discover(directory: Path) -> list[Migration]:
    """Load and validate every migration in ``directory``, ordered by version.

    Repeatable files are validated too (a bad one is a problem here as well)
    but left out: only ``discover_all`` returns them.
    """
    return discover_all(directory).migrations


def discover_all(directory: Path) -> Discovered:
    """Every versioned and repeatable migration in ``directory``, validated at once."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(
            f"migrations directory '{directory}' {what}; "
            "pass --migrations-dir or create it with 'migrator new NAME'"
        )
    problems: list[FileProblem] = []
    ups: dict[tuple[str, str], str] = {}
    downs: dict[tuple[str, str], str] = {}
    repeatables: dict[str, str] = {}  # name -> path of its up file
    try:
        entries = sorted(os.scandir(directory), key=_BY_NAME)
    except OSError as exc:
        raise ConfigError(f"cannot list migrations directory '{directory}': {exc}") from exc
    bare = str(directory) == "."  # "1_a.up.sql" in messages, not "./1_a.up.sql"
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        path = name if bare else entry.path  # os.path.join(directory, name), already built in C
        try:
            is_dir = entry.is_dir()
            special = not is_dir and not entry.is_file() and os.path.exists(path)
        except OSError as exc:  # a symbolic link loop
            if _LOOKS_VERSIONED.match(name) or name.startswith(REPEATABLE_PREFIX):
                problems.append(FileProblem(path, f"cannot read: {exc.strerror}"))
            continue
        if is_dir:
            _scan_directory(path, name, ups, downs, problems, repeatables)
        elif not special:  # a file, or a dangling link whose read names the problem
            _scan_file(path, name, ups, downs, problems, repeatables)
        elif _LOOKS_VERSIONED.match(name) or name.startswith(REPEATABLE_PREFIX):
            # reading a FIFO would wait forever
            problems.append(FileProblem(
                path, "not a regular file (a FIFO, socket or device); migrations "
                "must be files"))
    for ident, path in downs.items():
        if ident not in ups:
            problems.append(FileProblem(path, "down file without a matching up file"))
    migrations = _load(ups, downs, problems)
    _check_duplicates(migrations, problems)
    loaded = _load_repeatables(repeatables, problems)
    if problems:
        raise MigrationFileError(problems)
    migrations.sort(key=_BY_KEY)
    return Discovered(migrations, loaded)


_BY_NAME = attrgetter("name")
_BY_KEY = attrgetter("key", "version")  # a (key, version) tuple, built in C


def _scan_file(
    path: str,
    name: str,
    ups: dict[tuple[str, str], str],
    downs: dict[tuple[str, str], str],
    problems: list[FileProblem],
    repeatables: dict[str, str],
) -> None:
    match = PAIR.match(name)
    if match is None:
        if name.startswith(REPEATABLE_PREFIX):  # only after PAIR: no cost to versioned files
            _scan_repeatable_file(path, name, problems, repeatables)
        elif name.endswith(".sql") and _LOOKS_VERSIONED.match(name):
            problems.append(
                FileProblem(
                    path,
                    "not a migration file name: expected <version>_<name>.up.sql or "
                    "<version>_<name>.down.sql, the name made of letters, digits, '_' and '-'",
                )
            )
        return
    ident = (match["version"], match["name"])
    _claim(ups if match["direction"] == "up" else downs, ident, path, problems)


def _claim(
    table: dict[tuple[str, str], str],
    ident: tuple[str, str],
    path: str,
    problems: list[FileProblem],
) -> None:
    """Record a file; the same migration in both layouts must not hide one of them."""
    other = table.get(ident)
    if other is not None:
        problems.append(
            FileProblem(
                path,
                f"duplicate version {version_key(ident[0])} (shared by {other}, {path}); "
                "keep one layout",
            )
        )
    table[ident] = path


def _scan_directory(
    path: str,
    name: str,
    ups: dict[tuple[str, str], str],
    downs: dict[tuple[str, str], str],
    problems: list[FileProblem],
    repeatables: dict[str, str],
) -> None:
    if not _LOOKS_VERSIONED.match(name):
        if name.startswith(REPEATABLE_PREFIX):
            _scan_repeatable_directory(path, name, problems, repeatables)
        return
    match = DIRECTORY.match(name)
    up, down = os.path.join(path, "up.sql"), os.path.join(path, "down.sql")
    isfile = os.path.isfile
    if match is None:
        problems.append(
            FileProblem(
                path,
                "not a migration directory name: expected <version>_<name>/ with the "
                "name made of letters, digits, '_' and '-'",
            )
        )
        return
    ident = (match["version"], match["name"])
    if isfile(up):
        _claim(ups, ident, up, problems)
    elif isfile(down):
        _claim(downs, ident, down, problems)
        return
    else:
        problems.append(FileProblem(path, "migration directory has no up.sql"))
        return
    if isfile(down):
        _claim(downs, ident, down, problems)


def _load(
    ups: dict[tuple[str, str], str],
    downs: dict[tuple[str, str], str],
    problems: list[FileProblem],
) -> list[Migration]:
    migrations: list[Migration] = []
    for ident, up_path in ups.items():
        version, name = ident
        try:
            up = read_sql(up_path)
            down_path = downs.get(ident)
            down = read_sql(down_path) if down_path is not None else None
        except SourceError as exc:
            problems.extend(exc.problems)
            continue
        migrations.append(Migration(version, _file_key(version), name, up, down))
    return migrations


def _check_duplicates(migrations: list[Migration], problems: list[FileProblem]) -> None:
    if len({m.key for m in migrations}) == len(migrations):
        return  # the usual case: one set instead of a list per migration
    by_key: dict[int, list[Migration]] = {}
    for m in migrations:
        by_key.setdefault(m.key, []).append(m)
    for group in by_key.values():
        if len(group) > 1:
            paths = ", ".join(sorted(m.up.path for m in group))
            for m in sorted(group, key=lambda m: m.up.path):
                problems.append(
                    FileProblem(m.up.path, f"duplicate version {m.key} (shared by {paths})")
                )


_NOT_ROLLED_BACK = ("repeatable migrations are not rolled back ('down' leaves them alone); "
                    "remove this down file")


def _claim_repeatable(
    repeatables: dict[str, str], name: str, path: str, problems: list[FileProblem]
) -> None:
    other = repeatables.get(name)
    if other is not None:
        problems.append(FileProblem(
            path, f"duplicate repeatable migration R_{name} (shared by {other}, {path}); "
            "keep one layout"))
    repeatables[name] = path


def _scan_repeatable_file(
    path: str, name: str, problems: list[FileProblem], repeatables: dict[str, str]
) -> None:
    match = REPEATABLE.match(name)
    if match is None:
        if name.endswith(".sql"):
            problems.append(FileProblem(
                path, "not a repeatable migration file name: expected R_<name>.up.sql, the "
                "name made of letters, digits, '_' and '-'"))
    elif match["direction"] == "down":
        problems.append(FileProblem(path, _NOT_ROLLED_BACK))
    else:
        _claim_repeatable(repeatables, match["name"], path, problems)


def _scan_repeatable_directory(
    path: str, name: str, problems: list[FileProblem], repeatables: dict[str, str]
) -> None:
    match = REPEATABLE_DIRECTORY.match(name)
    if match is None:
        problems.append(FileProblem(
            path, "not a repeatable migration directory name: expected R_<name>/ with the "
            "name made of letters, digits, '_' and '-'"))
        return
    up, down = os.path.join(path, "up.sql"), os.path.join(path, "down.sql")
    if os.path.lexists(down):
        problems.append(FileProblem(down, _NOT_ROLLED_BACK))
    if os.path.isfile(up):
        _claim_repeatable(repeatables, match["name"], up, problems)
    else:
        problems.append(FileProblem(path, "repeatable migration directory has no up.sql"))


def _load_repeatables(repeatables: dict[str, str], problems: list[FileProblem]) -> list[Migration]:
    loaded: list[Migration] = []
    for name in sorted(repeatables):
        try:
            up = read_sql(repeatables[name])
        except SourceError as exc:
            problems.extend(exc.problems)
            continue
        loaded.append(Migration(REPEATABLE_PREFIX + name, REPEATABLE_KEY, name, up, None))
    return loaded
