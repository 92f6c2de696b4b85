"""PostgreSQL specifics: atomic files at every failure point, one statement per call,
client-only syntax refused, CONCURRENTLY outside a transaction, session settings."""

from __future__ import annotations

import pytest
from clihelp import MakeMigrations
from serverkit import Server, connect, run_cli

FIVE = [
    "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)",
    "INSERT INTO items VALUES (1, 'one%')",
    "ALTER TABLE items ADD COLUMN price NUMERIC",
    "CREATE INDEX items_name ON items (name)",
    "DO $$ BEGIN INSERT INTO items VALUES (2, 'two; not a boundary'); END $$",
]


@pytest.mark.parametrize("k", range(1, len(FIVE) + 1))
def test_failure_at_every_statement_leaves_the_schema_unchanged(
    pg: Server, make_migrations: MakeMigrations, k: int
) -> None:
    d = make_migrations({"1_base.up.sql": "CREATE TABLE base (id INTEGER);\n"})
    assert run_cli(pg.url, d, "up").code == 0
    before = (pg.schema_dump(), pg.applied_versions(), pg.rows("base"))
    statements = list(FIVE)
    statements[k - 1] = "SELECT * FROM no_such_relation"
    make_migrations({"2_five.up.sql": ";\n".join(statements) + ";\n"})
    result = run_cli(pg.url, d, "up", "--json")
    assert result.code == 1
    assert result.json()["error"]["statement"] == k
    assert (pg.schema_dump(), pg.applied_versions(), pg.rows("base")) == before
    make_migrations({"2_five.up.sql": ";\n".join(FIVE) + ";\n"})
    assert run_cli(pg.url, d, "up").code == 0
    assert [r[0] for r in pg.rows("items")] == [1, 2]


def test_error_position_becomes_file_line_and_column(pg: Server,
                                                    make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_x.up.sql": "CREATE TABLE a (id INTEGER);\n\nSELECT id,\n"
                                       "       nope FROM a;\n"})
    result = run_cli(pg.url, d, "up")
    assert result.code == 1
    assert "1_x.up.sql:4:8" in result.stderr
    assert "42703" in result.stderr


def test_detail_and_hint_are_reported(pg: Server, make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_x.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"
                                       "INSERT INTO a VALUES (1), (1);\n"})
    result = run_cli(pg.url, d, "up")
    assert result.code == 1
    assert "23505" in result.stderr and "detail: Key (id)=(1) already exists." in result.stderr


def test_a_column_named_begin_splits_like_the_server(pg: Server,
                                                    make_migrations: MakeMigrations) -> None:
    # sqlparse took the column name 'begin' for a block opener and merged the rest
    d = make_migrations({"1_x.up.sql": "CREATE TABLE ev (id INTEGER, begin TEXT);\n"
                                       "CREATE INDEX ev_id ON ev (id);\n"
                                       "INSERT INTO ev VALUES (1, 'x');\n"})
    result = run_cli(pg.url, d, "up")
    assert result.code == 0, result.stderr
    assert pg.rows("ev") == [(1, "x")]


def test_a_missplit_piece_is_refused_not_run_silently(pg: Server) -> None:
    from migrator.backends.postgres.backend import PostgresBackend

    backend = PostgresBackend(pg.url, table="schema_migrations", readonly=False,
                              busy_timeout=5.0)
    try:
        with pytest.raises(Exception) as caught:
            backend.execute("CREATE TABLE a (id INTEGER); CREATE TABLE b (id INTEGER)")
        assert "cannot insert multiple commands into a prepared statement" in str(caught.value)
    finally:
        backend.close()
    assert not {"a", "b"} & pg.tables()


@pytest.mark.parametrize("text, needle", [
    ("CREATE TABLE a (id INTEGER);\n\\set x 1\n", "psql"),
    ("CREATE TABLE a (id INTEGER);\nCOPY a FROM stdin;\n1\n\\.\n", "COPY"),
    ("DELIMITER //\nCREATE TABLE a (id INTEGER)//\n", "DELIMITER"),
])
def test_client_syntax_is_refused_before_anything_runs(
    pg: Server, make_migrations: MakeMigrations, text: str, needle: str
) -> None:
    d = make_migrations({"1_x.up.sql": text})
    result = run_cli(pg.url, d, "up")
    assert result.code == 2, result.stderr
    assert needle in result.stderr and "1_x.up.sql:" in result.stderr
    assert "a" not in pg.tables()


def test_create_index_concurrently_in_a_no_transaction_file(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({
        "1_t.up.sql": "CREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1), (1);\n",
        "2_idx.up.sql": "-- migrator: no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        "3_uniq.up.sql": "-- migrator: no-transaction\n"
                         "CREATE UNIQUE INDEX CONCURRENTLY t_uniq ON t (id);\n",
    })
    result = run_cli(pg.url, d, "up")
    assert result.code == 1
    assert pg.applied_versions() == ["1", "2"]
    assert "left INVALID" in result.stderr and "t_uniq" in result.stderr
    invalid = pg.query("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = "
                       "i.indexrelid WHERE NOT i.indisvalid AND c.relnamespace = %s::regnamespace",
                       (pg.namespace,))
    assert invalid == [("t_uniq",)]


def test_concurrently_inside_a_transaction_fails_and_rolls_back(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER);\n"
                                       "CREATE INDEX CONCURRENTLY t_id ON t (id);\n"})
    result = run_cli(pg.url, d, "up")
    assert result.code == 1 and "25001" in result.stderr
    assert pg.tables() == {"schema_migrations"}


def test_lock_timeout_from_the_url(pg: Server, make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER);\n"})
    assert run_cli(pg.url, d, "up").code == 0
    make_migrations({"2_alter.up.sql": "ALTER TABLE t ADD COLUMN x INTEGER;\n"})
    reader = connect("postgres", pg.admin_url)
    try:
        reader.execute("BEGIN")
        reader.execute(f'LOCK TABLE "{pg.namespace}".t IN ACCESS SHARE MODE')
        result = run_cli(pg.url + "&lock_timeout=300ms", d, "up")
        assert result.code == 1
        assert "55P03" in result.stderr
    finally:
        reader.close()
    assert pg.applied_versions() == ["1"]


def test_statement_timeout_from_the_url(pg: Server, make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_t.up.sql": "SELECT pg_sleep(5);\n"})
    result = run_cli(pg.url + "&statement_timeout=200ms", d, "up")
    assert result.code == 1 and "57014" in result.stderr


def test_table_in_its_own_schema_and_unknown_libpq_option(
    pg: Server, make_migrations: MakeMigrations
) -> None:
    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER);\n"})
    other = f"{pg.namespace}_meta"
    try:
        result = run_cli(pg.url, d, "--migrations-table", f"{other}.history", "up")
        assert result.code == 0, result.stderr
        rows = pg.query(f'SELECT version FROM "{other}".history')
        assert rows == [("1",)]
    finally:
        pg.query(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')
    bad = run_cli(pg.url + "&no_such_option=1", d, "status")
    assert bad.code == 2 and "no_such_option" in bad.stderr


def test_foreign_keys_off_directive_is_refused(pg: Server,
                                               make_migrations: MakeMigrations) -> None:
    d = make_migrations({"1_t.up.sql": "-- migrator: foreign-keys-off\n"
                                       "CREATE TABLE t (id INTEGER);\n"})
    result = run_cli(pg.url, d, "up")
    assert result.code == 2 and "SQLite directive" in result.stderr
    assert pg.tables() == {"schema_migrations"}


def test_unlock_reports_a_live_holder(pg: Server, make_migrations: MakeMigrations) -> None:
    from migrator import Migrator

    d = make_migrations({"1_t.up.sql": "SELECT 1;\n"})
    holder = Migrator(pg.url, d)
    with holder._backend(readonly=False) as backend, backend.run_lock(0):
        result = run_cli(pg.url, d, "unlock")
        assert result.code == 0 and "held by a live session" in result.stdout
    result = run_cli(pg.url, d, "unlock")
    assert result.code == 0 and "nothing to do" in result.stdout


def test_status_does_not_import_the_parser(pg: Server, make_migrations: MakeMigrations) -> None:
    import subprocess
    import sys

    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER);\n"})
    probe = ("import sys\nfrom migrator.cli import main\n"
             f"code = main(['--url', {pg.url!r}, '-d', {str(d)!r}, 'status'])\n"
             "print(code, 'pglast' in sys.modules, 'sqlparse' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=False).stdout
    assert out.splitlines()[-1] == "0 False False", out


def test_without_pglast_splitting_is_a_clear_error(pg: Server,
                                                  make_migrations: MakeMigrations) -> None:
    import subprocess
    import sys

    d = make_migrations({"1_t.up.sql": "CREATE TABLE t (id INTEGER);\n"})
    probe = ("import sys\nsys.modules['pglast'] = None  # as if the extra were not installed\n"
             "from migrator.cli import main\n"
             f"sys.exit(main(['--url', {pg.url!r}, '-d', {str(d)!r}, 'up']))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "pip install 'migrator[postgres]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "t" not in pg.tables()
