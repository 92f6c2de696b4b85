"""PostgreSQL's differ against the real server: for each object kind, the current
and desired schemas are built from DDL in scratch schemas, read through the
catalog, and the generated up must turn a copy of the current schema into
the desired one (``comparable`` equal), the down back into the current one.
That is the proof ``migrator diff`` runs, exercised here on the differ alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from serverkit import Server

from migrator.backends.base import transaction
from migrator.backends.postgres import differ
from migrator.backends.postgres.backend import PostgresBackend
from migrator.backends.postgres.diff_text import narrows
from migrator.backends.postgres.scratch import with_database, with_search_path
from migrator.backends.postgres.split import split
from migrator.diff.model import Renames, Script
from migrator.schema import Schema


@dataclass
class Spaces:
    """Fresh schemas beside the test's own, dropped afterwards."""

    url: str
    admin: psycopg.Connection[object]
    made: list[str]

    def schema(self, ddl: str) -> str:
        name = f"mt_d{uuid.uuid4().hex[:12]}"
        self.admin.execute(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        if ddl.strip():
            self.run(name, [s.sql for s in split(ddl)])
        return name

    def backend(self, name: str) -> PostgresBackend:
        return PostgresBackend(with_search_path(self.url, name), table="schema_migrations",
                               readonly=False, busy_timeout=10.0)

    def run(self, name: str, statements: list[str], atomic: bool = True) -> None:
        backend = self.backend(name)
        try:
            if atomic:
                with transaction(backend):
                    for stmt in statements:
                        backend.execute(stmt)
            else:
                for stmt in statements:
                    with transaction(backend):
                        backend.execute(stmt)
        finally:
            backend.close()

    def model(self, name: str) -> Schema:
        backend = self.backend(name)
        try:
            return backend.catalog().schema()
        finally:
            backend.close()


@pytest.fixture
def spaces(pg: Server) -> Iterator[Spaces]:
    admin = psycopg.connect(pg.admin_url, autocommit=True)
    made: list[str] = []
    try:
        yield Spaces(pg.admin_url, admin, made)
    finally:
        for name in made:
            admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.close()


def apply(spaces: Spaces, name: str, script: Script) -> None:
    spaces.run(name, [s.sql for s in script.steps], atomic="no-transaction"
               not in script.directives)


def prove(spaces: Spaces, current: str, desired: str, *renames: str,
          rows: str = "") -> tuple[Script, Script]:
    """The up and down between two DDL texts, each applied and compared; ``rows``
    (DML) is run on the copy of the current schema before the up."""
    cur = spaces.model(spaces.schema(current))
    want = spaces.model(spaces.schema(desired))
    given = Renames.parse(renames)
    up = differ.script(cur, want, given)
    down = differ.script(want, cur, given.inverse())
    copy = spaces.schema(current + "\n" + rows)
    apply(spaces, copy, up)
    assert differ.comparable(spaces.model(copy)).lines() == differ.comparable(want).lines(), \
        "\n".join(s.sql for s in up.steps)
    apply(spaces, copy, down)
    assert differ.comparable(spaces.model(copy)).lines() == differ.comparable(cur).lines(), \
        "\n".join(s.sql for s in down.steps)
    again = differ.script(spaces.model(copy), cur, Renames())
    assert again.empty
    return up, down


def sqls(script: Script) -> list[str]:
    return [s.sql for s in script.steps]


# -- tables and columns ------------------------------------------------------------------------

def test_equal_schemas_give_an_empty_script(spaces: Spaces) -> None:
    up, down = prove(spaces, "CREATE TABLE t (id int PRIMARY KEY);",
                     "CREATE TABLE t (id int PRIMARY KEY);")
    assert up.empty and down.empty


def test_tables_created_and_dropped_with_their_constraints(spaces: Spaces) -> None:
    up, down = prove(spaces, "CREATE TABLE keep (id int PRIMARY KEY);", """
        CREATE TABLE keep (id int PRIMARY KEY);
        CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE,
                            age int CHECK (age > 0) DEFAULT 18, keep_id int REFERENCES keep);
        CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                             user_id int REFERENCES users ON DELETE CASCADE,
                             qty int, price numeric(10, 2),
                             total numeric GENERATED ALWAYS AS (qty * price) STORED);
        """)
    text = "\n".join(sqls(up))
    assert text.index("CREATE TABLE orders") < text.index("orders_user_id_fkey")
    assert text.index("CREATE SEQUENCE users_id_seq") < text.index("CREATE TABLE users")
    assert "<schema>" not in text
    assert [s.destructive for s in down.steps if s.destructive] == [
        "drops table orders", "drops table users"]
    assert "DROP SEQUENCE" not in "\n".join(sqls(down))  # went with the serial column


def test_columns_added_dropped_and_altered(spaces: Spaces) -> None:
    up, down = prove(spaces, """
        CREATE TABLE t (id int PRIMARY KEY, name varchar(50) NOT NULL, gone text,
                        n int DEFAULT 1, code text COLLATE "C", price numeric(8, 2),
                        label text);
        """, """
        CREATE TABLE t (id bigint PRIMARY KEY, name varchar(100), n int DEFAULT 2 NOT NULL,
                        code text COLLATE "POSIX", price numeric(10, 2), label varchar(20),
                        born date DEFAULT current_date, added text COLLATE "C");
        """, rows="INSERT INTO t VALUES (1, 'a', 'x', 3, 'c', 1.5, 'l');")
    destructive = [s.destructive for s in up.steps if s.destructive]
    assert destructive == ["drops column t.gone", "changes t.label from text to "
                           "character varying(20)"]
    downs = [s.destructive for s in down.steps if s.destructive]
    assert "changes t.id from bigint to integer" in downs
    assert "changes t.name from character varying(100) to character varying(50)" in downs


def test_type_change_with_using_and_a_default_of_the_old_type(spaces: Spaces) -> None:
    up, _ = prove(spaces, "CREATE TABLE t (n text DEFAULT '1', flag int DEFAULT 0);",
                  "CREATE TABLE t (n integer DEFAULT 1, flag boolean DEFAULT false);",
                  rows="INSERT INTO t VALUES ('42', 1);")
    assert "ALTER TABLE t ALTER COLUMN n TYPE integer USING n::integer" in sqls(up)


def test_a_column_becomes_an_enum_through_text(spaces: Spaces) -> None:
    up, down = prove(spaces, "CREATE TABLE t (sort smallint, kind text DEFAULT 'a');", """
        CREATE TYPE sort_type AS ENUM ('0', '1');
        CREATE TYPE kind AS ENUM ('a', 'b');
        CREATE TABLE t (sort sort_type, kind kind DEFAULT 'a');
        """, rows="INSERT INTO t VALUES (1, 'b');")
    assert "ALTER TABLE t ALTER COLUMN sort TYPE sort_type USING sort::text::sort_type" \
        in sqls(up)
    assert "ALTER TABLE t ALTER COLUMN sort TYPE smallint USING sort::text::smallint" \
        in sqls(down)


def test_identity_and_generated_columns(spaces: Spaces) -> None:
    prove(spaces, """
        CREATE TABLE t (id int NOT NULL, a int, b int GENERATED ALWAYS AS (a * 2) STORED,
                        c int GENERATED ALWAYS AS (a + 1) STORED, d int,
                        e bigint GENERATED BY DEFAULT AS IDENTITY);
        """, """
        CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH 100), a int,
                        b int GENERATED ALWAYS AS (a * 3) STORED, c int,
                        d int GENERATED ALWAYS AS (a - 1) STORED,
                        e bigint GENERATED ALWAYS AS IDENTITY);
        """, rows="INSERT INTO t (id, a, d) VALUES (1, 2, 3);")


def test_renamed_table_and_column_keep_their_rows(spaces: Spaces) -> None:
    up, down = prove(spaces, """
        CREATE TABLE people (id serial PRIMARY KEY, name text UNIQUE);
        CREATE TABLE pets (id int PRIMARY KEY, owner int REFERENCES people);
        CREATE INDEX people_name_lower ON people (lower(name));
        """, """
        CREATE TABLE users (id serial PRIMARY KEY, full_name text UNIQUE);
        CREATE TABLE pets (id int PRIMARY KEY, owner int REFERENCES users);
        CREATE INDEX people_name_lower ON users (lower(full_name));
        """, "people:users", "people.name:full_name",
        rows="INSERT INTO people (name) VALUES ('a'); INSERT INTO pets VALUES (1, 1);")
    assert sqls(up)[:2] == ["ALTER TABLE people RENAME TO users",
                            "ALTER TABLE users RENAME COLUMN name TO full_name"]
    assert not up.destructive and not down.destructive
    assert "ALTER SEQUENCE people_id_seq RENAME TO users_id_seq" in sqls(up)
    assert not [s for s in sqls(up) if "DROP" in s]  # constraints and indexes follow


def test_a_renamed_key_column_keeps_its_key_and_the_foreign_keys(spaces: Spaces) -> None:
    up, _ = prove(spaces, """
        CREATE TABLE a (id int PRIMARY KEY, code text, CHECK (code <> 'id'));
        CREATE TABLE b (a_id int REFERENCES a (id));
        CREATE INDEX a_code ON a (code) WHERE id > 0;
        """, """
        CREATE TABLE a (key int PRIMARY KEY, code text, CHECK (code <> 'id'));
        CREATE TABLE b (a_key int REFERENCES a (key));
        CREATE INDEX a_code ON a (code) WHERE key > 0;
        """, "a.id:key", "b.a_id:a_key", rows="INSERT INTO a VALUES (1, 'x'); "
        "INSERT INTO b VALUES (1);")
    assert sqls(up) == ["ALTER TABLE a RENAME COLUMN id TO key",
                        "ALTER TABLE b RENAME COLUMN a_id TO a_key",
                        "ALTER TABLE b RENAME CONSTRAINT b_a_id_fkey TO b_a_key_fkey"]


def test_a_renamed_table_with_an_identity_column(spaces: Spaces) -> None:
    up, _ = prove(spaces, """
        CREATE TABLE a (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 5) PRIMARY KEY);
        """, """
        CREATE TABLE b (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 5) PRIMARY KEY);
        """, "a:b", rows="INSERT INTO a DEFAULT VALUES;")
    assert sqls(up) == ["ALTER TABLE a RENAME TO b",
                        "ALTER TABLE b RENAME CONSTRAINT a_pkey TO b_pkey",
                        "ALTER SEQUENCE a_id_seq RENAME TO b_id_seq"]


def test_a_drop_and_an_add_are_not_guessed_as_a_rename(spaces: Spaces) -> None:
    up, _ = prove(spaces, "CREATE TABLE old (id int);", "CREATE TABLE new (id int);")
    assert up.destructive == ["drops table old"]
    assert any("--rename old:new" in w for w in up.warnings)
    up, _ = prove(spaces, "CREATE TABLE t (a int);", "CREATE TABLE t (b int);")
    assert up.destructive == ["drops column t.a"]
    assert up.warnings == ("column t.a is dropped and column t.b added: if it was renamed, "
                           "pass --rename t.a:b",)


# -- constraints and indexes -------------------------------------------------------------------

def test_constraints_changed_and_foreign_keys_around_a_new_primary_key(spaces: Spaces) -> None:
    prove(spaces, """
        CREATE TABLE a (id int, code text, CONSTRAINT a_pkey PRIMARY KEY (id),
                        CONSTRAINT a_code UNIQUE (code), CONSTRAINT a_chk CHECK (id > 0));
        CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a, r int,
                        EXCLUDE USING btree (r WITH =));
        """, """
        CREATE TABLE a (id int, code text NOT NULL, CONSTRAINT a_pkey PRIMARY KEY (id, code),
                        CONSTRAINT a_chk CHECK (id > 1) NOT VALID);
        CREATE TABLE b (id int PRIMARY KEY, a_id int, a_code text, r int,
                        FOREIGN KEY (a_id, a_code) REFERENCES a ON DELETE SET NULL);
        """)


def test_indexes_partial_expression_unique_and_include(spaces: Spaces) -> None:
    prove(spaces, """
        CREATE TABLE t (a int, b text, c timestamptz);
        CREATE INDEX t_a ON t (a);
        CREATE INDEX t_gone ON t (b);
        """, """
        CREATE TABLE t (a int, b text, c timestamptz);
        CREATE INDEX t_a ON t (a) WHERE a > 0;
        CREATE UNIQUE INDEX t_lower ON t (lower(b), (a + 1)) INCLUDE (c);
        CREATE INDEX t_brin ON t USING brin (c);
        """)


PARTITIONED = """
CREATE TABLE refd (x int PRIMARY KEY);
CREATE TABLE events (id int, at date, k text, PRIMARY KEY (id, at), CHECK (id > 0),
                     FOREIGN KEY (id) REFERENCES refd) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_rest PARTITION OF events DEFAULT PARTITION BY LIST (id);
CREATE TABLE events_rest_1 PARTITION OF events_rest FOR VALUES IN (1, 2);
CREATE INDEX events_k ON events (k);
CREATE TABLE ref (id int, at date, FOREIGN KEY (id, at) REFERENCES events);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER events_stamp BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION stamp();
"""


def test_partitioned_tables_created_altered_and_dropped(spaces: Spaces) -> None:
    up, down = prove(spaces, "CREATE TABLE keep (id int);", PARTITIONED)
    text = "\n".join(sqls(up))
    assert "CREATE TABLE events_rest_1 PARTITION OF events_rest\nFOR VALUES IN (1, 2)" in text
    assert "CREATE INDEX events_k ON events USING btree (k)" in text  # not ON ONLY
    assert sqls(down).index("DROP TABLE events_rest_1") < sqls(down).index("DROP TABLE events")
    up, _ = prove(spaces, PARTITIONED, PARTITIONED.replace("k text", "k varchar(5), extra int")
                  .replace("'2025-01-01'", "'2024-07-01'"))
    assert "ALTER TABLE events ADD COLUMN extra integer" in sqls(up)
    assert "ALTER TABLE events_2024 ADD COLUMN extra integer" not in sqls(up)
    assert up.destructive == ["drops table events_2024",
                              "changes events.k from text to character varying(5)"]
    assert not up.warnings  # a table dropped and created again is no rename


# -- views, triggers, routines ----------------------------------------------------------------

VIEWS = """
CREATE TABLE t (id int PRIMARY KEY, v text, n int);
CREATE VIEW v1 AS SELECT id, v FROM t;
CREATE VIEW v2 AS SELECT id FROM v1 WHERE id > 1;
CREATE MATERIALIZED VIEW m AS SELECT n, count(*) AS c FROM t GROUP BY n;
CREATE INDEX m_n ON m (n);
"""


def test_views_dropped_before_the_column_they_read_changes(spaces: Spaces) -> None:
    up, _ = prove(spaces, VIEWS, VIEWS.replace("v text", "v varchar(10)")
                  .replace("n int)", "n bigint)"))
    text = sqls(up)
    assert text.index("DROP VIEW v2") < text.index("DROP VIEW v1") < \
        text.index("ALTER TABLE t ALTER COLUMN v TYPE character varying(10)") < \
        text.index("CREATE VIEW v1 AS\nSELECT t.id,\n    t.v\n   FROM t") < \
        text.index("CREATE VIEW v2 AS\nSELECT v1.id\n   FROM v1\n  WHERE (v1.id > 1)")


def test_views_changed_added_and_dropped(spaces: Spaces) -> None:
    prove(spaces, VIEWS, """
        CREATE TABLE t (id int PRIMARY KEY, v text, n int);
        CREATE VIEW v1 AS SELECT id, v, n FROM t;
        CREATE VIEW v3 AS SELECT count(*) FROM v1;
        CREATE MATERIALIZED VIEW m AS SELECT n, count(*) AS c, max(id) AS top FROM t
            GROUP BY n;
        CREATE UNIQUE INDEX m_n ON m (n);
        """)


def test_triggers_and_functions(spaces: Spaces) -> None:
    base = """
        CREATE TABLE t (id int, note text);
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.note := 'a'; RETURN NEW; END $$;
        CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT x * 2';
        CREATE FUNCTION gone() RETURNS int LANGUAGE sql AS 'SELECT 1';
        CREATE PROCEDURE p(a int) LANGUAGE sql AS 'SELECT a';
        CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE VIEW v AS SELECT twice(id) FROM t;
        """
    up, _ = prove(spaces, base, """
        CREATE TABLE t (id int, note text);
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.note := 'b'; RETURN NEW; END $$;
        CREATE FUNCTION twice(x int) RETURNS bigint LANGUAGE sql AS 'SELECT x * 2::bigint';
        CREATE TABLE t2 (id int);
        CREATE FUNCTION counted() RETURNS bigint LANGUAGE sql BEGIN ATOMIC
            SELECT count(*) FROM t2; END;
        CREATE PROCEDURE p(a int, b text) LANGUAGE sql AS 'SELECT a';
        CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE ON t FOR EACH ROW
            EXECUTE FUNCTION touch();
        CREATE TRIGGER t_again AFTER DELETE ON t FOR EACH STATEMENT EXECUTE FUNCTION touch();
        CREATE VIEW v AS SELECT twice(id) FROM t;
        """)
    text = sqls(up)
    assert "DROP FUNCTION twice(x integer)" in text
    assert "DROP PROCEDURE p(IN a integer)" in text


def test_sql_functions_around_the_tables_they_read_and_the_defaults_that_call_them(
        spaces: Spaces) -> None:
    up, _ = prove(spaces, "CREATE TABLE u (a int);", """
        CREATE TABLE language (id int);
        CREATE FUNCTION token() RETURNS text LANGUAGE sql AS 'SELECT md5(random()::text)';
        CREATE TABLE t (x text DEFAULT token());
        CREATE TABLE u (a int, b int);
        CREATE FUNCTION bees() RETURNS bigint LANGUAGE sql AS 'SELECT sum(b) FROM u';
        """)
    text = sqls(up)
    first = next(i for i, s in enumerate(text) if "FUNCTION token()" in s)
    bees = next(i for i, s in enumerate(text) if "FUNCTION bees()" in s)
    assert first < text.index("CREATE TABLE t (\n    x text DEFAULT token()\n)")
    assert bees > text.index("ALTER TABLE u ADD COLUMN b integer")


def test_a_table_dropped_with_its_trigger_and_the_function_that_reads_it(
        spaces: Spaces) -> None:
    up, _ = prove(spaces, """
        CREATE TABLE stats (n int);
        CREATE TABLE t (id int);
        CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN UPDATE stats SET n = n + 1; RETURN NEW; END $$;
        CREATE TRIGGER stats_bump AFTER INSERT ON stats FOR EACH ROW EXECUTE FUNCTION bump();
        """, "CREATE TABLE t (id int);")
    text = sqls(up)
    assert text.index("DROP TRIGGER stats_bump ON stats") < text.index("DROP FUNCTION bump()") \
        < text.index("DROP TABLE stats")


# -- types and sequences -----------------------------------------------------------------------

def test_enum_values_appended_inserted_and_removed(spaces: Spaces) -> None:
    up, down = prove(spaces, """
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE TABLE t (m mood DEFAULT 'sad', ms mood[], CHECK (m <> 'happy'));
        """, """
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'great');
        CREATE TABLE t (m mood DEFAULT 'sad', ms mood[], CHECK (m <> 'happy'));
        """, rows="INSERT INTO t VALUES ('sad', '{sad,happy}');")
    assert "ALTER TYPE mood ADD VALUE 'ok' AFTER 'sad'" in sqls(up)
    assert not up.directives  # the new values are not used by the same file
    assert down.destructive == ["removes 'ok', 'great' from enum mood"]


def test_a_new_enum_value_used_in_the_same_file_runs_without_transaction(
        spaces: Spaces) -> None:
    up, _ = prove(spaces, """
        CREATE TYPE mood AS ENUM ('sad');
        CREATE TABLE t (m mood DEFAULT 'sad');
        """, """
        CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE t (m mood DEFAULT 'ok');
        """)
    assert up.directives == ("no-transaction",)
    assert up.warnings


def test_domains_and_composite_types(spaces: Spaces) -> None:
    prove(spaces, """
        CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
        CREATE DOMAIN code AS text;
        CREATE TYPE pair AS (a integer, b text);
        CREATE TYPE gone AS (x int);
        CREATE TABLE t (p posint, c code, pr pair);
        """, """
        CREATE DOMAIN posint AS integer DEFAULT 1 NOT NULL CHECK (VALUE > 1)
            CONSTRAINT small CHECK (VALUE < 100);
        CREATE DOMAIN code AS varchar(10) COLLATE "C";
        CREATE DOMAIN fresh AS numeric(4, 1);
        CREATE TYPE pair AS (a bigint, c date);
        CREATE TABLE t (p posint, c text, pr pair);
        """)


def test_a_domain_in_use_rebuilt_on_a_new_base_type(spaces: Spaces) -> None:
    up, _ = prove(spaces, """
        CREATE DOMAIN amount AS integer CHECK (VALUE >= 0);
        CREATE TABLE t (a amount DEFAULT 0, b amount[]);
        CREATE VIEW v AS SELECT a FROM t;
        """, """
        CREATE DOMAIN amount AS numeric(12, 2) CHECK (VALUE >= 0);
        CREATE TABLE t (a amount DEFAULT 0, b amount[]);
        CREATE VIEW v AS SELECT a FROM t;
        """, rows="INSERT INTO t VALUES (5, '{1,2}');")
    assert "ALTER TABLE t ALTER COLUMN a TYPE amount USING a::numeric(12,2)::amount" \
        in sqls(up)
    assert "ALTER TABLE t ALTER COLUMN b TYPE amount[] USING b::numeric(12,2)[]::amount[]" \
        in sqls(up)


def test_sequences_created_altered_owned_and_dropped(spaces: Spaces) -> None:
    prove(spaces, """
        CREATE SEQUENCE counter START 10 INCREMENT 5;
        CREATE SEQUENCE gone;
        CREATE TABLE t (id int);
        """, """
        CREATE SEQUENCE counter AS integer START 1 INCREMENT 2 MAXVALUE 1000 CYCLE;
        CREATE SEQUENCE fresh;
        CREATE TABLE t (id int DEFAULT nextval('fresh'));
        ALTER SEQUENCE fresh OWNED BY t.id;
        """)


# -- a history like the real ones (diesel style, as in Lemmy's first years) --------------------

HISTORY = [
    """
    CREATE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
    BEGIN
        IF (NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
        THEN NEW.updated_at := current_timestamp; END IF;
        RETURN NEW;
    END; $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TABLE user_ (id serial PRIMARY KEY, name varchar(20) NOT NULL UNIQUE,
                        published timestamp NOT NULL DEFAULT now(), updated_at timestamp);
    CREATE TRIGGER set_updated_at BEFORE UPDATE ON user_ FOR EACH ROW
        EXECUTE PROCEDURE diesel_set_updated_at();
    INSERT INTO user_ (name) VALUES ('admin'), ('bob');
    """,
    """
    CREATE TYPE sort_type AS ENUM ('Active', 'Hot');
    CREATE TABLE post (id serial PRIMARY KEY, name varchar(100) NOT NULL,
                       creator_id int NOT NULL REFERENCES user_ ON UPDATE CASCADE
                           ON DELETE CASCADE,
                       body text, sort sort_type DEFAULT 'Hot',
                       published timestamp NOT NULL DEFAULT now());
    CREATE INDEX idx_post_creator ON post (creator_id);
    INSERT INTO post (name, creator_id, sort) VALUES ('hello', 1, 'Active');
    """,
    """
    CREATE VIEW post_view AS SELECT p.*, u.name AS creator_name
        FROM post p JOIN user_ u ON p.creator_id = u.id;
    """,
    """
    CREATE MATERIALIZED VIEW post_aggregates AS
        SELECT creator_id, count(*) AS posts FROM post GROUP BY creator_id;
    CREATE UNIQUE INDEX idx_post_aggregates ON post_aggregates (creator_id);
    """,
    """
    ALTER TYPE sort_type ADD VALUE 'New' BEFORE 'Hot';
    DROP VIEW post_view;
    ALTER TABLE user_ ALTER COLUMN name TYPE varchar(40);
    CREATE VIEW post_view AS SELECT p.*, u.name AS creator_name
        FROM post p JOIN user_ u ON p.creator_id = u.id;
    """,
    """
    ALTER TABLE post ADD COLUMN nsfw boolean NOT NULL DEFAULT false;
    CREATE FUNCTION post_count(uid int) RETURNS bigint LANGUAGE sql STABLE
        AS 'SELECT count(*) FROM post WHERE creator_id = uid';
    CREATE TABLE comment (id serial PRIMARY KEY,
                          post_id int NOT NULL REFERENCES post ON DELETE CASCADE,
                          parent_id int REFERENCES comment,
                          content text NOT NULL CHECK (length(content) < 10000),
                          published timestamp NOT NULL DEFAULT now());
    INSERT INTO comment (post_id, content) VALUES (1, 'first');
    """,
    """
    CREATE FUNCTION refresh_aggregates() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN REFRESH MATERIALIZED VIEW post_aggregates; RETURN NULL; END $$;
    CREATE TRIGGER refresh_post AFTER INSERT OR UPDATE OR DELETE ON post
        FOR EACH STATEMENT EXECUTE PROCEDURE refresh_aggregates();
    """,
    """
    DROP VIEW post_view;
    ALTER TABLE post DROP COLUMN sort;
    DROP TYPE sort_type;
    ALTER TABLE user_ ALTER COLUMN published TYPE timestamptz;
    ALTER TABLE user_ ADD COLUMN email text;
    CREATE UNIQUE INDEX idx_user_email_lower ON user_ (lower(email)) WHERE email IS NOT NULL;
    CREATE VIEW post_view AS SELECT p.*, u.name AS creator_name, post_count(u.id) AS n
        FROM post p JOIN user_ u ON p.creator_id = u.id;
    """,
    """
    CREATE DOMAIN url AS text CHECK (VALUE ~ '^https?://');
    ALTER TABLE post ADD COLUMN link url;
    ALTER TABLE comment RENAME TO reply;
    ALTER TABLE reply ALTER COLUMN id TYPE bigint;
    CREATE SEQUENCE report_seq START 1000;
    CREATE TABLE report (id int PRIMARY KEY DEFAULT nextval('report_seq'),
                         reply_id bigint REFERENCES reply ON DELETE SET NULL);
    """,
]


@pytest.mark.parametrize("k", [1, 3, len(HISTORY)])
def test_history_pairs_round_trip(spaces: Spaces, k: int) -> None:
    """Schema after N files as current, after N+k as desired, for every N."""
    for n in range(len(HISTORY) - k + 1 if k < len(HISTORY) else 1):
        current = "\n".join(HISTORY[:n])
        desired = "\n".join(HISTORY[:n + k])
        prove(spaces, current, desired)


@pytest.fixture
def databases(pg: Server) -> Iterator[list[str]]:
    """Databases of their own: an extension lives once per database, not per schema."""
    made: list[str] = []
    admin = psycopg.connect(pg.admin_url, autocommit=True)
    try:
        yield made
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_extensions_created_first_and_dropped_last(pg: Server, databases: list[str]) -> None:
    current = "CREATE TABLE t (s text);"
    desired = """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE TABLE t (s text);
        CREATE INDEX t_trgm ON t USING gin (s gin_trgm_ops);
        """
    admin = psycopg.connect(pg.admin_url, autocommit=True)
    urls = []
    try:
        for _ in range(3):
            name = f"mt_dx{uuid.uuid4().hex[:12]}"
            admin.execute(f'CREATE DATABASE "{name}"')
            databases.append(name)
            urls.append(with_database(pg.admin_url, name))
    finally:
        admin.close()
    spaces = [Spaces(url, psycopg.connect(url, autocommit=True), []) for url in urls]
    try:
        for space, ddl in zip(spaces, (current, desired, current), strict=True):
            space.run("public", [s.sql for s in split(ddl)])
        cur, want = spaces[0].model("public"), spaces[1].model("public")
        assert [o.kind for o in want.objects] == ["extension"]  # not its functions
        up = differ.script(cur, want, Renames())
        down = differ.script(want, cur, Renames())
        assert sqls(up) == ["CREATE EXTENSION IF NOT EXISTS pg_trgm",
                            "CREATE INDEX t_trgm ON t USING gin (s gin_trgm_ops)"]
        assert sqls(down) == ["DROP INDEX t_trgm", "DROP EXTENSION pg_trgm"]
        apply(spaces[2], "public", up)
        assert spaces[2].model("public") == want
        apply(spaces[2], "public", down)
        assert spaces[2].model("public") == cur
    finally:
        for space in spaces:
            space.admin.close()



@pytest.mark.parametrize(("old", "new", "loses"), [
    ("character varying(10)", "character varying(20)", False),
    ("character varying(20)", "character varying(10)", True),
    ("character varying(20)", "text", False),
    ("text", "character varying(20)", True),
    ("numeric(8,2)", "numeric(10,2)", False),
    ("numeric(10,2)", "numeric(8,2)", True),
    ("numeric(10,2)", "numeric(12,4)", True),
    ("integer", "bigint", False),
    ("bigint", "integer", True),
    ("smallint", "numeric", False),
    ("real", "double precision", False),
    ("double precision", "real", True),
    ("json", "jsonb", False),
    ("integer", "text", False),
    ("text", "integer", True),
    ("integer[]", "bigint[]", False),
    ("integer", "integer[]", True),
    ("timestamp without time zone", "timestamp with time zone", False),
])
def test_which_type_changes_are_destructive(old: str, new: str, loses: bool) -> None:
    assert narrows(old, new) is loses
