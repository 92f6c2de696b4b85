"""Generated migration directories for the whole-pipeline fuzz tests.

A generated directory is a list of migrations whose expected effect is known:
each one's objects carry its own prefix (``m3_...``), so after any run the
database can be checked against the bookkeeping table without replaying
anything. Valid files come from a small SQL grammar (tables, inserts with
tricky literals, indexes, views, triggers with BEGIN..END and CASE, ALTER,
DROP) with comments and odd line endings between tokens; some files are then
corrupted (bad bytes, NUL, unterminated quote or comment, bad names...) so the
run must refuse before touching the database, or fail at run time so the
database must stop at a migration boundary.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

# --------------------------------------------------------------------------- oracle

_ORACLE_LEAD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|;)*", re.DOTALL)


def oracle(text: str) -> list[str]:
    """Cut at every ';' where SQLite's tokenizer says the buffer is complete."""
    pieces: list[str] = []
    start = 0
    pos = text.find(";")
    while pos >= 0:
        if sqlite3.complete_statement(text[start : pos + 1]):
            pieces.append(text[start : pos + 1])
            start = pos + 1
        pos = text.find(";", pos + 1)
    pieces.append(text[start:])
    bodies = []
    for piece in pieces:
        lead = _ORACLE_LEAD.match(piece)
        assert lead is not None
        body = piece[lead.end() :].rstrip()
        if body:
            bodies.append(body)
    return bodies


# --------------------------------------------------------------------------- model

VALID = "valid"  # applies cleanly
FAILS = "fails"  # valid files, but a statement fails at run time (exit 1)
MAYBE = "maybe"  # valid files that SQLite may or may not accept (limits)
INVALID = "invalid"  # the directory must be refused before anything runs (exit 2)


@dataclass
class GenMigration:
    index: int
    key: int
    version: str
    name: str
    layout: str  # pair | dir
    up: bytes
    down: bytes | None
    outcome: str  # VALID | FAILS | MAYBE | INVALID
    objects: dict[str, str] = field(default_factory=dict)  # name -> type, after up
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows after up
    oracle_text: str | None = None  # decoded up text when the SQL oracle applies
    no_transaction: bool = False

    @property
    def prefix(self) -> str:
        return f"m{self.index}_"


@dataclass
class GenDir:
    migrations: list[GenMigration]
    extras: dict[str, bytes]  # relative path -> content, ignored or invalid
    extras_invalid: bool  # an extra entry makes the directory invalid

    @property
    def invalid(self) -> bool:
        return self.extras_invalid or any(m.outcome == INVALID for m in self.migrations)

    def write(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        for m in self.migrations:
            if m.layout == "pair":
                (root / f"{m.version}_{m.name}.up.sql").write_bytes(m.up)
                if m.down is not None:
                    (root / f"{m.version}_{m.name}.down.sql").write_bytes(m.down)
            else:
                d = root / f"{m.version}_{m.name}"
                d.mkdir()
                (d / "up.sql").write_bytes(m.up)
                if m.down is not None:
                    (d / "down.sql").write_bytes(m.down)
        for rel, content in self.extras.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


# --------------------------------------------------------------------------- grammar

_LIT_PARTS = [
    "x", ";", "''", "--", "/*", "*/", "BEGIN", "END", "END;", "CASE", " ", "\n", "\r\n",
    "\r", '"', "`", "[", "]", "é", "\u2028", "😀", "\\", "$$", "\t", "; END; --",
]
_SEPS = [" ", " ", " ", "\n", "  ", "\t", " /* c;m END; */ ", " /**/ ", "\n-- x;y BEGIN\n",
         " -- ;\n", "\n\n"]


@st.composite
def literal(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(_LIT_PARTS), max_size=8))
    return "'" + "".join(parts).replace("'", "''") + "'"


@st.composite
def quoted(draw: st.DrawFn, name: str) -> str:
    style = draw(st.sampled_from(["plain", "plain", "dq", "br", "bt"]))
    return {"plain": name, "dq": f'"{name}"', "br": f"[{name}]", "bt": f"`{name}`"}[style]


@st.composite
def parens(draw: st.DrawFn, inner: str, deep: bool = False) -> str:
    depth = draw(st.integers(0, 40)) if not deep else draw(st.integers(200, 3000))
    return "(" * depth + inner + ")" * depth


class _Text:
    """Statements joined with generated separators; '\n' is the only newline here."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.parts: list[str] = []

    def sep(self) -> str:
        return self.draw(st.sampled_from(_SEPS))

    def stmt(self, *tokens: str) -> None:
        out = [tokens[0]]
        for tok in tokens[1:]:
            out.append(self.sep() if self.draw(st.integers(0, 3)) == 0 else " ")
            out.append(tok)
        self.parts.append("".join(out) + ";")


@st.composite
def valid_sql(draw: st.DrawFn, p: str) -> tuple[str, str, dict[str, str], dict[str, int]]:
    """(up text, down text, objects, rows) for migration prefix ``p``, '\n' newlines."""
    t = _Text(draw)
    objects: dict[str, str] = {}
    rows: dict[str, int] = {}
    drops: list[tuple[str, str]] = []
    ntables = draw(st.integers(1, 3))
    for k in range(ntables):
        name = f"{p}t{k}"
        check = draw(parens("c2 >= -1"))
        t.stmt("CREATE TABLE", draw(st.sampled_from(["", "IF NOT EXISTS"])),
               draw(quoted(name)),
               f"(id INTEGER PRIMARY KEY, c1 TEXT DEFAULT {draw(literal())},",
               f"c2 INTEGER CHECK ({check}))")
        objects[name] = "table"
        rows[name] = 0
        drops.append(("TABLE", name))
        for _ in range(draw(st.integers(0, 2))):
            values = draw(st.lists(st.tuples(literal(), st.integers(0, 99)), min_size=1,
                                   max_size=4))
            t.stmt("INSERT INTO", draw(quoted(name)), "(c1, c2) VALUES",
                   ", ".join(f"({lit}, {n})" for lit, n in values))
            rows[name] += len(values)
        if draw(st.booleans()):
            t.stmt("ALTER TABLE", draw(quoted(name)), "ADD COLUMN",
                   f"c3 TEXT DEFAULT {draw(literal())}")
    base = f"{p}t0"
    if draw(st.booleans()):
        t.stmt("CREATE INDEX", draw(quoted(f"{p}ix")), "ON", draw(quoted(base)), "(c1, c2)")
        objects[f"{p}ix"] = "index"
    if draw(st.booleans()):
        t.stmt("CREATE VIEW", draw(quoted(f"{p}v")), "AS SELECT", "CASE WHEN c2 > 1 THEN",
               draw(literal()), "ELSE", draw(literal()), "END AS k FROM", draw(quoted(base)))
        objects[f"{p}v"] = "view"
        drops.append(("VIEW", f"{p}v"))
    if draw(st.booleans()):
        body_sep = draw(st.sampled_from(["\n  ", " ", " -- ; END;\n  ", " /* END; */ "]))
        body = body_sep.join(
            [
                f"UPDATE {base} SET c1 = CASE WHEN new.c2 > 0 THEN {draw(literal())} "
                f"ELSE {draw(literal())} END WHERE id = new.id;",
                f"SELECT CASE new.c2 WHEN 1 THEN {draw(literal())} END;",
            ][: draw(st.integers(1, 2))]
        )
        t.stmt("CREATE TRIGGER", draw(quoted(f"{p}tr")), "AFTER UPDATE OF c2 ON",
               draw(quoted(base)), "BEGIN", body_sep + body, "END")
        objects[f"{p}tr"] = "trigger"
        drops.append(("TRIGGER", f"{p}tr"))
    if draw(st.booleans()):
        t.stmt("CREATE TABLE", f"{p}tmp", "(x)")
        t.stmt("DROP TABLE", draw(quoted(f"{p}tmp")))
    if draw(st.booleans()):
        t.stmt("SELECT", draw(parens("1 + 2")), "AS", "[a;b]")
    comment_lead = draw(st.sampled_from(["", "-- header; BEGIN\n", "/* a\n;b */\n", "\n\n"]))
    tail = draw(st.sampled_from(["", "\n", "\n-- end;", "\n/* trailing */", " ;; ", "\n;\n"]))
    up = comment_lead + t.sep().join(t.parts) + tail
    down = "\n".join(f"DROP {kind} IF EXISTS \"{name}\";" for kind, name in reversed(drops))
    return up, down, objects, rows


def _newlines(draw: st.DrawFn, text: str, style: str) -> str:
    """Re-end lines; a lone CR may not end a '--' comment, whose end SQLite finds at LF."""
    if style == "lf":
        return text
    if style == "crlf":
        return text.replace("\n", "\r\n")
    out = []
    for line in text.split("\n")[:-1]:
        choice = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        if choice == "\r" and "--" in line:
            choice = "\n"
        out.append(line + choice)
    out.append(text.split("\n")[-1])
    return "".join(out)


# --------------------------------------------------------------------------- corruption

_NEEDS_SQL = ("commit", "vacuum", "late_directive")  # harmless in a no-transaction file
CORRUPTIONS = [
    "bad_utf8", "nul", "unterminated_quote", "unterminated_comment", "unterminated_ident",
    "open_trigger", "commit", "vacuum", "unknown_directive", "late_directive",
    "bad_name", "dup_version", "orphan_down", "empty_dir", "cr_comment",
]


@st.composite
def _corrupt(draw: st.DrawFn, up: str) -> tuple[bytes | None, str]:
    """Bytes of a broken up file, or None for a corruption of the name or layout."""
    kind = draw(st.sampled_from(CORRUPTIONS))
    raw = up.encode()
    at = draw(st.integers(0, len(raw)))
    if kind == "bad_utf8":
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80"]))
        # never split a multi-byte character: put the bad byte at a line start
        cut = raw.rfind(b"\n", 0, at) + 1
        return raw[:cut] + bad + raw[cut:], kind
    if kind == "nul":
        cut = raw.rfind(b"\n", 0, at) + 1
        return raw[:cut] + b"\0" + raw[cut:], kind
    tails = {
        "unterminated_quote": "\nINSERT INTO nowhere VALUES ('it''s; never closed);\n",
        "unterminated_comment": "\n/* never closed; END;\n",
        "unterminated_ident": '\nCREATE TABLE "never closed;\n',
        "open_trigger": "\nCREATE TRIGGER nope AFTER INSERT ON nothing BEGIN SELECT 1;\n",
        "commit": "\nCOMMIT;\n",
        "vacuum": "\nVACUUM;\n",
        "late_directive": "\n-- migrator: no-transaction\n",
    }
    if kind in tails:
        return (up + tails[kind]).encode(), kind
    if kind == "cr_comment":  # SQLite would read the rest as comment
        return ("-- note\rSELECT 1;\n" + up).encode(), kind
    if kind == "unknown_directive":
        return ("-- migrator: no-transactions\n" + up).encode(), kind
    return None, kind


# --------------------------------------------------------------------------- directory

_NAME = st.text(st.sampled_from("abcXYZ019_-é"), min_size=1, max_size=12)


def _format_version(key: int, style: str, draw: st.DrawFn) -> str:
    if style == "timestamp":
        return f"{key:014d}"
    if style == "diesel":
        s = f"{key:014d}"
        return f"{s[:4]}-{s[4:6]}-{s[6:8]}-{s[8:]}"
    return "0" * draw(st.integers(0, 3)) + str(key)


@st.composite
def migration_dirs(draw: st.DrawFn, max_migrations: int = 5,
                   corrupt: bool = True, failures: bool = True) -> GenDir:
    count = draw(st.integers(1, max_migrations))
    style = draw(st.sampled_from(["timestamp", "diesel", "short", "mixed"]))
    if style == "short":
        keys = sorted(draw(st.sets(st.integers(1, 999), min_size=count, max_size=count)))
    else:
        base = 20261124093000
        keys = sorted(base + k for k in draw(st.sets(st.integers(0, 10**6), min_size=count,
                                                     max_size=count)))
    migrations: list[GenMigration] = []
    extras: dict[str, bytes] = {}
    extras_invalid = False
    corrupt_at = draw(st.integers(0, count * 3)) if corrupt else count + 1
    fail_at = draw(st.integers(0, count * 2)) if failures else count + 1
    for i, key in enumerate(keys):
        vstyle = style if style != "mixed" else draw(st.sampled_from(["timestamp", "diesel"]))
        version = _format_version(key, vstyle, draw)
        name = draw(_NAME)
        layout = draw(st.sampled_from(["pair", "dir"]))
        kind = draw(st.sampled_from(["sql", "sql", "sql", "sql", "empty", "comments",
                                     "no_tx", "fk_off", "deep", "long"]))
        outcome = VALID
        objects: dict[str, str] = {}
        rows: dict[str, int] = {}
        p = f"m{i}_"
        down: str | None = None
        if kind == "empty":
            up = draw(st.sampled_from(["", "\n", "   \n\t"]))
            down = ""
        elif kind == "comments":
            up = draw(st.sampled_from(["-- nothing here;\n", "/* ; */", "-- a\n-- b;\n;\n",
                                       ";;\n;"]))
            down = "-- nothing"
        elif kind == "no_tx":
            up = f"-- migrator: no-transaction\nCREATE TABLE {p}t0(x);\nVACUUM;\n"
            down = f"DROP TABLE {p}t0;"
            objects = {f"{p}t0": "table"}
            rows = {f"{p}t0": 0}
        elif kind == "fk_off":
            up = (f"-- migrator: foreign-keys-off\nCREATE TABLE {p}t0(id INTEGER PRIMARY KEY,"
                  f" parent REFERENCES {p}t0(id));\nINSERT INTO {p}t0 VALUES (1, NULL), (2, 1);")
            down = f"DROP TABLE {p}t0;"
            objects = {f"{p}t0": "table"}
            rows = {f"{p}t0": 2}
        elif kind == "deep":
            up = f"CREATE TABLE {p}t0(x);\nSELECT {draw(parens('1', deep=True))};\n"
            down = f"DROP TABLE {p}t0;"
            objects = {f"{p}t0": "table"}
            rows = {f"{p}t0": 0}
            outcome = MAYBE  # SQLite's parser stack or expression depth limit
        elif kind == "long":
            width = draw(st.integers(10_000, 200_000))  # few ';': the oracle is quadratic
            wide = ("x" * 999 + ";") * (width // 1000)
            up = (f"CREATE TABLE {p}t0(x);\nINSERT INTO {p}t0 VALUES ('{wide}');"
                  f" -- {'-' * 100}\n")
            down = f"DROP TABLE {p}t0;"
            objects = {f"{p}t0": "table"}
            rows = {f"{p}t0": 1}
        else:
            up, down, objects, rows = draw(valid_sql(p))
        if i == fail_at // 2 and fail_at % 2 == 0 and kind not in ("no_tx", "fk_off"):
            where = draw(st.sampled_from(["start", "end"]))
            bad = f"INSERT INTO {p}missing VALUES (1);"
            up = (bad + "\n" + up) if where == "start" else (up + "\n" + bad)
            outcome = FAILS
        nl_style = draw(st.sampled_from(["lf", "lf", "crlf", "mixed"]))
        up_text = _newlines(draw, up, nl_style)
        bom = draw(st.integers(0, 5)) == 0
        up_bytes = ("\ufeff" if bom else "").encode() + up_text.encode()
        down_bytes = (None if draw(st.integers(0, 6)) == 0
                      else _newlines(draw, down, nl_style).encode())
        oracle_text: str | None = up_text
        if i == corrupt_at // 3 and corrupt_at % 3 == 0:
            broken, ckind = draw(_corrupt(up_text))
            if kind in ("no_tx", "empty", "comments") and ckind in _NEEDS_SQL:
                broken, ckind = (up_text + "\n/* never closed").encode(), "unterminated_comment"
            outcome = INVALID
            oracle_text = None
            if broken is not None:
                up_bytes = broken
            elif ckind == "bad_name":
                name = draw(st.sampled_from(["bad name", "x.y", "a+b", "a$b"]))
            elif ckind == "dup_version":
                extras[f"{version}_dup.up.sql"] = b"SELECT 1;"
            elif ckind == "orphan_down":
                extras[f"{version}9_orphan.down.sql"] = b"SELECT 1;"
            elif ckind == "empty_dir":
                extras[f"{version}9_nothing/README.md"] = b"x"
        migrations.append(GenMigration(i, key, version, name, layout, up_bytes, down_bytes,
                                       outcome, objects, rows, oracle_text, kind == "no_tx"))
    # Entries that are not migrations and must be ignored.
    for rel in draw(st.lists(st.sampled_from(["README.md", ".gitkeep", "notes.txt",
                                              "seed.sql", ".hidden/1_x.up.sql",
                                              "docs/readme.md"]), max_size=3, unique=True)):
        extras[rel] = b"\xff not sql; \0"
    return GenDir(migrations, extras, extras_invalid)


# --------------------------------------------------------------------------- checking

def db_objects(db: Path) -> dict[str, str]:
    if not db.exists():
        return {}
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT name, type FROM sqlite_master "
                                 "WHERE name NOT LIKE 'sqlite_%'").fetchall())
    finally:
        conn.close()


def applied_versions(db: Path) -> list[str]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        have = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'")
        if have.fetchone() is None:
            return []
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()


def check_boundary(gen: GenDir, db: Path) -> list[GenMigration]:
    """Assert the database is at a migration boundary; returns the applied migrations."""
    applied = set(applied_versions(db))
    objects = db_objects(db)
    known = {m.version for m in gen.migrations}
    assert applied <= known, f"unknown versions recorded: {applied - known}"
    done = [m for m in gen.migrations if m.version in applied]
    conn = sqlite3.connect(db) if db.exists() else None
    try:
        for m in gen.migrations:
            mine = {n: t for n, t in objects.items() if n.startswith(m.prefix)}
            if m.version in applied:
                assert mine == m.objects, f"{m.version}: objects {mine} != {m.objects}"
                for table, count in m.rows.items():
                    assert conn is not None
                    got = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    assert got == count, f"{table}: {got} rows, expected {count}"
            else:
                assert not mine, f"{m.version} not applied but has {mine}"
        stray = {n for n in objects if not re.match(r"m\d+_", n)} - {"schema_migrations"}
        assert not stray, f"objects of no migration: {stray}"
    finally:
        if conn is not None:
            conn.close()
    return done
