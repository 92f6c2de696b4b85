"""The MySQL/MariaDB splitter against the golden cases and the real mariadb client.

Each corpus file is run twice on the real server, by the ``mariadb`` client and
statement by statement through migrator's splitter, and both runs must leave the
same rows behind after the same number of statements.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import tracemalloc
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from golden_cases import CASES, GoldenCase
from serverkit import Server, run_cli
from test_my_catalog import FILES as CATALOG_FILES
from test_my_catalog import MakeMigrations
from test_server_dba_test import MY_REVERSIBLE

from migrator.backends.mysql.backend import MysqlBackend
from migrator.backends.mysql.split import _cut, split, statement_bounds
from migrator.source import decode
from migrator.splitting import SplitError

MYSQL_CASES = [c for c in CASES if "mysql" in c.dialect or c.dialect == "any"]
CLIENT = shutil.which("mariadb") or shutil.which("mysql")


@pytest.mark.parametrize("case", MYSQL_CASES, ids=lambda c: c.id)
def test_golden_cases(case: GoldenCase) -> None:
    text = decode(case.sql.encode(), "case.sql")
    stmts = list(split(text))
    assert [s.sql for s in stmts] == [e.removesuffix(";").rstrip() for e in case.expected]
    for number, stmt in enumerate(stmts, start=1):
        assert stmt.index == number
        assert text[stmt.offset : stmt.offset + len(stmt.sql)] == stmt.sql
        assert stmt.line == text.count("\n", 0, stmt.offset) + 1
    assert list(statement_bounds(text)) == [(s.offset, s.offset + len(s.sql), s.line)
                                            for s in stmts]


@pytest.mark.parametrize("text, expected", [
    ("SELECT 1;;\n;  -- c\n# d\n/* e; */", ["SELECT 1"]),
    ("/*!40101 SET NAMES utf8mb4 */;\nSELECT 1", ["/*!40101 SET NAMES utf8mb4 */", "SELECT 1"]),
    ("/*M!100100 SET @x = 'a;b' */;", ["/*M!100100 SET @x = 'a;b' */"]),
    ("SELECT /*+ hint; */ 1;", ["SELECT /*+ hint; */ 1"]),
    ("SELECT 1 --x\n;", ["SELECT 1 --x"]),
    ("SELECT 1 --;\n", ["SELECT 1 --"]),
    ("SELECT 1 -- ;\n, 2;", ["SELECT 1 -- ;\n, 2"]),
    ("SELECT 1 --\t;\n, 2;", ["SELECT 1 --\t;\n, 2"]),
    ("SELECT 'it''s;', 'a\\';b', \"q\"\";\", `c;``d`;", [
        "SELECT 'it''s;', 'a\\';b', \"q\"\";\", `c;``d`"]),
    ("SELECT 1\nDELIMITER //\n;", ["SELECT 1\nDELIMITER //"]),
    ("SELECT 1; DELIMITER //\nSELECT 2;", ["SELECT 1", "DELIMITER //\nSELECT 2"]),
    ("-- lead\n  dElImItEr $$ -- rest ignored\nSELECT 1$$\nDELIMITER ;\nSELECT 2;",
     ["SELECT 1", "SELECT 2"]),
    ("DELIMITER ;;\nSELECT 1;;\nDELIMITER ;\nSELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("CREATE PROCEDURE p() RETURN 1;\nSELECT 1;", ["CREATE PROCEDURE p() RETURN 1", "SELECT 1"]),
    ("CREATE DEFINER = 'a'@'%' FUNCTION f() RETURNS INT BEGIN\n RETURN CASE WHEN 1 THEN 2 "
     "END; END;\nSELECT 1;", ["CREATE DEFINER = 'a'@'%' FUNCTION f() RETURNS INT BEGIN\n "
                              "RETURN CASE WHEN 1 THEN 2 END; END", "SELECT 1"]),
    ("CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n SET NEW.end = 1; "
     "SET @begin = 2; CASE WHEN 1 THEN SET NEW.x = 1; END CASE;\nEND;\nSELECT 1;",
     ["CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n SET NEW.end = 1; "
      "SET @begin = 2; CASE WHEN 1 THEN SET NEW.x = 1; END CASE;\nEND", "SELECT 1"]),
    ("lbl: BEGIN NOT ATOMIC\n DECLARE x INT; SET x = 1;\nEND lbl;\nSELECT 1;",
     ["lbl: BEGIN NOT ATOMIC\n DECLARE x INT; SET x = 1;\nEND lbl", "SELECT 1"]),
    ("ALTER EVENT e DO BEGIN\n  DELETE FROM t; DELETE FROM u;\nEND;\nSELECT 1;",
     ["ALTER EVENT e DO BEGIN\n  DELETE FROM t; DELETE FROM u;\nEND", "SELECT 1"]),
    ("CREATE TABLE ev (id INT, begin TEXT, end TEXT);\nSELECT 1;",
     ["CREATE TABLE ev (id INT, begin TEXT, end TEXT)", "SELECT 1"]),
], ids=lambda v: repr(v)[:40] if isinstance(v, str) else "")
def test_client_rules(text: str, expected: list[str]) -> None:
    assert [s.sql for s in split(text)] == expected


@pytest.mark.parametrize("text, line, words", [
    ("SELECT 1;\nSELECT 'abc;\n", 2, "unterminated quoted string ('…')"),
    ("SELECT 1;\n\nSELECT \"a\\\";\n", 3, 'unterminated quoted string ("…")'),
    ("SELECT `a;\n", 1, "unterminated quoted name"),
    ("SELECT 1;\n/* never closed;\nSELECT 2;", 2, "unterminated /* comment"),
    ("SELECT 1 /*!50100 , 2\n", 1, "unterminated /*! comment"),
    ("SELECT 1 /*!50100 , 'x;y'\n; */;", 2, "inside the executable comment opened on line 1"),
    ("DELIMITER //\nSELECT 1 /*! , 2 // */ //", 2, "inside the executable comment"),
    ("SELECT 1;\nDELIMITER\nSELECT 2;", 2, "DELIMITER must be followed by the new delimiter"),
    ("DELIMITER \\\\\n", 1, "cannot contain a backslash"),
    ("SELECT 1;\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n", 2,
     "BEGIN has no matching END before the end of the file; put DELIMITER lines"),
])
def test_errors_name_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(SplitError) as caught:
        list(split(text))
    assert caught.value.line == line
    assert words in caught.value.message


def test_cut_starts_with_the_delimiter_given() -> None:
    text = "SELECT 1;\nSELECT 2 //\nSELECT 3"
    assert [(s.index, s.line, s.sql) for s in _cut(text, "//")] == [
        (1, 1, "SELECT 1;\nSELECT 2"), (2, 3, "SELECT 3")]


@pytest.mark.slow
def test_a_50_mb_statement_splits_in_linear_time_and_memory() -> None:
    text = "INSERT INTO t VALUES " + ",".join(
        f"({i}, 'a\\'b;c', \"d\"\";e\", `f;`)" for i in range(1_500_000)) + ";\nSELECT 1;"
    assert len(text) > 50_000_000
    tracemalloc.start()
    try:
        bounds = list(statement_bounds(text))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [line for _, _, line in bounds] == [1, 2]
    assert bounds[0][1] == len(text) - len(";\nSELECT 1;")
    assert peak < 0.5 * len(text)  # no copy of the statement, no backtracking state


def test_a_huge_stored_program_splits_in_linear_time() -> None:
    body = "  INSERT INTO t VALUES (1, 'x;'); IF a THEN SET b = CASE WHEN 1 THEN 2 END; " \
           "END IF;\n"
    small = "CREATE PROCEDURE p() BEGIN\n" + body * 20_000 + "END;\nSELECT 1;"
    big = "CREATE PROCEDURE p() BEGIN\n" + body * 200_000 + "END;\nSELECT 1;"
    _assert_linear(small, big, 2)


def test_many_statements_on_one_line_split_in_linear_time() -> None:
    """Looking back for the start of the line before every 'DO' was quadratic."""
    _assert_linear("DO 1; " * 40_000, "DO 1; " * 400_000, None)


def _assert_linear(small: str, big: str, count: int | None) -> None:
    timings = []
    for text in (small, big):
        started = time.perf_counter()
        found = len(list(statement_bounds(text)))
        timings.append(time.perf_counter() - started)
        assert found == (count or text.count(";"))
    assert timings[1] < 30 * max(timings[0], 0.01)  # 10x the text, not 100x the time


# --------------------------------------------------------------------------- the real client

CORPUS = {
    "plain": (
        "INSERT INTO seen (v) VALUES ('a;b'); INSERT INTO seen (v) VALUES (\"c\"\";d\");\n"
        "-- a comment; with a semicolon\n"
        "INSERT INTO seen (v) VALUES ('e\\';f') # another; one\n;\n"
        "/* block; comment */ INSERT INTO seen (v) VALUES (CONCAT('g', -- inline;\n'h'));\n"
        "INSERT INTO seen (v) VALUES (/*!50000 'exec' */ 'uted');\n"
        "/*!40101 SET @x = 'set by an executable comment' */;\n"
        "INSERT INTO seen (v) VALUES (@x);;\n"
        "INSERT INTO seen (`v`) VALUES (1 --1\n);\n"
    ),
    "delimiters": (
        "-- leading comment line\n"
        "DELIMITER //\n"
        "CREATE PROCEDURE add_seen(IN x TEXT)\nBEGIN\n"
        "  INSERT INTO seen (v) VALUES (CONCAT(x, ';'));  -- a ';' and // in a comment //\n"
        "  INSERT INTO seen (v) VALUES ('//');\nEND //\n"
        "CALL add_seen('one')//\n"
        "DELIMITER ;\n"
        "CALL add_seen('two');\n"
        "DELIMITER $$\n"
        "CREATE TRIGGER seen_up BEFORE INSERT ON seen FOR EACH ROW BEGIN\n"
        "  IF NEW.v = 'up' THEN SET NEW.v = UPPER(NEW.v); END IF;\nEND$$\n"
        "delimiter ;\n"
        "INSERT INTO seen (v) VALUES ('up');\n"
        "DROP TRIGGER seen_up; DROP PROCEDURE add_seen;\n"
    ),
}


def _client_args(url: str) -> tuple[list[str], dict[str, str]]:
    parts = urlsplit(url)
    argv = [str(CLIENT), f"--host={parts.hostname}", f"--port={parts.port or 3306}",
            "--protocol=TCP", "--default-character-set=utf8mb4",
            f"--user={unquote(parts.username or 'root')}",
            unquote(parts.path.lstrip("/"))]
    return argv, {"MYSQL_PWD": unquote(parts.password or ""), "PATH": "/usr/bin:/bin"}


def _client_run(my: Server, path: Path) -> int:
    """Run the file with the client; the number of statements it sent."""
    argv, env = _client_args(my.url)
    proc = subprocess.run([*argv, "-vvv", "--force"], stdin=path.open(), capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.count("--------------\n") // 2


@pytest.mark.skipif(CLIENT is None, reason="no mariadb/mysql client on PATH")
@pytest.mark.parametrize("files", ["catalog", "dba-test"])
def test_migration_sets_build_what_the_client_builds(
    my: Server, make_migrations: MakeMigrations, files: str
) -> None:
    """The server tests' MySQL sets, piped file by file into the client, and applied
    by migrator in a second database: the same schema and rows."""
    chosen = CATALOG_FILES if files == "catalog" else MY_REVERSIBLE
    ups = [chosen[name] for name in sorted(chosen) if name.endswith(".up.sql")]
    assert run_cli(my.url, make_migrations(chosen), "up").code == 0
    ours = MysqlBackend(my.url, table="schema_migrations", readonly=True, busy_timeout=5)
    try:
        with ours.catalog().scratch() as space:
            argv, env = _client_args(space.url)
            for text in ups:
                proc = subprocess.run(argv, input=text, capture_output=True, text=True,
                                      timeout=120, check=False, env=env)
                assert proc.returncode == 0, proc.stderr
            theirs = MysqlBackend(space.url, table="schema_migrations", readonly=True,
                                  busy_timeout=5)
            try:
                schema = ours.catalog().schema()
                assert theirs.catalog().schema() == schema
                for table in schema.tables:
                    assert theirs.catalog().read_table(table.name) == \
                        ours.catalog().read_table(table.name)
            finally:
                theirs.close()
    finally:
        ours.close()


@pytest.mark.skipif(CLIENT is None, reason="no mariadb/mysql client on PATH")
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_same_effect_as_the_mariadb_client(my: Server, tmp_path: Path, name: str) -> None:
    text = CORPUS[name]
    path = tmp_path / f"{name}.sql"
    path.write_text(text)
    create = "CREATE TABLE seen (n INT AUTO_INCREMENT PRIMARY KEY, v TEXT)"
    my.query(create)
    sent = _client_run(my, path)
    by_client = [r[1] for r in my.rows("seen")]
    my.query("DROP TABLE seen")
    my.query(create)
    stmts = list(split(text))
    for stmt in stmts:
        my.query(stmt.sql)
    assert [r[1] for r in my.rows("seen")] == by_client
    assert len(stmts) == sent
    assert len(by_client) >= 5
