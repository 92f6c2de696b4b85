"""The safety rules' predictions, measured on real servers.

Each case lints one statement as ``migrator check`` does, then runs it on a
table with rows and looks at what the server really did: PostgreSQL's lock
(``pg_locks`` before the transaction ends) and rewrite (``relfilenode``
changed), MySQL/MariaDB's acceptance of ``ALGORITHM=INPLACE, LOCK=NONE``.
Where the measurement and the rule disagree, the rule is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from serverkit import Server

from migrator.dba.check import check_directory


def lint(tmp_path: Path, sql: str, dialect: str, *, header: str = "", before: str = ""
         ) -> set[str]:
    """The rule IDs ``check`` reports for ``sql``, run after a file holding ``before``."""
    root = tmp_path / "migrations"
    root.mkdir(exist_ok=True)
    if before:
        (root / "0_before.up.sql").write_text(before)
    (root / "1_x.up.sql").write_text(header + sql + "\n")
    report = check_directory(root, dialect=dialect)
    return {f.rule.id for f in report.findings if f.rule}


def _pg_table(pg: Server) -> str:
    table = f'"{pg.namespace}".t'
    pg.query(f'CREATE SCHEMA IF NOT EXISTS "{pg.namespace}"')
    pg.query(f"DROP TABLE IF EXISTS {table} CASCADE")
    pg.query(PG_TABLE.replace("TABLE t", f"TABLE {table}"))
    pg.query(f"INSERT INTO {table} SELECT g, 'x' || g, g, 'v', 1 FROM generate_series(1, 200) g")
    return table


def _pg_measure(pg: Server, table: str, sql: str) -> tuple[set[str], bool]:
    """The lock modes this session holds on the table, and whether it was rewritten."""
    conn = pg.conn
    with conn.transaction(force_rollback=True):
        before = conn.execute(f"SELECT pg_relation_filenode('{table}')").fetchone()
        conn.execute(sql)
        modes = {str(r[0]) for r in conn.execute(
            f"SELECT mode FROM pg_locks WHERE relation = '{table}'::regclass "
            "AND pid = pg_backend_pid()").fetchall()}
        after = conn.execute(f"SELECT pg_relation_filenode('{table}')").fetchone()
    return modes, before != after


PG_TABLE = "CREATE TABLE t (id int PRIMARY KEY, a text, b int, v varchar(40), n numeric(8, 2))"
PG_CASES = [
    # (statement on {t}, the rule expected or None, rewrite expected, a lock mode expected)
    ("ALTER TABLE {t} ADD COLUMN u uuid DEFAULT gen_random_uuid()", "PG004", True,
     "AccessExclusiveLock"),
    ("ALTER TABLE {t} ADD COLUMN c timestamptz DEFAULT now()", None, False,
     "AccessExclusiveLock"),
    ("ALTER TABLE {t} ADD COLUMN s bigserial", "PG004", True, "AccessExclusiveLock"),
    ("ALTER TABLE {t} ALTER COLUMN b TYPE bigint", "PG006", True, "AccessExclusiveLock"),
    ("CREATE INDEX t_a ON {t} (a)", "PG001", False, "ShareLock"),
    ("ALTER TABLE {t} ADD CONSTRAINT u UNIQUE (a)", "PG009", False, "AccessExclusiveLock"),
    ("ALTER TABLE {t} ADD CONSTRAINT c CHECK (b > 0) NOT VALID", None, False,
     "AccessExclusiveLock"),
    ("ALTER TABLE {t} ALTER COLUMN v TYPE varchar(80)", None, False, "AccessExclusiveLock"),
    ("ALTER TABLE {t} ALTER COLUMN v TYPE text", None, False, "AccessExclusiveLock"),
    ("ALTER TABLE {t} ALTER COLUMN v TYPE varchar(20)", "PG006", True, "AccessExclusiveLock"),
    ("ALTER TABLE {t} ALTER COLUMN n TYPE numeric(12, 2)", None, False, "AccessExclusiveLock"),
    ("ALTER TABLE {t} ALTER COLUMN n TYPE numeric(12, 3)", "PG006", True,
     "AccessExclusiveLock"),
]


@pytest.mark.parametrize(("sql", "rule", "rewrites", "mode"), PG_CASES,
                         ids=[c[0].split("{t} ")[-1][:40] for c in PG_CASES])
def test_postgres_rule_matches_the_measured_lock_and_rewrite(
    tmp_path: Path, pg: Server, sql: str, rule: str | None, rewrites: bool, mode: str
) -> None:
    found = lint(tmp_path, sql.format(t="t") + ";", "postgres",
                 header="SET lock_timeout = '1s';\n", before=PG_TABLE + ";\n")
    assert (rule in found) if rule else not (found - {"PG014"}), found
    table = _pg_table(pg)
    modes, rewritten = _pg_measure(pg, table, sql.format(t=table))
    assert rewritten is rewrites
    assert mode in modes, modes


def test_postgres_errors_the_rules_predict(tmp_path: Path, pg: Server) -> None:
    import psycopg

    table = _pg_table(pg)
    assert "PG005" in lint(tmp_path, "ALTER TABLE t ADD COLUMN nn int NOT NULL;", "postgres")
    with pytest.raises(psycopg.errors.NotNullViolation):
        pg.query(f"ALTER TABLE {table} ADD COLUMN nn int NOT NULL")
    assert "PG003" in lint(tmp_path, "CREATE INDEX CONCURRENTLY i ON t (a);", "postgres")
    with pytest.raises(psycopg.errors.ActiveSqlTransaction), pg.conn.transaction():
        pg.conn.execute(f"CREATE INDEX CONCURRENTLY i ON {table} (a)")


def _my_table(my: Server) -> None:
    my.query("DROP TABLE IF EXISTS t")
    my.query(MY_TABLE)
    my.query("INSERT INTO t VALUES " + ", ".join(f"({i}, 'x{i}', {i}, 'x')" for i in range(1, 101)))


MY_TABLE = ("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(40), b INT, e ENUM('x', 'y')) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
MY_CASES = [
    ("ALTER TABLE t MODIFY COLUMN b BIGINT", True),
    ("ALTER TABLE t MODIFY a VARCHAR(100)", True),
    ("ALTER TABLE t MODIFY a VARCHAR(30)", True),
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (b > 0)", True),
    ("ALTER TABLE t ADD COLUMN g INT AS (b * 2) STORED", True),
    ("ALTER TABLE t MODIFY e ENUM('y', 'x')", True),
    ("ALTER TABLE t MODIFY b INT NOT NULL", False),
    ("ALTER TABLE t MODIFY a VARCHAR(60)", False),
    ("ALTER TABLE t CHANGE a a VARCHAR(40) NOT NULL DEFAULT 'q'", False),
    ("ALTER TABLE t MODIFY e ENUM('x', 'y', 'z')", False),
    ("ALTER TABLE t ADD COLUMN g INT AS (b * 2) VIRTUAL", False),
    ("ALTER TABLE t CONVERT TO CHARACTER SET latin1", True),
    ("ALTER TABLE t DROP PRIMARY KEY", True),
    ("ALTER TABLE t ADD COLUMN z INT", False),
    ("ALTER TABLE t ADD INDEX t_a (a)", False),
    ("ALTER TABLE t ALTER COLUMN b SET DEFAULT 3", False),
]


@pytest.mark.parametrize(("sql", "copies"), MY_CASES, ids=[c[0][14:50] for c in MY_CASES])
def test_mysql_copy_rule_matches_what_the_server_accepts_online(
    tmp_path: Path, my: Server, sql: str, copies: bool
) -> None:
    import pymysql

    assert ("MY001" in lint(tmp_path, sql + ";", "mysql", before=MY_TABLE + ";\n")) is copies
    _my_table(my)
    online = sql + ", ALGORITHM=INPLACE, LOCK=NONE"
    if copies:
        with pytest.raises(pymysql.err.MySQLError):
            my.query(online)
    else:
        my.query(online)
