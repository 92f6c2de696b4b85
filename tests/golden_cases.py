"""The 47 splitter cases from the sqlparse research probe, as data.

Each case is (id, dialect, what, sql, expected statements, sqlite_setup):

* ``expected``: the statements a correct splitter yields, each an exact
  substring of ``sql`` without its trailing ``;``, surrounding whitespace
  and comments.
* ``sqlite_setup``: ``None`` when SQLite cannot run the case (a server
  dialect, or transaction control); otherwise a script that creates what
  the statements need, so they can be executed one by one on a real file.

The cases are the regression suite for splitting: sqlparse 0.6.1 is its
final release, so a change in its output means a changed dependency.
"""

from __future__ import annotations

from typing import NamedTuple


class GoldenCase(NamedTuple):
    id: str
    dialect: str
    what: str
    sql: str
    expected: list[str]
    sqlite_setup: str | None


CASES: list[GoldenCase] = [
    GoldenCase(
        id='simple',
        dialect='any',
        what='two plain statements',
        sql=(
            'CREATE TABLE a(x);\n'
            'INSERT INTO a VALUES (1);'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'INSERT INTO a VALUES (1)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='no-final-semicolon',
        dialect='any',
        what="last statement has no ';'",
        sql=(
            'CREATE TABLE a(x);\n'
            'INSERT INTO a VALUES (1)'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'INSERT INTO a VALUES (1)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='str-semicolon',
        dialect='any',
        what="';' inside '...' and doubled quote",
        sql=(
            "CREATE TABLE a(x);INSERT INTO a VALUES ('x;y');\n"
            "INSERT INTO a VALUES ('it''s; ok');"
        ),
        expected=[
            'CREATE TABLE a(x)',
            "INSERT INTO a VALUES ('x;y')",
            "INSERT INTO a VALUES ('it''s; ok')",
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='dq-ident-semicolon',
        dialect='any',
        what='\';\' inside "quoted identifier"',
        sql=(
            'CREATE TABLE "we;ird"(x);\n'
            'SELECT 1;'
        ),
        expected=[
            'CREATE TABLE "we;ird"(x)',
            'SELECT 1',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='backtick-semicolon',
        dialect='mysql/sqlite',
        what="';' inside `backtick identifier`",
        sql=(
            'CREATE TABLE `we;ird`(x);\n'
            'SELECT 1;'
        ),
        expected=[
            'CREATE TABLE `we;ird`(x)',
            'SELECT 1',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='bracket-semicolon',
        dialect='sqlite',
        what="';' inside [bracket identifier]",
        sql=(
            'CREATE TABLE [we;ird](x);\n'
            'SELECT 1;'
        ),
        expected=[
            'CREATE TABLE [we;ird](x)',
            'SELECT 1',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='line-comment-semicolon',
        dialect='any',
        what="-- comments containing ';'",
        sql=(
            '-- drop; everything\n'
            'CREATE TABLE a(x); -- trailing; comment\n'
            'CREATE TABLE b(y);'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='block-comment-semicolon',
        dialect='any',
        what="/* */ comments containing ';'",
        sql=(
            '/* a; b */ CREATE TABLE a(x); /* c;\n'
            ' d; */ CREATE TABLE b(y);'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='nested-block-comment',
        dialect='postgres',
        what='PG allows nested /* /* */ */',
        sql=(
            '/* outer /* inner; */ still comment; */ SELECT 1;\n'
            'SELECT 2;'
        ),
        expected=[
            'SELECT 1',
            'SELECT 2',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='operator-then-comment',
        dialect='sqlite/pg',
        what='comment directly after the concat operator',
        sql=(
            "SELECT 'a' ||-- join; next line\n"
            " 'b';\n"
            'SELECT 2;'
        ),
        expected=[
            (
                "SELECT 'a' ||-- join; next line\n"
                " 'b'"
            ),
            'SELECT 2',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='comment-at-eof-no-newline',
        dialect='any',
        what="file ends in '-- c' w/o newline",
        sql=(
            'SELECT 1;\n'
            '-- the end'
        ),
        expected=[
            'SELECT 1',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='comment-only-file',
        dialect='any',
        what='file is only comments',
        sql=(
            '-- nothing to do here;\n'
            '/* really; */\n'
        ),
        expected=[],
        sqlite_setup='',
    ),
    GoldenCase(
        id='empty-statements',
        dialect='any',
        what="stray ';;' and blank statements",
        sql=(
            'CREATE TABLE a(x);;\n'
            ';\n'
            'CREATE TABLE b(y);'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='bom',
        dialect='any',
        what='UTF-8 BOM decoded as U+FEFF at start',
        sql=(
            '\ufeffCREATE TABLE a(x);\n'
            'CREATE TABLE b(y);'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='crlf',
        dialect='any',
        what='Windows CRLF line endings',
        sql=(
            'CREATE TABLE a(x);\r\n'
            '-- c;\r\n'
            'CREATE TABLE b(y);\r\n'
        ),
        expected=[
            'CREATE TABLE a(x)',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='sqlite-trigger',
        dialect='sqlite',
        what='CREATE TRIGGER ... BEGIN ...; ...; END;',
        sql=(
            'CREATE TRIGGER t AFTER INSERT ON a BEGIN\n'
            '  INSERT INTO b VALUES (new.x);\n'
            '  UPDATE c SET n = n + 1;\n'
            'END;\n'
            'CREATE TABLE z(q);'
        ),
        expected=[
            (
                'CREATE TRIGGER t AFTER INSERT ON a BEGIN\n'
                '  INSERT INTO b VALUES (new.x);\n'
                '  UPDATE c SET n = n + 1;\n'
                'END'
            ),
            'CREATE TABLE z(q)',
        ],
        sqlite_setup='CREATE TABLE a(x); CREATE TABLE b(x); CREATE TABLE c(n);',
    ),
    GoldenCase(
        id='sqlite-trigger-case',
        dialect='sqlite',
        what='trigger body with nested CASE ... END',
        sql=(
            'CREATE TRIGGER t BEFORE INSERT ON a BEGIN\n'
            "  SELECT CASE WHEN new.x < 0 THEN RAISE(ABORT, 'neg; no') END;\n"
            "  INSERT INTO b VALUES (CASE new.x WHEN 1 THEN 'one' ELSE 'other' "
            'END);\n'
            'END;\n'
            'CREATE TABLE z(q);'
        ),
        expected=[
            (
                'CREATE TRIGGER t BEFORE INSERT ON a BEGIN\n'
                "  SELECT CASE WHEN new.x < 0 THEN RAISE(ABORT, 'neg; no') END;\n"
                "  INSERT INTO b VALUES (CASE new.x WHEN 1 THEN 'one' ELSE 'other' "
                'END);\n'
                'END'
            ),
            'CREATE TABLE z(q)',
        ],
        sqlite_setup='CREATE TABLE a(x); CREATE TABLE b(x);',
    ),
    GoldenCase(
        id='sqlite-trigger-when-case',
        dialect='sqlite',
        what='CASE in WHEN clause before BEGIN',
        sql=(
            'CREATE TRIGGER t AFTER UPDATE ON a WHEN (CASE WHEN new.x > 0 THEN 1 '
            'ELSE 0 END) BEGIN\n'
            '  INSERT INTO b VALUES (1);\n'
            'END;\n'
            'CREATE TABLE z(q);'
        ),
        expected=[
            (
                'CREATE TRIGGER t AFTER UPDATE ON a WHEN (CASE WHEN new.x > 0 THEN 1 '
                'ELSE 0 END) BEGIN\n'
                '  INSERT INTO b VALUES (1);\n'
                'END'
            ),
            'CREATE TABLE z(q)',
        ],
        sqlite_setup='CREATE TABLE a(x); CREATE TABLE b(x);',
    ),
    GoldenCase(
        id='sqlite-trigger-lowercase',
        dialect='sqlite',
        what="lower-case trigger, 'end' on same line",
        sql=(
            'create trigger t after delete on a begin delete from b where x = '
            'old.x; end; create table z(q);'
        ),
        expected=[
            (
                'create trigger t after delete on a begin delete from b where x = '
                'old.x; end'
            ),
            'create table z(q)',
        ],
        sqlite_setup='CREATE TABLE a(x); CREATE TABLE b(x);',
    ),
    GoldenCase(
        id='col-named-begin',
        dialect='sqlite',
        what='ALTER ... ADD COLUMN begin (legal in SQLite)',
        sql=(
            'ALTER TABLE ev ADD COLUMN begin TEXT;\n'
            'CREATE TABLE z(q);\n'
            'CREATE TABLE y(q);'
        ),
        expected=[
            'ALTER TABLE ev ADD COLUMN begin TEXT',
            'CREATE TABLE z(q)',
            'CREATE TABLE y(q)',
        ],
        sqlite_setup='CREATE TABLE ev(id INTEGER);',
    ),
    GoldenCase(
        id='create-col-begin',
        dialect='sqlite',
        what='CREATE TABLE with a column named begin',
        sql=(
            'CREATE TABLE ev(id INTEGER, begin TEXT, finish TEXT);\n'
            'CREATE INDEX ev_b ON ev(finish);'
        ),
        expected=[
            'CREATE TABLE ev(id INTEGER, begin TEXT, finish TEXT)',
            'CREATE INDEX ev_b ON ev(finish)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='col-named-end',
        dialect='sqlite',
        what='UPDATE ... SET end = ... (legal in SQLite)',
        sql=(
            'UPDATE ev SET end = 1 WHERE id = 2;\n'
            'CREATE TABLE z(q);'
        ),
        expected=[
            'UPDATE ev SET end = 1 WHERE id = 2',
            'CREATE TABLE z(q)',
        ],
        sqlite_setup='CREATE TABLE ev(id INTEGER, "end" INTEGER);',
    ),
    GoldenCase(
        id='col-named-GO',
        dialect='sqlite',
        what='upper-case column named GO (legal)',
        sql=(
            'CREATE TABLE terms (id INTEGER, GO TEXT);\n'
            'CREATE TABLE z(q);'
        ),
        expected=[
            'CREATE TABLE terms (id INTEGER, GO TEXT)',
            'CREATE TABLE z(q)',
        ],
        sqlite_setup='',
    ),
    GoldenCase(
        id='txn-begin-commit',
        dialect='any',
        what='file contains BEGIN; ... COMMIT;',
        sql=(
            'BEGIN;\n'
            'CREATE TABLE a(x);\n'
            'COMMIT;\n'
            'CREATE TABLE b(y);'
        ),
        expected=[
            'BEGIN',
            'CREATE TABLE a(x)',
            'COMMIT',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='txn-begin-transaction',
        dialect='any',
        what='BEGIN TRANSACTION; ... COMMIT;',
        sql=(
            'BEGIN TRANSACTION;\n'
            'CREATE TABLE a(x);\n'
            'COMMIT;\n'
            'CREATE TABLE b(y);'
        ),
        expected=[
            'BEGIN TRANSACTION',
            'CREATE TABLE a(x)',
            'COMMIT',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='txn-begin-immediate-end',
        dialect='sqlite',
        what='BEGIN IMMEDIATE; ... END;',
        sql=(
            'BEGIN IMMEDIATE;\n'
            'CREATE TABLE a(x);\n'
            'END;\n'
            'CREATE TABLE b(y);'
        ),
        expected=[
            'BEGIN IMMEDIATE',
            'CREATE TABLE a(x)',
            'END',
            'CREATE TABLE b(y)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='txn-begin-isolation',
        dialect='postgres',
        what='BEGIN ISOLATION LEVEL SERIALIZABLE;',
        sql=(
            'BEGIN ISOLATION LEVEL SERIALIZABLE;\n'
            'CREATE TABLE a(x int);\n'
            'COMMIT;\n'
            'CREATE TABLE b(y int);'
        ),
        expected=[
            'BEGIN ISOLATION LEVEL SERIALIZABLE',
            'CREATE TABLE a(x int)',
            'COMMIT',
            'CREATE TABLE b(y int)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='txn-begin-read-write',
        dialect='postgres',
        what='BEGIN READ WRITE;',
        sql=(
            'BEGIN READ WRITE;\n'
            'CREATE TABLE a(x int);\n'
            'COMMIT;\n'
            'CREATE TABLE b(y int);'
        ),
        expected=[
            'BEGIN READ WRITE',
            'CREATE TABLE a(x int)',
            'COMMIT',
            'CREATE TABLE b(y int)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='txn-start-transaction',
        dialect='pg/mysql',
        what='START TRANSACTION; ... COMMIT;',
        sql=(
            'START TRANSACTION;\n'
            'CREATE TABLE a(x int);\n'
            'COMMIT;\n'
            'CREATE TABLE b(y int);'
        ),
        expected=[
            'START TRANSACTION',
            'CREATE TABLE a(x int)',
            'COMMIT',
            'CREATE TABLE b(y int)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-dollar',
        dialect='postgres',
        what='$$-quoted plpgsql body with ; and END IF;',
        sql=(
            'CREATE FUNCTION f() RETURNS trigger AS $$\n'
            'BEGIN\n'
            "  IF NEW.x < 0 THEN RAISE EXCEPTION 'neg;'; END IF;\n"
            '  RETURN NEW;\n'
            'END;\n'
            '$$ LANGUAGE plpgsql;\n'
            'SELECT 1;'
        ),
        expected=[
            (
                'CREATE FUNCTION f() RETURNS trigger AS $$\n'
                'BEGIN\n'
                "  IF NEW.x < 0 THEN RAISE EXCEPTION 'neg;'; END IF;\n"
                '  RETURN NEW;\n'
                'END;\n'
                '$$ LANGUAGE plpgsql'
            ),
            'SELECT 1',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-dollar-tag',
        dialect='postgres',
        what='$body$ with inner $$ and $q$',
        sql=(
            'CREATE FUNCTION g() RETURNS text AS $body$\n'
            'BEGIN\n'
            "  EXECUTE $q$SELECT ';'$q$;\n"
            '  RETURN $$;$$;\n'
            'END;\n'
            '$body$ LANGUAGE plpgsql;\n'
            'SELECT 2;'
        ),
        expected=[
            (
                'CREATE FUNCTION g() RETURNS text AS $body$\n'
                'BEGIN\n'
                "  EXECUTE $q$SELECT ';'$q$;\n"
                '  RETURN $$;$$;\n'
                'END;\n'
                '$body$ LANGUAGE plpgsql'
            ),
            'SELECT 2',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-do-block',
        dialect='postgres',
        what='DO $$ ... $$; anonymous block',
        sql=(
            'DO $$\n'
            'BEGIN\n'
            '  PERFORM 1;\n'
            'END\n'
            '$$;\n'
            'SELECT 3;'
        ),
        expected=[
            (
                'DO $$\n'
                'BEGIN\n'
                '  PERFORM 1;\n'
                'END\n'
                '$$'
            ),
            'SELECT 3',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-quoted-body',
        dialect='postgres',
        what="plpgsql body in '...' (old style)",
        sql=(
            "CREATE FUNCTION h() RETURNS int AS 'BEGIN RETURN 1; END;' LANGUAGE "
            'plpgsql;\n'
            'SELECT 4;'
        ),
        expected=[
            (
                "CREATE FUNCTION h() RETURNS int AS 'BEGIN RETURN 1; END;' LANGUAGE "
                'plpgsql'
            ),
            'SELECT 4',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-begin-atomic',
        dialect='postgres',
        what='SQL-standard body BEGIN ATOMIC ... END',
        sql=(
            'CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n'
            'BEGIN ATOMIC\n'
            '  SELECT a + b;\n'
            'END;\n'
            'SELECT 5;'
        ),
        expected=[
            (
                'CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n'
                'BEGIN ATOMIC\n'
                '  SELECT a + b;\n'
                'END'
            ),
            'SELECT 5',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-begin-atomic-multi',
        dialect='postgres',
        what='BEGIN ATOMIC procedure, 2 stmts + CASE',
        sql=(
            'CREATE PROCEDURE ins(x int) LANGUAGE sql\n'
            'BEGIN ATOMIC\n'
            '  INSERT INTO t VALUES (CASE WHEN x > 0 THEN x ELSE 0 END);\n'
            '  INSERT INTO t VALUES (x);\n'
            'END;\n'
            'SELECT 6;'
        ),
        expected=[
            (
                'CREATE PROCEDURE ins(x int) LANGUAGE sql\n'
                'BEGIN ATOMIC\n'
                '  INSERT INTO t VALUES (CASE WHEN x > 0 THEN x ELSE 0 END);\n'
                '  INSERT INTO t VALUES (x);\n'
                'END'
            ),
            'SELECT 6',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-rule-multi',
        dialect='postgres',
        what='CREATE RULE ... DO ALSO (a; b)',
        sql=(
            'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); '
            'INSERT INTO b VALUES (2));\n'
            'SELECT 7;'
        ),
        expected=[
            (
                'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); '
                'INSERT INTO b VALUES (2))'
            ),
            'SELECT 7',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='pg-xor-hash',
        dialect='postgres',
        what="'#' is XOR in PG, not a comment",
        sql=(
            'SELECT 5 # 3;\n'
            'SELECT 8;'
        ),
        expected=[
            'SELECT 5 # 3',
            'SELECT 8',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='backslash-in-string',
        dialect='sqlite/pg',
        what="standard string 'C:\\' (no escapes)",
        sql=(
            "INSERT INTO p VALUES ('C:\\');\n"
            "INSERT INTO p VALUES ('x;y');\n"
            'CREATE TABLE z(q);'
        ),
        expected=[
            "INSERT INTO p VALUES ('C:\\')",
            "INSERT INTO p VALUES ('x;y')",
            'CREATE TABLE z(q)',
        ],
        sqlite_setup='CREATE TABLE p(v TEXT);',
    ),
    GoldenCase(
        id='pg-e-string',
        dialect='postgres',
        what="E'it\\'s;' escape string",
        sql=(
            "SELECT E'it\\'s;';\n"
            'SELECT 9;'
        ),
        expected=[
            "SELECT E'it\\'s;'",
            'SELECT 9',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='mysql-proc-no-delimiter',
        dialect='mysql',
        what='procedure w/ DECLARE, IF, WHILE (no DELIMITER)',
        sql=(
            'CREATE PROCEDURE p() BEGIN\n'
            '  DECLARE x INT DEFAULT 0;\n'
            '  IF x > 0 THEN SET x = 1; END IF;\n'
            '  WHILE x < 10 DO SET x = x + 1; END WHILE;\n'
            'END;\n'
            'SELECT 10;'
        ),
        expected=[
            (
                'CREATE PROCEDURE p() BEGIN\n'
                '  DECLARE x INT DEFAULT 0;\n'
                '  IF x > 0 THEN SET x = 1; END IF;\n'
                '  WHILE x < 10 DO SET x = x + 1; END WHILE;\n'
                'END'
            ),
            'SELECT 10',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='mysql-repeat',
        dialect='mysql',
        what='REPEAT ... UNTIL ... END REPEAT;',
        sql=(
            'CREATE PROCEDURE p() BEGIN\n'
            '  DECLARE i INT DEFAULT 0;\n'
            '  REPEAT SET i = i + 1; UNTIL i > 5 END REPEAT;\n'
            '  SELECT i;\n'
            'END;\n'
            'SELECT 11;'
        ),
        expected=[
            (
                'CREATE PROCEDURE p() BEGIN\n'
                '  DECLARE i INT DEFAULT 0;\n'
                '  REPEAT SET i = i + 1; UNTIL i > 5 END REPEAT;\n'
                '  SELECT i;\n'
                'END'
            ),
            'SELECT 11',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='mysql-trigger-end-if',
        dialect='mysql',
        what='trigger with IF ... END IF;',
        sql=(
            'CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n'
            '  IF NEW.x < 0 THEN SET NEW.x = 0; END IF;\n'
            'END;\n'
            'SELECT 12;'
        ),
        expected=[
            (
                'CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n'
                '  IF NEW.x < 0 THEN SET NEW.x = 0; END IF;\n'
                'END'
            ),
            'SELECT 12',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='mysql-if-function-space',
        dialect='mysql',
        what='IF (a,b,c) function call with a space',
        sql=(
            'CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n'
            '  SET NEW.y = IF (NEW.x > 0, 1, 0);\n'
            'END;\n'
            'SELECT 13;\n'
            'SELECT 14;'
        ),
        expected=[
            (
                'CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n'
                '  SET NEW.y = IF (NEW.x > 0, 1, 0);\n'
                'END'
            ),
            'SELECT 13',
            'SELECT 14',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='mysql-delimiter',
        dialect='mysql',
        what='DELIMITER // (client-side command)',
        sql=(
            'DELIMITER //\n'
            'CREATE PROCEDURE p()\n'
            'BEGIN\n'
            '  SELECT 1;\n'
            'END //\n'
            'DELIMITER ;\n'
            'SELECT 15;'
        ),
        expected=[
            (
                'CREATE PROCEDURE p()\n'
                'BEGIN\n'
                '  SELECT 1;\n'
                'END'
            ),
            'SELECT 15',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='psql-meta-command',
        dialect='postgres',
        what='psql-only \\set line (client-side)',
        sql=(
            '\\set ON_ERROR_STOP on\n'
            'CREATE TABLE a(x int);'
        ),
        expected=[
            'CREATE TABLE a(x int)',
        ],
        sqlite_setup=None,
    ),
    GoldenCase(
        id='empty-file',
        dialect='any',
        what='empty / whitespace-only file',
        sql=(
            '  \n'
            '\n'
        ),
        expected=[],
        sqlite_setup='',
    ),
    GoldenCase(
        id='mysql-hash-comment',
        dialect='mysql',
        what="'# ' comment containing ';'",
        sql=(
            'SELECT 16; # note; here\n'
            'SELECT 17;'
        ),
        expected=[
            'SELECT 16',
            'SELECT 17',
        ],
        sqlite_setup=None,
    ),
]
