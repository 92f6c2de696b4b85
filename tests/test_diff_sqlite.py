"""``migrator diff`` and ``drift`` on SQLite: the differ's choices, rows kept, the CLI's errors.

Everything runs through the real CLI on real files: the generated migration is
then applied by ``migrator up`` to a database holding rows, and rolled back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clihelp import no_traceback, run, write

INIT = """\
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id),
                    body TEXT, "order" INT);
CREATE INDEX posts_user ON posts(user_id);
CREATE VIEW user_posts AS SELECT u.name, p.body FROM users u JOIN posts p ON p.user_id = u.id;
CREATE TRIGGER users_ai AFTER INSERT ON users
BEGIN INSERT INTO posts(user_id, body) VALUES (new.id, 'hello, world'); END;
"""
DOWN = "DROP VIEW user_posts;\nDROP TABLE posts;\nDROP TABLE users;\n"


def setup(tmp_path: Path, desired: str) -> Path:
    write(tmp_path / "migrations" / "1_init.up.sql", INIT)
    write(tmp_path / "migrations" / "1_init.down.sql", DOWN)
    return write(tmp_path / "desired.sql", desired)


def generated(tmp_path: Path) -> tuple[str, str]:
    ups = sorted((tmp_path / "migrations").glob("*_diff.up.sql"))
    assert len(ups) == 1, ups
    down = ups[0].with_name(ups[0].name.replace(".up.", ".down."))
    return ups[0].read_text(), down.read_text()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_appended_column_and_new_objects_are_plain_alters(tmp_path: Path) -> None:
    setup(tmp_path, INIT.replace("email TEXT)", "email TEXT, age INT DEFAULT 0)") + (
        "CREATE INDEX users_email ON users(email) WHERE email IS NOT NULL;\n"
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT UNIQUE);\n"))
    r = run(tmp_path, "diff", "--to", "desired.sql")
    assert r.code == 0, r
    up, down = generated(tmp_path)
    assert "ALTER TABLE users ADD COLUMN age INT DEFAULT 0;" in up
    assert "foreign-keys-off" not in up and "_migrator_new_" not in up
    assert up.index("CREATE TABLE tags") < up.index("CREATE INDEX users_email")
    assert "-- destructive: drops table tags and its rows" in down
    assert "ALTER TABLE users DROP COLUMN age;" in down
    # the written file runs on a real database, and the next diff finds nothing
    assert run(tmp_path, "up").code == 0
    again = run(tmp_path, "diff", "--to", "desired.sql")
    assert again.code == 0 and "no difference" in again.stderr, again
    assert run(tmp_path, "down").code == 0


def test_rebuild_keeps_rows_and_sequence_and_remakes_dependents(tmp_path: Path) -> None:
    desired = INIT.replace("user_id INTEGER REFERENCES users(id),",
                           "user_id INTEGER NOT NULL REFERENCES users(id),")
    desired = desired.replace(', "order" INT)', ', "order" TEXT)')
    setup(tmp_path, desired)
    assert run(tmp_path, "up").code == 0
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.executescript("INSERT INTO users (name) VALUES ('ann'), ('bob');"
                       "DELETE FROM posts WHERE user_id = 2; DELETE FROM users WHERE name = 'bob';"
                       "UPDATE posts SET \"order\" = 7;")
    conn.close()
    r = run(tmp_path, "diff", "--to", "desired.sql")
    assert r.code == 2, r
    no_traceback(r)
    assert "changes the type of posts.order from INT to TEXT" in r.stderr
    assert not list((tmp_path / "migrations").glob("*_diff.*"))
    r = run(tmp_path, "diff", "--to", "desired.sql", "--allow-destructive")
    assert r.code == 0, r
    up, _ = generated(tmp_path)
    assert up.startswith("-- migrator: foreign-keys-off\n")
    assert "-- destructive: changes the type of posts.order" in up
    # the view that reads posts goes before the rebuild and comes back after it
    assert up.index("DROP VIEW user_posts") < up.index("DROP TABLE posts") \
        < up.index("CREATE VIEW user_posts")
    assert up.index("CREATE TRIGGER users_ai") > up.index("RENAME TO posts")
    assert run(tmp_path, "up").code == 0
    assert rows(db, 'SELECT user_id, body, "order" FROM posts') == [(1, "hello, world", "7")]
    assert rows(db, "SELECT seq FROM sqlite_sequence WHERE name = 'users'") == [(2,)]
    assert rows(db, "SELECT name FROM user_posts") == [("ann",)]
    assert run(tmp_path, "down").code == 0
    assert rows(db, 'SELECT "order" FROM posts') == [(7,)]


def test_renames_are_never_guessed_and_done_when_asked(tmp_path: Path) -> None:
    desired = INIT.replace("TABLE users", "TABLE people").replace("email TEXT", "mail TEXT")
    desired = desired.replace("REFERENCES users", "REFERENCES people").replace(
        "FROM users u", "FROM people u").replace("ON users", "ON people")
    setup(tmp_path, desired)
    r = run(tmp_path, "diff", "--to", "desired.sql", "--dry-run")
    assert r.code == 0, r
    assert "pass --rename users:people" in r.stderr
    assert "DROP TABLE users" in r.stdout
    assert run(tmp_path, "up").code == 0
    r = run(tmp_path, "diff", "--to", "desired.sql", "--rename", "users:people",
            "--rename", "users.email:mail")
    assert r.code == 0, r
    up, down = generated(tmp_path)
    assert "ALTER TABLE users RENAME TO people;" in up
    assert "ALTER TABLE people RENAME COLUMN email TO mail;" in up
    assert "destructive" not in up and "_migrator_new_" not in up
    assert "ALTER TABLE people RENAME TO users;" in down
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("INSERT INTO users (name, email) VALUES ('ann', 'a@x')")
    conn.commit()
    conn.close()
    assert run(tmp_path, "up").code == 0
    assert rows(tmp_path / "app.db", "SELECT name, mail FROM people") == [("ann", "a@x")]


def test_dump_file_as_desired_schema_and_dir_layout(tmp_path: Path) -> None:
    setup(tmp_path, "")
    write(tmp_path / "migrations" / "2_more" / "up.sql", "ALTER TABLE users ADD COLUMN x INT;\n")
    write(tmp_path / "migrations" / "2_more" / "down.sql", "ALTER TABLE users DROP COLUMN x;\n")
    assert run(tmp_path, "up").code == 0
    assert run(tmp_path, "dump", "-o", "schema.sql").code == 0
    r = run(tmp_path, "diff", "--to", "schema.sql")
    assert r.code == 0 and "no difference" in r.stderr, r
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("CREATE INDEX users_name ON users(name)")
    conn.commit()
    conn.close()
    assert run(tmp_path, "dump", "-o", "schema.sql").code == 0
    r = run(tmp_path, "diff", "--to", "schema.sql", "--name", "index_names")
    assert r.code == 0, r
    folders = [p for p in (tmp_path / "migrations").iterdir() if p.name.endswith("_index_names")]
    assert len(folders) == 1 and (folders[0] / "up.sql").is_file(), r  # the newest's layout
    assert "CREATE INDEX users_name ON users(name);" in (folders[0] / "up.sql").read_text()


def test_json_document_and_dry_run_write_nothing(tmp_path: Path) -> None:
    setup(tmp_path, INIT + "CREATE TABLE extra (id INTEGER PRIMARY KEY);\n")
    r = run(tmp_path, "--json", "diff", "--to", "desired.sql", "--dry-run")
    assert r.code == 0, r
    doc = r.json()
    assert doc["proof"] == "passed" and doc["written"] is False and doc["files"] == []
    assert doc["steps"] == {"up": 1, "down": 1}
    assert doc["destructive"] == []
    assert "CREATE TABLE extra" in doc["up"] and "DROP TABLE extra" in doc["down"]
    assert not list((tmp_path / "migrations").glob("*_diff.*"))


def test_user_errors_are_messages_with_exit_codes(tmp_path: Path) -> None:
    setup(tmp_path, "CREATE TABLE broken (;\n")
    r = run(tmp_path, "diff", "--to", "desired.sql")
    assert r.code == 1 and "desired.sql:1" in r.stderr, r
    write(tmp_path / "good.sql", INIT + "CREATE TABLE more (x INT);\n")
    for args, words in [
        (("--to", "missing.sql"), "cannot read missing.sql"),
        ((), "--to FILE or --to-url"),
        (("--to", "desired.sql", "--to-url", "sqlite:///x.db"), "--to FILE or --to-url"),
        (("--to", "desired.sql", "--rename", "nocolon"), "expected OLD:NEW"),
        (("--to", "good.sql", "--rename", "nope:users"), "has no table nope"),
        (("--to", "good.sql", "--name", "bad name"), "invalid migration name"),
        (("--to", "good.sql", "--rename", "users:nope"), "desired schema has no table nope"),
        (("--to", "desired.sql", "--from-url", "sqlite:///nothere.db"), "does not exist"),
    ]:
        r = run(tmp_path, "diff", *args)
        assert r.code == 2, (args, r)
        assert words in r.stderr, (args, r)
        no_traceback(r)
    r = run(tmp_path, "-d", "nodir", "diff", "--to", "desired.sql")
    assert r.code == 1 and "desired.sql:1" in r.stderr, r  # the broken FILE, not the dir
    assert not (tmp_path / "nodir").exists()


def test_the_first_migration_from_a_schema_file_into_a_new_directory(tmp_path: Path) -> None:
    """No migrations yet (not even the directory, as before the first `new`): the
    history is empty and diff writes the whole schema as the first migration."""
    write(tmp_path / "schema.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n"
                                   "CREATE INDEX users_email ON users(email);\n")
    r = run(tmp_path, "-d", "db/migrations", "diff", "--to", "schema.sql", "--dry-run")
    assert r.code == 0 and "CREATE TABLE users" in r.stdout, r
    assert not (tmp_path / "db").exists()  # a dry run writes nothing, not even the directory
    r = run(tmp_path, "-d", "db/migrations", "diff", "--to", "schema.sql", "--name", "init")
    assert r.code == 0, r
    no_traceback(r)
    written = sorted(p.name for p in (tmp_path / "db" / "migrations").iterdir())
    assert [n.split("_", 1)[1] for n in written] == ["init.down.sql", "init.up.sql"], written
    assert run(tmp_path, "-d", "db/migrations", "up").code == 0
    r = run(tmp_path, "-d", "db/migrations", "diff", "--to", "schema.sql")
    assert r.code == 0 and "no difference" in r.stderr, r


def test_from_url_takes_the_live_schema(tmp_path: Path) -> None:
    setup(tmp_path, INIT + "CREATE TABLE extra (id INTEGER PRIMARY KEY);\n")
    assert run(tmp_path, "up").code == 0
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    r = run(tmp_path, "diff", "--from-url", "sqlite:///app.db", "--to", "desired.sql")
    assert r.code == 0 and "no difference" in r.stderr, r
    r = run(tmp_path, "diff", "--to-url", "sqlite:///app.db", "--dry-run")
    assert r.code == 0, r
    assert "CREATE TABLE extra" in r.stdout


def test_drift_finds_the_hotfix_and_says_both_ways(tmp_path: Path) -> None:
    setup(tmp_path, "")
    write(tmp_path / "migrations" / "3_later.up.sql", "CREATE TABLE later (x INT);\n")
    assert run(tmp_path, "up", "--to", "1").code == 0
    r = run(tmp_path, "drift")
    assert r.code == 0 and "no drift" in r.stderr, r
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.executescript("ALTER TABLE users ADD COLUMN hotfix INT; CREATE INDEX hot ON posts(body);")
    conn.close()
    r = run(tmp_path, "drift")
    assert r.code == 3, r
    assert "+    hotfix INT" in r.stdout
    back = r.stdout.split("-- to bring the live database back:")[1].split("-- to keep")[0]
    assert "ALTER TABLE users DROP COLUMN hotfix;" in back and "DROP INDEX hot;" in back
    keep = r.stdout.split("-- to keep the live change as a migration (up file):")[1]
    assert "ALTER TABLE users ADD COLUMN hotfix INT;" in keep
    doc = run(tmp_path, "--json", "drift").json()
    assert doc["drift"] is True and doc["applied"] == ["1"]
    for name in ("1_init.up.sql", "1_init.down.sql"):
        (tmp_path / "migrations" / name).unlink()
    r = run(tmp_path, "drift")
    assert r.code == 3 and "files are missing" in r.stderr and "1" in r.stderr, r
    no_traceback(r)


def test_a_changed_view_takes_the_views_and_triggers_on_it_along(tmp_path: Path) -> None:
    init = ("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);\n"
            "CREATE VIEW v AS SELECT id, a FROM t;\nCREATE VIEW w AS SELECT a FROM v;\n"
            "CREATE TRIGGER v_ins INSTEAD OF INSERT ON v BEGIN "
            "INSERT INTO t(a) VALUES (new.a); END;\n")
    write(tmp_path / "migrations" / "1_init.up.sql", init)
    write(tmp_path / "desired.sql",
          init.replace("SELECT id, a FROM t", "SELECT id, a, 1 AS one FROM t"))
    r = run(tmp_path, "diff", "--to", "desired.sql", "--dry-run")
    assert r.code == 0, r
    up = r.stdout.split("-- down")[0]
    assert up.index("DROP TRIGGER v_ins") < up.index("DROP VIEW v") < up.index("CREATE VIEW v")
    assert up.index("CREATE VIEW v ") < up.index("CREATE VIEW w") < up.index("CREATE TRIGGER")


def test_the_proof_shows_what_remains_and_fails_with_exit_3(tmp_path: Path) -> None:
    from migrator.backends import dialect_of_url
    from migrator.diff.dialects import differ
    from migrator.diff.proof import ProofFailed, prove
    from migrator.diff.sources import from_file
    from migrator.errors import ExitCode

    write(tmp_path / "current.sql", "CREATE TABLE t (a INT);\n")
    with from_file(None, str(tmp_path / "current.sql"), "schema_migrations") as current:
        desired = current.schema  # an up that changes something is then wrong
        d = differ(dialect_of_url(current.space.url))
        try:
            prove(current.space, d, "CREATE TABLE extra (x INT);\n", "DROP TABLE extra;\n",
                  current.schema, desired)
        except ProofFailed as exc:
            assert exc.exit_code == ExitCode.DRIFT
            assert "after the generated up" in str(exc)
            assert "+-- table extra" in exc.difference
        else:
            raise AssertionError("the proof passed an up that adds a table")


def test_a_view_broken_before_the_change_does_not_block_drop_column(tmp_path: Path) -> None:
    """grocy's history: ``SELECT *`` on both sides of a UNION breaks when a column is added
    to one table; SQLite then refuses every RENAME and DROP COLUMN until that view goes."""
    init = ("CREATE TABLE a (x INT);\nCREATE TABLE b (x INT);\nCREATE TABLE u (k INT, z INT);\n"
            "CREATE VIEW both_ AS SELECT * FROM a UNION SELECT * FROM b;\n"
            "ALTER TABLE a ADD COLUMN y INT;\n")
    write(tmp_path / "migrations" / "1_init.up.sql", init)
    write(tmp_path / "desired.sql", "CREATE TABLE a (x INT, y INT);\nCREATE TABLE b (x INT);\n"
          "CREATE TABLE u (k INT);\n"
          "CREATE VIEW both_ AS SELECT * FROM a UNION SELECT * FROM b;\n")
    r = run(tmp_path, "diff", "--to", "desired.sql", "--dry-run", "--allow-destructive")
    assert r.code == 0, r
    up = r.stdout.split("-- down")[0]
    assert up.index("DROP VIEW both_") < up.index("ALTER TABLE u DROP COLUMN z") \
        < up.index("CREATE VIEW both_")


def test_bracket_and_backtick_quotes_compare_like_the_double_quotes_sqlite_writes(
        tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "1_init.up.sql",
          'CREATE TABLE customers (id INTEGER PRIMARY KEY, "order" INT, note TEXT);\n')
    write(tmp_path / "desired.sql",
          "CREATE TABLE [clients] (`id` INTEGER PRIMARY KEY, [order] TEXT, note TEXT);\n")
    r = run(tmp_path, "diff", "--to", "desired.sql", "--rename", "customers:clients",
            "--allow-destructive")
    assert r.code == 0, r
    up, _ = generated(tmp_path)
    assert "ALTER TABLE customers RENAME TO clients;" in up
    assert '"order" TEXT' in up and "_migrator_new_clients" in up  # a type change: rebuilt
