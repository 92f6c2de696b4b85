"""Safety rules in ``migrator check``: each rule fires on the danger, not on the safe form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.dba.check import check_directory

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def rules_of(tmp_path: Path, make_migrations, files: dict[str, str], dialect: str
             ) -> list[tuple[str, int]]:
    make_migrations(files)
    report = check_directory(tmp_path / "migrations", dialect=dialect)
    return [(f.rule.id, f.problem.line or 0) for f in report.findings if f.rule]


BASE = {"1_t.up.sql": "CREATE TABLE t (id bigint PRIMARY KEY, a text, b int);\n"}

PG_DANGER = [
    ("CREATE INDEX i ON t (a);", "PG001"),
    ("DROP INDEX i;", "PG002"),
    ("CREATE INDEX CONCURRENTLY i ON t (a);", "PG003"),
    ("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();", "PG004"),
    ("ALTER TABLE t ADD COLUMN s bigserial;", "PG004"),
    ("ALTER TABLE t ADD COLUMN n int NOT NULL;", "PG005"),
    ("ALTER TABLE t ALTER COLUMN b TYPE bigint;", "PG006"),
    ("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (b) REFERENCES t (id);", "PG007"),
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (b > 0);", "PG008"),
    ("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);", "PG009"),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "PG010"),
    ("ALTER TABLE t RENAME COLUMN a TO c;", "PG011"),
    ("ALTER TABLE t RENAME TO u;", "PG011"),
    ("ALTER TABLE t DROP COLUMN a;", "PG012"),
    ("DROP TABLE t;", "PG013"),
    ("ALTER TABLE t ADD COLUMN z int;", "PG014"),
    ("UPDATE t SET a = 'x';", "PG015"),
    ("DELETE FROM t;", "PG015"),
    ("ALTER TYPE mood ADD VALUE 'sad';", "PG016"),
    ("ALTER TABLE t ADD COLUMN z int;\nUPDATE t SET z = b WHERE b > 0;", "PG017"),
]

PG_SAFE = [
    "SET lock_timeout = '5s';\nALTER TABLE t ADD COLUMN z int;",
    "SET lock_timeout = '5s';\nALTER TABLE t ADD COLUMN z int NOT NULL DEFAULT 0;",
    "SET lock_timeout = '5s';\nALTER TABLE t ADD COLUMN z timestamptz DEFAULT now();",
    "SET lock_timeout = '5s';\n"
    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (b) REFERENCES t (id) NOT VALID;",
    "ALTER TABLE t VALIDATE CONSTRAINT f;",
    "SET lock_timeout = '5s';\nALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX t_a;",
    "-- migrator: no-transaction\nSET lock_timeout = '5s';\n"
    "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;"
    "\nALTER TABLE t VALIDATE CONSTRAINT c;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;",
    "UPDATE t SET a = 'x' WHERE id = 1;",
    "CREATE TABLE n (id int);\nCREATE INDEX n_id ON n (id);\n"
    "ALTER TABLE n ADD COLUMN m int NOT NULL;\nALTER TABLE n ALTER COLUMN id TYPE bigint;\n"
    "UPDATE n SET m = 1;\nDROP INDEX n_id;\n"
    "ALTER TABLE n RENAME TO n2;\nDROP TABLE n2;",
    "CREATE TABLE new_t AS SELECT * FROM t WHERE false;\n"
    "ALTER TABLE new_t ADD COLUMN x int NOT NULL;",
]


@pytest.mark.parametrize(("sql", "rule"), PG_DANGER, ids=[r for _, r in PG_DANGER])
def test_postgres_rule_fires(tmp_path: Path, make_migrations, sql: str, rule: str) -> None:
    found = rules_of(tmp_path, make_migrations, {**BASE, "2_x.up.sql": sql + "\n"}, "postgres")
    assert rule in [r for r, _ in found], found


def test_postgres_concurrently_in_a_no_transaction_file_is_fine(
    tmp_path: Path, make_migrations
) -> None:
    files = {**BASE, "2_x.up.sql": "-- migrator: no-transaction\nSET lock_timeout = '5s';\n"
             "CREATE INDEX CONCURRENTLY i ON t (a);\nDROP INDEX CONCURRENTLY j;\n"
             "ALTER TYPE mood ADD VALUE 'sad';\n"}
    assert rules_of(tmp_path, make_migrations, files, "postgres") == []


@pytest.mark.parametrize("sql", PG_SAFE)
def test_postgres_safe_forms_are_quiet(tmp_path: Path, make_migrations, sql: str) -> None:
    found = rules_of(tmp_path, make_migrations, {**BASE, "2_x.up.sql": sql + "\n"}, "postgres")
    assert found == []


def test_the_demo_set_is_quiet_on_sqlite() -> None:
    report = check_directory(ROOT / "migrations", dialect="sqlite")
    assert [f for f in report.findings if f.rule] == []


MY_DANGER = [
    ("ALTER TABLE t MODIFY COLUMN a VARCHAR(300);", "MY001"),
    ("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4;", "MY001"),
    ("ALTER TABLE t CHANGE a c TEXT, ALGORITHM=INPLACE;", "MY002"),
    ("RENAME TABLE t TO u;", "MY002"),
    ("ALTER TABLE t DROP COLUMN a;", "MY003"),
    ("DROP TABLE t;", "MY003"),
    ("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (b) REFERENCES t (id);", "MY004"),
    ("ALTER TABLE t ADD COLUMN z INT;\nCREATE INDEX tz ON t (z);", "MY005"),
]


@pytest.mark.parametrize(("sql", "rule"), MY_DANGER, ids=[r for _, r in MY_DANGER])
def test_mysql_rule_fires(tmp_path: Path, make_migrations, sql: str, rule: str) -> None:
    found = rules_of(tmp_path, make_migrations, {**BASE, "2_x.up.sql": sql + "\n"}, "mysql")
    assert rule in [r for r, _ in found], found


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD COLUMN z INT;",
    "ALTER TABLE t MODIFY a VARCHAR(300), ALGORITHM=INPLACE, LOCK=NONE;",
    "ALTER TABLE t DROP INDEX ta, ADD INDEX tb (b);",
    "CREATE TABLE n (id INT);\nALTER TABLE n MODIFY id BIGINT;\nDROP TABLE n;",
    "INSERT INTO t (a) VALUES ('DROP TABLE t; -- not SQL');",
])
def test_mysql_safe_forms_are_quiet(tmp_path: Path, make_migrations, sql: str) -> None:
    assert rules_of(tmp_path, make_migrations, {**BASE, "2_x.up.sql": sql + "\n"}, "mysql") == []


def test_sqlite_rules(tmp_path: Path, make_migrations) -> None:
    files = {
        "1_t.up.sql": "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
                      "CREATE TABLE c (id INTEGER, p INTEGER REFERENCES p (id));\n",
        "2_x.up.sql": "ALTER TABLE c ALTER COLUMN p SET NOT NULL;\n"
                      "CREATE TABLE p_new (id INTEGER PRIMARY KEY, n TEXT);\n"
                      "INSERT INTO p_new (id) SELECT id FROM p;\nDROP TABLE p;\n"
                      "ALTER TABLE p_new RENAME TO p;\nPRAGMA foreign_keys = ON;\n",
        "3_ok.up.sql": "-- migrator: foreign-keys-off\nCREATE TABLE c_new (id INTEGER);\n"
                       "INSERT INTO c_new SELECT id FROM c;\nDROP TABLE p;\n"
                       "ALTER TABLE c_new RENAME TO p;\nALTER TABLE c ADD COLUMN d TEXT;\n",
    }
    assert rules_of(tmp_path, make_migrations, files, "sqlite") == [
        ("SQ001", 1), ("SQ002", 4), ("SQ003", 6)]


def test_suppression_needs_a_known_rule_and_a_reason(tmp_path: Path, make_migrations) -> None:
    make_migrations({**BASE, "2_x.up.sql": (
        "-- migrator: allow PG014 -- lock_timeout is set in the URL\n"
        "ALTER TABLE t ADD COLUMN z int;\n"
        "-- migrator: allow PG012 -- column unused since 4.2\n"
        "ALTER TABLE t DROP COLUMN a;\n"
        "-- migrator: allow PG013\n"
        "DROP TABLE t;\n"
        "-- migrator: allow PG999 -- typo\n"
        "DELETE FROM t;\n"
    )})
    result = run(tmp_path, "check", "--dialect", "postgres", "--json")
    assert result.returncode == 2, result.stderr
    doc = json.loads(result.stdout)
    assert doc["suppressed"] == 2
    problems = [(p.get("rule"), p["line"]) for p in doc["problems"] if p["line"]]
    assert problems == [(None, 5), ("PG013", 6), (None, 7), ("PG017", 8), ("PG015", 8)]
    messages = {p["line"]: p["message"] for p in doc["problems"] if p["line"]}
    assert "gives no reason" in messages[5] and "unknown postgres rule(s) PG999" in messages[7]


def test_a_suppressed_file_still_runs(tmp_path: Path, make_migrations) -> None:
    make_migrations({**BASE, "2_x.up.sql": "CREATE TABLE u (id int);\n"
                     "-- migrator: allow SQ003 -- on purpose\nPRAGMA foreign_keys = ON;\n"})
    assert run(tmp_path, "-u", "sqlite:///a.db", "up").returncode == 0


def test_formats_text_github_sarif(tmp_path: Path, make_migrations) -> None:
    make_migrations({**BASE, "1_t.down.sql": "DROP TABLE t;\n",
                     "2_x.up.sql": "SET lock_timeout = '1s';\nALTER TABLE t DROP COLUMN a;\n",
                     "2_x.down.sql": "ALTER TABLE t ADD COLUMN a text;\n"})
    text = run(tmp_path, "check", "--dialect", "postgres")
    assert text.returncode == 0, text.stderr
    assert text.stdout == "migrations/2_x.up.sql:2:13: warning PG012 dropping a column: t.a\n"
    github = run(tmp_path, "check", "--dialect", "postgres", "--format", "github")
    assert github.stdout.startswith(
        "::warning file=migrations/2_x.up.sql,line=2,col=13,title=PG012::dropping a column")
    sarif = json.loads(run(tmp_path, "check", "--dialect", "postgres", "--format",
                           "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "PG012" and result["level"] == "warning"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 2,
                                                                     "startColumn": 13}
    assert "PG012" in [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert run(tmp_path, "check", "--dialect", "postgres", "--strict").returncode == 2


def test_pending_lints_only_what_is_not_applied(tmp_path: Path, make_migrations) -> None:
    make_migrations({"1_t.up.sql": "CREATE TABLE t (a TEXT);\n",
                     "2_x.up.sql": "CREATE TABLE c (p TEXT REFERENCES t (a));\n"})
    assert run(tmp_path, "-u", "sqlite:///a.db", "up").returncode == 0
    make_migrations({"3_y.up.sql": "CREATE TABLE n (id INTEGER);\nALTER TABLE n ADD UNIQUE (id);\n"
                                   "ALTER TABLE t ADD CONSTRAINT k CHECK (a > '');\n"})
    result = run(tmp_path, "-u", "sqlite:///a.db", "check", "--pending", "--json")
    doc = json.loads(result.stdout)
    assert {p["file"] for p in doc["problems"]} == {"migrations/3_y.up.sql"}
    assert [p["rule"] for p in doc["problems"] if p.get("rule")] == ["SQ001", "SQ001"]


def test_since_lints_changed_files_and_refuses_outside_git(
    tmp_path: Path, make_migrations
) -> None:
    outside = run(tmp_path, "check", "--since", "HEAD")
    assert outside.returncode == 2 and "git repository" in outside.stderr
    assert "Traceback" not in outside.stderr
    make_migrations({"1_t.up.sql": "CREATE TABLE t (a TEXT);\nALTER TABLE t ADD UNIQUE (a);\n"})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"]):
        subprocess.run([*git, *args], cwd=tmp_path, check=True, capture_output=True)
    make_migrations({"2_x.up.sql": "ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"})
    doc = json.loads(run(tmp_path, "check", "--since", "HEAD", "--json").stdout)
    assert {p["file"] for p in doc["problems"]} == {"migrations/2_x.up.sql"}
    bad = run(tmp_path, "check", "--since", "no-such-ref")
    assert bad.returncode == 2 and "no such commit" in bad.stderr


def test_lock_timeout_in_the_url_counts(tmp_path: Path, make_migrations) -> None:
    make_migrations({**BASE, "2_x.up.sql": "ALTER TABLE t ADD COLUMN z int;\n"})
    with_param = check_directory(tmp_path / "migrations",
                                 url="postgres://u@h/db?lock_timeout=5s")
    assert [f for f in with_param.findings if f.rule] == []
    without = check_directory(tmp_path / "migrations", url="postgres://u@h/db")
    assert [f.rule.id for f in without.findings if f.rule] == ["PG014"]


SQLITE_SCHEMA = ("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE, name TEXT, "
                 "note TEXT);\n"
                 "CREATE TABLE c (id INTEGER, p_id INTEGER REFERENCES p (id), tag TEXT);\n"
                 "CREATE TABLE f (id INTEGER, p_id INTEGER, "
                 "FOREIGN KEY (p_id) REFERENCES p (id));\n"
                 "CREATE INDEX p_name ON p (name);\n"
                 "INSERT INTO p VALUES (1, 'a', 'n', 'x');\n")
SQLITE_ALTERS = [
    ("ALTER TABLE p ADD COLUMN z TEXT UNIQUE;", True),
    ("ALTER TABLE p ADD COLUMN z TEXT DEFAULT CURRENT_TIMESTAMP;", True),
    ("ALTER TABLE p ADD COLUMN z INTEGER NOT NULL;", True),
    ("ALTER TABLE p ADD COLUMN z INTEGER AS (id * 2) STORED;", True),
    ("ALTER TABLE p ADD CONSTRAINT k CHECK (id > 0);", True),
    ("ALTER TABLE p DROP COLUMN code;", True),
    ("ALTER TABLE p DROP COLUMN name;", True),
    ("ALTER TABLE f DROP COLUMN p_id;", True),
    ("ALTER TABLE p ADD COLUMN z INTEGER NOT NULL DEFAULT 0;", False),
    ("ALTER TABLE p ADD COLUMN z INTEGER AS (id * 2) VIRTUAL;", False),
    ("ALTER TABLE p ADD COLUMN z TEXT DEFAULT 'CURRENT_TIMESTAMP';", False),
    ("ALTER TABLE p DROP COLUMN note;", False),
    ("ALTER TABLE c DROP COLUMN tag;", False),
    ("ALTER TABLE c DROP COLUMN p_id;", False),  # a column-level REFERENCES does not pin it
    ("ALTER TABLE p RENAME COLUMN name TO title;", False),
]


@pytest.mark.parametrize(("sql", "refused"), SQLITE_ALTERS, ids=[s for s, _ in SQLITE_ALTERS])
def test_sqlite_sq001_matches_what_sqlite_refuses(
    tmp_path: Path, make_migrations, sql: str, refused: bool
) -> None:
    import sqlite3  # the real SQLite decides, not the rule

    found = rules_of(tmp_path, make_migrations,
                     {"1_s.up.sql": SQLITE_SCHEMA, "2_x.up.sql": sql + "\n"}, "sqlite")
    assert ("SQ001" in [r for r, _ in found]) is refused, found
    db = sqlite3.connect(tmp_path / "real.db")
    db.executescript(SQLITE_SCHEMA)
    if refused:
        with pytest.raises(sqlite3.OperationalError):
            db.execute(sql)
    else:
        db.execute(sql)
    db.close()


WIDE = {"1_w.up.sql": "CREATE TABLE w (v varchar(10), n numeric(8, 2), i int, s text);\n"}


@pytest.mark.parametrize(("change", "rewrites"), [
    ("v TYPE varchar(20)", False), ("v TYPE text", False), ("v TYPE varchar", False),
    ("s TYPE varchar", False), ("n TYPE numeric(10, 2)", False), ("n TYPE numeric", False),
    ("v TYPE varchar(5)", True), ("s TYPE varchar(20)", True), ("i TYPE bigint", True),
    ("n TYPE numeric(10, 3)", True), ("v TYPE varchar(20) USING v || ''", True),
])
def test_postgres_type_change_knows_the_declared_type(
    tmp_path: Path, make_migrations, change: str, rewrites: bool
) -> None:
    sql = f"SET lock_timeout = '1s';\nALTER TABLE w ALTER COLUMN {change};\n"
    found = rules_of(tmp_path, make_migrations, {**WIDE, "2_x.up.sql": sql}, "postgres")
    assert ("PG006" in [r for r, _ in found]) is rewrites, found


@pytest.mark.parametrize(("sql", "rule"), [
    ("REINDEX TABLE CONCURRENTLY t;", "PG003"),
    ("ALTER TABLE t DETACH PARTITION p CONCURRENTLY;", "PG003"),
    ("ALTER TABLE t ADD COLUMN u int REFERENCES t (id);", "PG007"),
    ("ALTER TABLE t ADD CONSTRAINT e EXCLUDE USING gist (a WITH =);", "PG009"),
])
def test_postgres_more_forms(tmp_path: Path, make_migrations, sql: str, rule: str) -> None:
    found = rules_of(tmp_path, make_migrations, {**BASE, "2_x.up.sql": sql + "\n"}, "postgres")
    assert rule in [r for r, _ in found], found


@pytest.mark.parametrize(("sql", "rule", "online"), [
    ("REINDEX TABLE t;", "PG018", "REINDEX TABLE CONCURRENTLY t;"),
    ("REINDEX INDEX t_pkey;", "PG018", "REINDEX INDEX CONCURRENTLY t_pkey;"),
    ("ALTER TABLE t DETACH PARTITION p;", "PG019",
     "ALTER TABLE t DETACH PARTITION p CONCURRENTLY;"),
])
def test_postgres_reindex_and_detach_without_concurrently(
    tmp_path: Path, make_migrations, sql: str, rule: str, online: str
) -> None:
    found = rules_of(tmp_path, make_migrations, {**BASE, "2_x.up.sql": sql + "\n"}, "postgres")
    assert rule in [r for r, _ in found], found
    (tmp_path / "migrations" / "2_x.up.sql").write_text(
        f"-- migrator: no-transaction\nSET lock_timeout = '1s';\n{online}\n")
    report = check_directory(tmp_path / "migrations", dialect="postgres")
    assert [f.rule.id for f in report.findings if f.rule] == []


def test_every_rule_is_documented_in_the_readme() -> None:
    from migrator.backends import dialects
    from migrator.lint.registry import rules_for

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Safety rules"):readme.index("## DBA commands")]
    ids = []
    for info in dialects():
        found = rules_for(info)
        for rule in found.rules if found else ():
            ids.append(rule.id)
            assert f"| `{rule.id}` | {rule.dialect} | {rule.severity} | {rule.message} |" in section
    assert len(ids) == len(set(ids)) >= 25


def test_a_suppression_that_silences_nothing_warns(tmp_path: Path, make_migrations) -> None:
    make_migrations({**BASE, "2_x.up.sql": (
        "-- migrator: allow PG013 -- no table is dropped here\n"
        "SET lock_timeout = '1s';\n"
        "-- migrator: allow PG012 -- above the wrong statement\n"
        "ALTER TABLE t ADD COLUMN z int;\n"
        "ALTER TABLE t DROP COLUMN a;\n"
    )})
    report = check_directory(tmp_path / "migrations", dialect="postgres")
    found = [(f.rule.id if f.rule else None, f.problem.line, f.severity) for f in report.findings
             if f.problem.line]
    assert found == [(None, 1, "warning"), (None, 3, "warning"), ("PG012", 5, "warning")]
    messages = [f.problem.message for f in report.findings if f.problem.line in (1, 3)]
    assert "silences nothing in this file" in messages[0]
    assert "silences nothing in the next statement" in messages[1]


def test_pending_still_learns_the_schema_from_applied_files(
    tmp_path: Path, make_migrations
) -> None:
    make_migrations({"1_p.up.sql": "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE, "
                                   "note TEXT);\n"})
    assert run(tmp_path, "-u", "sqlite:///a.db", "up").returncode == 0
    make_migrations({"2_x.up.sql": "ALTER TABLE p DROP COLUMN code;\n"
                                   "ALTER TABLE p DROP COLUMN note;\n"})
    doc = json.loads(run(tmp_path, "-u", "sqlite:///a.db", "check", "--pending", "--json").stdout)
    assert [(p["rule"], p["line"]) for p in doc["problems"] if p.get("rule")] == [("SQ001", 1)]
    assert doc["errors"] == 1


def test_set_not_null_after_a_validated_check_in_separate_migrations(
    tmp_path: Path, make_migrations
) -> None:
    steps = {
        "2_check.up.sql": "SET lock_timeout = '1s';\n"
                          "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;\n",
        "3_validate.up.sql": "ALTER TABLE t VALIDATE CONSTRAINT a_nn;\n",
        "4_set.up.sql": "SET lock_timeout = '1s';\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"
                        "ALTER TABLE t ALTER COLUMN b SET NOT NULL;\n",
    }
    found = rules_of(tmp_path, make_migrations, {**BASE, **steps}, "postgres")
    assert found == [("PG010", 3)]  # b has no validated check
    one_file = "".join(steps.values())
    (tmp_path / "migrations" / "2_check.up.sql").write_text(one_file)
    for name in ("3_validate.up.sql", "4_set.up.sql"):
        (tmp_path / "migrations" / name).unlink()
    report = check_directory(tmp_path / "migrations", dialect="postgres")
    assert "PG020" in [f.rule.id for f in report.findings if f.rule]
