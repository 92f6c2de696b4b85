"""The DuckDB differ on real DuckDB files: for each object kind, a current and a
desired schema are built in two files and read through the catalog; the generated
up is run (by migrator itself, as a migration file) on a third file built like the
current one and must give the desired model, then the down must give the current
one back. Rows survive where the change keeps them, rebuilds included."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from migrator.api import Migrator
from migrator.backends.duckdb.backend import DuckdbBackend
from migrator.backends.duckdb.differ import comparable, script
from migrator.diff.model import Renames, Script
from migrator.progress import Progress
from migrator.schema import Schema

_count = itertools.count()


def built(tmp_path: Path, sql: str) -> tuple[Path, Path]:
    """A DuckDB file with ``sql`` applied by migrator as its first migration."""
    n = next(_count)
    directory = tmp_path / f"m{n}"
    directory.mkdir()
    (directory / "001_start.up.sql").write_text(sql)
    (directory / "001_start.down.sql").write_text("")
    db = tmp_path / f"db{n}.duckdb"
    Migrator(f"duckdb:///{db}", directory, progress=Progress()).up()
    return db, directory


def schema(db: Path) -> Schema:
    backend = DuckdbBackend(str(db), table="schema_migrations", readonly=True, busy_timeout=5)
    try:
        return backend.catalog().schema()
    finally:
        backend.close()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def render(generated: Script) -> str:
    lines = [f"-- migrator: {d}" for d in generated.directives]
    return "\n".join(lines + [s.sql.rstrip() + ";\n" for s in generated.steps])


class Outcome:
    def __init__(self, up: Script, down: Script) -> None:
        self.up, self.down = up, down
        self.checked: list[tuple[object, ...]] = []


def proved(tmp_path: Path, current: str, desired: str, *renames: str, data: str = "",
           check: str = "") -> Outcome:
    cur_db, _ = built(tmp_path, current)
    des_db, _ = built(tmp_path, desired)
    cur, des = schema(cur_db), schema(des_db)
    given = Renames.parse(renames)
    outcome = Outcome(script(cur, des, given), script(des, cur, given.inverse()))
    trial, directory = built(tmp_path, current + data)
    (directory / "002_diff.up.sql").write_text(render(outcome.up))
    (directory / "002_diff.down.sql").write_text(render(outcome.down))
    Migrator(f"duckdb:///{trial}", directory, progress=Progress()).up()
    assert comparable(schema(trial)).lines() == comparable(des).lines(), render(outcome.up)
    assert comparable(schema(trial)) == comparable(des)
    if check:
        outcome.checked = rows(trial, check)
    Migrator(f"duckdb:///{trial}", directory, progress=Progress()).down(steps=1)
    assert comparable(schema(trial)).lines() == comparable(cur).lines(), render(outcome.down)
    return outcome


RICH = """\
CREATE SCHEMA extra;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SEQUENCE ids START 10;
CREATE TABLE users (id INTEGER PRIMARY KEY DEFAULT nextval('ids'), email VARCHAR NOT NULL UNIQUE,
                    feeling mood, born DATE, CHECK (email LIKE '%@%'));
CREATE TABLE orders (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES users(id), ts TIMESTAMP,
                     amount DECIMAL(10,2), total DOUBLE GENERATED ALWAYS AS (amount * 2));
CREATE TABLE extra.things (tags VARCHAR[], info STRUCT(a INTEGER, b VARCHAR));
CREATE INDEX orders_ts ON orders (ts);
CREATE UNIQUE INDEX things_lower ON extra.things ((info.b));
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 10;
CREATE VIEW z_base AS SELECT id FROM users;
CREATE VIEW a_top AS SELECT * FROM z_base;
CREATE MACRO twice(x) AS x * 2;
CREATE MACRO few() AS TABLE SELECT * FROM users LIMIT 1;
"""


def test_equal_schemas_give_an_empty_script(tmp_path: Path) -> None:
    outcome = proved(tmp_path, RICH, RICH)
    assert outcome.up.empty and outcome.down.empty


def test_everything_from_nothing_and_back(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "", RICH)
    assert outcome.up.destructive == []
    assert "drops table users" in outcome.down.destructive


def test_columns_altered_in_place_keep_rows(tmp_path: Path) -> None:
    current = "CREATE TABLE t (id INTEGER, name VARCHAR, n INTEGER, gone INTEGER);\n"
    desired = ("CREATE TABLE t (id INTEGER NOT NULL, name VARCHAR DEFAULT 'x', n BIGINT,\n"
               "  added INTEGER DEFAULT 7);\n")
    outcome = proved(tmp_path, current, desired,
                     data="INSERT INTO t VALUES (1, 'a', 2, 3);\n",
                     check="SELECT id, name, n, added FROM t")
    assert outcome.checked == [(1, "a", 2, 7)]
    assert all(s.sql.startswith("ALTER TABLE") for s in outcome.up.steps)
    assert outcome.up.destructive == ["drops column t.gone"]
    assert any("narrows t.n from BIGINT to INTEGER" in d for d in outcome.down.destructive)


def test_constraint_changes_rebuild_the_table_with_its_rows(tmp_path: Path) -> None:
    current = ("CREATE TABLE t (id INTEGER, code VARCHAR, n INTEGER);\n"
               "CREATE INDEX t_n ON t (n);\n")
    desired = ("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 0),\n"
               "  code VARCHAR UNIQUE);\n"
               "CREATE INDEX t_n ON t (n);\n")
    outcome = proved(tmp_path, current, desired,
                     data="INSERT INTO t VALUES (1, 'a', 5), (2, 'b', 6);\n",
                     check="SELECT id, code, n FROM t ORDER BY id")
    assert outcome.checked == [(1, "a", 5), (2, "b", 6)]
    assert any("rebuilt" in (s.note or "") for s in outcome.up.steps)


def test_a_referenced_table_is_rebuilt_with_the_tables_that_reference_it(
        tmp_path: Path) -> None:
    current = ("CREATE TABLE p (id INTEGER PRIMARY KEY, label VARCHAR);\n"
               "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n")
    desired = ("CREATE TABLE p (id INTEGER PRIMARY KEY, label VARCHAR NOT NULL);\n"
               "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n")
    outcome = proved(tmp_path, current, desired,
                     data="INSERT INTO p VALUES (1, 'x');\nINSERT INTO c VALUES (9, 1);\n",
                     check="SELECT c.id, label FROM c JOIN p ON p.id = c.p_id")
    assert outcome.checked == [(9, "x")]


def test_type_change_under_a_key_rebuilds(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY);\n",
                     "CREATE TABLE t (id BIGINT PRIMARY KEY);\n",
                     data="INSERT INTO t VALUES (4);\n", check="SELECT id FROM t")
    assert outcome.checked == [(4,)]
    assert outcome.up.destructive == []
    assert outcome.down.destructive == ["narrows t.id from BIGINT to INTEGER"]


def test_column_order_change_rebuilds(tmp_path: Path) -> None:
    proved(tmp_path, "CREATE TABLE t (a INTEGER, b VARCHAR);\n",
           "CREATE TABLE t (b VARCHAR, c INTEGER, a INTEGER);\n",
           data="INSERT INTO t VALUES (1, 'x');\n")


def test_renames_are_never_guessed(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TABLE t (id INTEGER, old VARCHAR);\n",
                     "CREATE TABLE t (id INTEGER, new VARCHAR);\n")
    assert outcome.up.destructive == ["drops column t.old"]
    assert any("--rename t.old:new" in w for w in outcome.up.warnings)


def test_table_and_column_renames_keep_rows(tmp_path: Path) -> None:
    current = ("CREATE TABLE t (id INTEGER, old VARCHAR);\nCREATE INDEX t_id ON t (id);\n"
               "CREATE TABLE keyed (id INTEGER PRIMARY KEY, v VARCHAR);\n")
    desired = ("CREATE TABLE u (id INTEGER, new VARCHAR);\nCREATE INDEX t_id ON u (id);\n"
               "CREATE TABLE keyed (id INTEGER PRIMARY KEY, w VARCHAR);\n")
    outcome = proved(tmp_path, current, desired, "t:u", "t.old:new", "keyed.v:w",
                     data="INSERT INTO t VALUES (1, 'kept');\n"
                          "INSERT INTO keyed VALUES (2, 'also');\n",
                     check="SELECT new, w FROM u, keyed")
    assert outcome.checked == [("kept", "also")]
    assert outcome.up.destructive == [] and not outcome.up.warnings


def test_indexes_views_macros_sequences_types(tmp_path: Path) -> None:
    current = ("CREATE TYPE mood AS ENUM ('a');\nCREATE SEQUENCE s INCREMENT BY 1;\n"
               "CREATE TABLE t (id INTEGER, n INTEGER);\nCREATE INDEX t_n ON t (n);\n"
               "CREATE VIEW v AS SELECT id FROM t;\nCREATE MACRO inc(x) AS x + 1;\n")
    desired = ("CREATE TYPE feel AS ENUM ('x', 'y');\nCREATE SEQUENCE s2 INCREMENT BY 2;\n"
               "CREATE TABLE t (id INTEGER, n INTEGER);\nCREATE UNIQUE INDEX t_n ON t (n, id);\n"
               "CREATE VIEW v AS SELECT id, n FROM t;\nCREATE VIEW w AS SELECT * FROM v;\n"
               "CREATE MACRO inc(x) AS x + 2;\n")
    proved(tmp_path, current, desired)


def test_generated_columns(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TABLE t (a INTEGER, b INTEGER AS (a * 2));\n",
                     "CREATE TABLE t (a INTEGER, b INTEGER AS (a * 3));\n",
                     data="INSERT INTO t (a) VALUES (2);\n", check="SELECT b FROM t")
    assert outcome.checked == [(6,)]
    assert outcome.up.destructive == []


@pytest.mark.parametrize(("old", "new", "narrows"), [
    ("INTEGER", "BIGINT", False), ("BIGINT", "INTEGER", True), ("INTEGER", "VARCHAR", False),
    ("VARCHAR", "INTEGER", True), ("DECIMAL(10,2)", "DECIMAL(12,2)", False),
    ("DECIMAL(10,2)", "DECIMAL(10,1)", True), ("DATE", "TIMESTAMP", False),
    ("TIMESTAMP", "DATE", True), ("FLOAT", "DOUBLE", False),
])
def test_narrowing_type_changes_are_marked(tmp_path: Path, old: str, new: str,
                                           narrows: bool) -> None:
    outcome = proved(tmp_path, f"CREATE TABLE t (c {old});\n", f"CREATE TABLE t (c {new});\n")
    assert bool(outcome.up.destructive) is narrows, outcome.up.destructive


# A history shaped like flipt's (its PostgreSQL set, which DuckDB cannot run as is):
# flags, variants and segments; columns added; a table of tokens with an index; then
# namespaces, with flags and variants rebuilt around a composite key; rollouts with a
# sequence and a view; finally a type change, an index widened, an enum and a macro.
HISTORY = [
    "CREATE TABLE flags (key VARCHAR PRIMARY KEY, name VARCHAR NOT NULL,\n"
    "  description VARCHAR NOT NULL DEFAULT '', enabled BOOLEAN NOT NULL DEFAULT FALSE,\n"
    "  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp);\n"
    "CREATE TABLE variants (id VARCHAR PRIMARY KEY, flag_key VARCHAR NOT NULL\n"
    "  REFERENCES flags (key), key VARCHAR NOT NULL, name VARCHAR, UNIQUE (flag_key, key));\n"
    "CREATE TABLE segments (key VARCHAR PRIMARY KEY, name VARCHAR NOT NULL);\n",
    "ALTER TABLE variants ADD COLUMN attachment JSON;\n"
    "ALTER TABLE segments ADD COLUMN match_type INTEGER NOT NULL DEFAULT 0;\n",
    "CREATE TABLE authentications (id VARCHAR PRIMARY KEY, method INTEGER NOT NULL DEFAULT 0,\n"
    "  client_token VARCHAR NOT NULL UNIQUE, metadata VARCHAR, expires_at TIMESTAMP);\n"
    "CREATE INDEX auth_expires ON authentications (expires_at);\n",
    "CREATE TABLE namespaces (key VARCHAR PRIMARY KEY, name VARCHAR NOT NULL,\n"
    "  protected BOOLEAN NOT NULL DEFAULT FALSE);\n"
    "CREATE TABLE old_variants AS SELECT * FROM variants;\nDROP TABLE variants;\n"
    "CREATE TABLE old_flags AS SELECT * FROM flags;\nDROP TABLE flags;\n"
    "CREATE TABLE flags (namespace_key VARCHAR NOT NULL DEFAULT 'default'\n"
    "  REFERENCES namespaces (key), key VARCHAR NOT NULL, name VARCHAR NOT NULL,\n"
    "  description VARCHAR NOT NULL DEFAULT '', enabled BOOLEAN NOT NULL DEFAULT FALSE,\n"
    "  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,\n"
    "  PRIMARY KEY (namespace_key, key));\n"
    "INSERT INTO flags (key, name, description, enabled, created_at)\n"
    "  SELECT key, name, description, enabled, created_at FROM old_flags;\n"
    "CREATE TABLE variants (id VARCHAR PRIMARY KEY, namespace_key VARCHAR NOT NULL DEFAULT\n"
    "  'default', flag_key VARCHAR NOT NULL, key VARCHAR NOT NULL, name VARCHAR, attachment JSON,\n"
    "  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key),\n"
    "  UNIQUE (namespace_key, flag_key, key));\n"
    "INSERT INTO variants (id, flag_key, key, name, attachment)\n"
    "  SELECT id, flag_key, key, name, attachment FROM old_variants;\n"
    "DROP TABLE old_variants;\nDROP TABLE old_flags;\n",
    "ALTER TABLE segments ADD COLUMN description VARCHAR NOT NULL DEFAULT '';\n"
    "CREATE VIEW enabled_flags AS SELECT namespace_key, key FROM flags WHERE enabled;\n"
    "CREATE SEQUENCE rollout_ids;\n"
    "CREATE TABLE rollouts (id INTEGER PRIMARY KEY DEFAULT nextval('rollout_ids'),\n"
    "  namespace_key VARCHAR NOT NULL, flag_key VARCHAR NOT NULL,\n"
    "  rank INTEGER NOT NULL DEFAULT 1,\n"
    "  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, key));\n",
    "ALTER TABLE segments ADD COLUMN metadata JSON;\n"
    "DROP INDEX auth_expires;\n"
    "ALTER TABLE authentications ALTER COLUMN metadata SET DATA TYPE JSON;\n"
    "CREATE INDEX auth_expires ON authentications (expires_at, method);\n"
    "CREATE TYPE rollout_kind AS ENUM ('segment', 'threshold');\n"
    "ALTER TABLE rollouts ADD COLUMN kind rollout_kind;\n"
    "CREATE MACRO flag_id(ns, k) AS ns || '/' || k;\n",
]
PAIRS = [(n, m) for n in range(len(HISTORY)) for m in range(n + 1, len(HISTORY) + 1)]


@pytest.mark.parametrize(("n", "m"), PAIRS, ids=[f"{n}-{m}" for n, m in PAIRS])
def test_history_pairs(tmp_path: Path, n: int, m: int) -> None:
    """Schema after migration n as current, after m as desired: the up and down pass
    the proof (on empty tables: a diff carries no data, as the 3-4 pair shows, where
    flags gain a key to a new, empty namespaces table)."""
    proved(tmp_path, "".join(HISTORY[:n]), "".join(HISTORY[:m]))


def test_history_rows_survive_the_rebuilds(tmp_path: Path) -> None:
    rows = ("INSERT INTO namespaces VALUES ('default', 'Default', TRUE);\n"
            "INSERT INTO flags (key, name) VALUES ('f1', 'first');\n"
            "INSERT INTO variants (id, flag_key, key) VALUES ('v1', 'f1', 'on');\n"
            "INSERT INTO rollouts (namespace_key, flag_key) VALUES ('default', 'f1');\n")
    outcome = proved(tmp_path, "".join(HISTORY[:5]), "".join(HISTORY), data=rows,
                     check="SELECT f.name, v.key, r.id FROM flags f JOIN variants v "
                           "ON v.flag_key = f.key JOIN rollouts r ON r.flag_key = f.key")
    assert outcome.checked == [("first", "on", 1)]


def test_renamed_key_column(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, code VARCHAR UNIQUE,\n"
                     "  n INTEGER CHECK (n > 0));\n",
                     "CREATE TABLE t (ident INTEGER PRIMARY KEY, label VARCHAR UNIQUE,\n"
                     "  amount INTEGER CHECK (amount > 0));\n",
                     "t.id:ident", "t.code:label", "t.n:amount",
                     data="INSERT INTO t VALUES (1, 'a', 2);\n",
                     check="SELECT ident, label, amount FROM t")
    assert outcome.checked == [(1, "a", 2)]
    assert outcome.up.destructive == []


def test_a_column_renamed_to_the_name_of_a_dropped_one(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TABLE t (a INTEGER, b VARCHAR);\n",
                     "CREATE TABLE t (a VARCHAR);\n", "t.b:a",
                     data="INSERT INTO t VALUES (1, 'kept');\n", check="SELECT a FROM t")
    assert outcome.checked == [("kept",)]


def test_a_change_only_the_create_text_shows_rebuilds(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TABLE t (name VARCHAR);\n",
                     "CREATE TABLE t (name VARCHAR COLLATE NOCASE);\n",
                     data="INSERT INTO t VALUES ('Ann');\n", check="SELECT name FROM t")
    assert outcome.checked == [("Ann",)]


def test_an_unchanged_view_over_a_rebuilt_table(tmp_path: Path) -> None:
    view = "CREATE VIEW counts AS SELECT author, count(*) AS n FROM posts GROUP BY author;\n"
    outcome = proved(tmp_path,
                     "CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER);\n" + view,
                     "CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER NOT NULL\n"
                     "  CHECK (author > 0));\n" + view,
                     data="INSERT INTO posts VALUES (1, 7), (2, 7);\n",
                     check="SELECT author, n FROM counts")
    assert outcome.checked == [(7, 2)]


def test_an_enum_type_gains_a_label(tmp_path: Path) -> None:
    outcome = proved(tmp_path, "CREATE TYPE mood AS ENUM ('sad', 'ok');\n"
                     "CREATE TABLE t (id INTEGER, m mood);\n",
                     "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n"
                     "CREATE TABLE t (id INTEGER, m mood);\n",
                     data="INSERT INTO t VALUES (1, 'ok');\n", check="SELECT m FROM t")
    assert outcome.checked == [("ok",)]
