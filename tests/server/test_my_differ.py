"""The MySQL/MariaDB differ on the real server: for each object kind, a current and a
desired schema are built in two fresh databases and read through the catalog; the
generated up is run (by migrator itself, as a migration file) on a third database
built like the current one and must give the desired model, then the down must
give the current one back. Rows survive where the change keeps them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from contract.backends import named, usable

from migrator.api import Migrator
from migrator.backends.mysql.backend import MysqlBackend
from migrator.backends.mysql.differ import comparable, script
from migrator.diff.model import Renames, Script
from migrator.progress import Progress
from migrator.schema import Schema


class Kit:
    """Fresh databases on the test server, dropped at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.server = usable(named("mysql")).url()
        self.made: list[str] = []

    def _admin(self) -> pymysql.Connection:  # type: ignore[type-arg]
        from urllib.parse import urlsplit

        parts = urlsplit(self.server)
        return pymysql.connect(host=parts.hostname, port=parts.port or 3306,
                               user=parts.username or "root", password=parts.password or "",
                               autocommit=True)

    def database(self) -> str:
        from urllib.parse import urlsplit, urlunsplit

        name = "diffmy_" + uuid.uuid4().hex[:10]
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        self.made.append(name)
        parts = urlsplit(self.server)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))

    def close(self) -> None:
        with self._admin() as conn, conn.cursor() as cur:
            for name in self.made:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def built(self, files: dict[str, str]) -> tuple[str, Path]:
        """A database with ``files`` (name -> up text) applied by migrator."""
        url = self.database()
        directory = self.tmp_path / url.rsplit("/", 1)[1]
        directory.mkdir()
        for name, text in files.items():
            (directory / f"{name}.up.sql").write_text(text)
            (directory / f"{name}.down.sql").write_text("")
        Migrator(url, directory, progress=Progress()).up()
        return url, directory

    @staticmethod
    def schema(url: str) -> Schema:
        backend = MysqlBackend(url, table="schema_migrations", readonly=True, busy_timeout=5)
        try:
            return backend.catalog().schema()
        finally:
            backend.close()

    @staticmethod
    def rows(url: str, sql: str) -> list[tuple[object, ...]]:
        backend = MysqlBackend(url, table="schema_migrations", readonly=True, busy_timeout=5)
        try:
            return [tuple(r) for r in backend._query(sql)]
        finally:
            backend.close()


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    made = Kit(tmp_path)
    try:
        yield made
    finally:
        made.close()


def render(generated: Script) -> str:
    lines = [f"-- migrator: {d}" for d in generated.directives]
    return "\n".join(lines + [s.sql.rstrip() + ";\n" for s in generated.steps])


class Outcome:
    def __init__(self, up: Script, down: Script, url: str) -> None:
        self.up, self.down, self.url = up, down, url


def proved(kit: Kit, current: str, desired: str, *renames: str, rows: str = "",
           check: str = "") -> Outcome:
    """Generate both files, run the up on a copy of current (plus ``rows``), compare
    with desired; run the down, compare with current. ``check`` (a query) reads the
    rows after the up, for the caller."""
    cur_url, _ = kit.built({"001_current": current})
    des_url, _ = kit.built({"001_desired": desired})
    cur, des = kit.schema(cur_url), kit.schema(des_url)
    given = Renames.parse(renames)
    up, down = script(cur, des, given), script(des, cur, given.inverse())
    trial_url, directory = kit.built({"001_current": current + rows})
    (directory / "002_diff.up.sql").write_text(render(up))
    (directory / "002_diff.down.sql").write_text(render(down))
    Migrator(trial_url, directory, progress=Progress()).up()
    after_up = kit.schema(trial_url)
    assert comparable(after_up).lines() == comparable(des).lines(), render(up)
    assert comparable(after_up) == comparable(des)
    outcome = Outcome(up, down, trial_url)
    if check:
        outcome.checked = kit.rows(trial_url, check)  # type: ignore[attr-defined]
    Migrator(trial_url, directory, progress=Progress()).down(steps=1)
    after_down = kit.schema(trial_url)
    assert comparable(after_down).lines() == comparable(cur).lines(), render(down)
    return outcome


def test_equal_schemas_give_an_empty_script(kit: Kit) -> None:
    sql = "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20));\n"
    outcome = proved(kit, sql, sql)
    assert outcome.up.empty and outcome.down.empty


def test_tables_created_and_dropped_in_foreign_key_order(kit: Kit) -> None:
    current = "CREATE TABLE keep (id INT PRIMARY KEY);\n"
    desired = current + (
        "CREATE TABLE b_child (id INT PRIMARY KEY, a_id INT,\n"
        "  CONSTRAINT child_parent FOREIGN KEY (a_id) REFERENCES z_parent (id));\n"
    ).replace("CREATE TABLE b_child", "CREATE TABLE z_parent (id INT PRIMARY KEY);\n"
              "CREATE TABLE b_child")
    outcome = proved(kit, current, desired)
    assert outcome.up.destructive == []
    assert outcome.down.destructive == ["drops table b_child", "drops table z_parent"]


def test_columns_added_dropped_moved_and_changed_keep_order_and_rows(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, a VARCHAR(10) NOT NULL,\n"
               "  b INT, c TEXT, gone INT DEFAULT 3);\n")
    desired = ("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, fresh INT DEFAULT 7,\n"
               "  b BIGINT NOT NULL DEFAULT 0, a VARCHAR(40) NOT NULL COMMENT 'wider',\n"
               "  c TEXT, d DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);\n")
    outcome = proved(kit, current, desired,
                     rows="INSERT INTO t (a, b, c) VALUES ('x', 1, 'one'), ('y', 2, 'two');\n",
                     check="SELECT a, b, c, fresh FROM t ORDER BY id")
    assert outcome.checked == [("x", 1, "one", 7), ("y", 2, "two", 7)]  # type: ignore[attr-defined]
    assert outcome.up.destructive == ["drops column t.gone"]
    assert any("narrows t.a from varchar(40) to varchar(10)" in d
               for d in outcome.down.destructive)
    assert any("narrows t.b" in d for d in outcome.down.destructive)


def test_keys_unique_fulltext_primary_and_checks(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT NOT NULL, code VARCHAR(10), body TEXT, n INT,\n"
               "  PRIMARY KEY (id), KEY by_code (code), CONSTRAINT positive CHECK (n > 0));\n")
    desired = ("CREATE TABLE t (id INT NOT NULL, code VARCHAR(10) NOT NULL, body TEXT, n INT,\n"
               "  PRIMARY KEY (id, code), UNIQUE KEY by_code (code), FULLTEXT KEY words (body),\n"
               "  KEY n_first (n, code(4)), CONSTRAINT positive CHECK (n > 1),\n"
               "  CHECK (n < 100));\n")
    proved(kit, current, desired)


def test_foreign_keys_added_changed_and_dropped(kit: Kit) -> None:
    base = ("CREATE TABLE p (id INT PRIMARY KEY, code INT UNIQUE);\n"
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT, p_code INT")
    current = base + ",\n  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));\n"
    desired = base + (",\n  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id)"
                      " ON DELETE CASCADE,\n"
                      "  CONSTRAINT c_code FOREIGN KEY (p_code) REFERENCES p (code));\n")
    proved(kit, current, desired)


def test_dropping_a_referenced_table_drops_the_key_first(kit: Kit) -> None:
    current = ("CREATE TABLE p (id INT PRIMARY KEY);\n"
               "CREATE TABLE c (id INT PRIMARY KEY, p_id INT,\n"
               "  FOREIGN KEY (p_id) REFERENCES p (id));\n")
    desired = "CREATE TABLE c (id INT PRIMARY KEY, p_id INT, KEY p_id (p_id));\n"
    proved(kit, current, desired)


def test_table_options_and_character_set(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), tag CHAR(3))\n"
               "  ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='old';\n")
    desired = ("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), tag CHAR(3) CHARACTER SET "
               "latin1)\n  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n")
    proved(kit, current, desired)


def test_generated_columns(kit: Kit) -> None:
    current = ("CREATE TABLE t (a INT, b INT AS (a * 2) VIRTUAL, s INT AS (a + 1) STORED,\n"
               "  KEY b_and_a (b, a), CONSTRAINT b_small CHECK (b < 1000));\n")
    desired = ("CREATE TABLE t (a INT, b INT AS (a * 3) VIRTUAL, s INT,\n"
               "  KEY b_and_a (b, a), CONSTRAINT b_small CHECK (b < 1000));\n")
    outcome = proved(kit, current, desired)
    assert outcome.up.destructive == []  # a generated column holds nothing of its own
    assert outcome.down.destructive == ["drops column t.s"]


def test_renames_are_never_guessed(kit: Kit) -> None:
    current = "CREATE TABLE t (id INT PRIMARY KEY, old_name VARCHAR(10));\n"
    desired = "CREATE TABLE t (id INT PRIMARY KEY, new_name VARCHAR(10));\n"
    outcome = proved(kit, current, desired)
    assert outcome.up.destructive == ["drops column t.old_name"]
    assert any("--rename t.old_name:new_name" in w for w in outcome.up.warnings)


def test_column_and_table_renames_keep_rows(kit: Kit) -> None:
    current = ("CREATE TABLE p (id INT PRIMARY KEY, title VARCHAR(10), KEY title (title));\n"
               "CREATE TABLE c (id INT PRIMARY KEY, p_id INT,\n"
               "  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));\n")
    desired = ("CREATE TABLE posts (id INT PRIMARY KEY, heading VARCHAR(10),\n"
               "  KEY title (heading));\n"
               "CREATE TABLE c (id INT PRIMARY KEY, post_id INT,\n"
               "  CONSTRAINT c_p FOREIGN KEY (post_id) REFERENCES posts (id));\n")
    outcome = proved(kit, current, desired, "p:posts", "p.title:heading", "c.p_id:post_id",
                     rows="INSERT INTO p VALUES (1, 'kept');\nINSERT INTO c VALUES (5, 1);\n",
                     check="SELECT heading, post_id FROM posts JOIN c ON c.post_id = posts.id")
    assert outcome.checked == [("kept", 1)]  # type: ignore[attr-defined]
    assert outcome.up.destructive == []
    assert not outcome.up.warnings


def test_views_in_dependency_order(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT, price INT);\n"
               "CREATE VIEW v_all AS SELECT id, price FROM t;\n"
               "CREATE VIEW gone AS SELECT 1 AS one;\n")
    desired = ("CREATE TABLE t (id INT, price INT, qty INT);\n"
               "CREATE VIEW v_all AS SELECT id, price, qty FROM t;\n"
               "CREATE VIEW a_top AS SELECT MAX(qty) AS top FROM v_all;\n")
    proved(kit, current, desired)


def test_view_over_a_dropped_column_goes_first(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT, price INT);\n"
               "CREATE VIEW v AS SELECT id, price FROM t;\n")
    desired = ("CREATE TABLE t (id INT);\n"
               "CREATE VIEW v AS SELECT id FROM t;\n")
    outcome = proved(kit, current, desired)
    sql = [s.sql for s in outcome.up.steps]
    assert sql[0] == "DROP VIEW `v`" and sql[-1].startswith("CREATE")


def test_triggers_routines_and_events(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT, n INT);\n"
               "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.n = 1;\n"
               "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;\n"
               "CREATE PROCEDURE gone() BEGIN SELECT 1; END;\n")
    desired = ("CREATE TABLE t (id INT, n INT);\n"
               "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.n = 2;\n"
               "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x + x;\n"
               "CREATE PROCEDURE fill(IN k INT)\nBEGIN\n  INSERT INTO t VALUES (k, twice(k));\n"
               "  SELECT k;\nEND;\n"
               "CREATE EVENT tidy ON SCHEDULE EVERY 1 DAY DO DELETE FROM t WHERE n < 0;\n")
    proved(kit, current, desired)


def test_dropped_table_with_trigger(kit: Kit) -> None:
    current = ("CREATE TABLE t (id INT);\nCREATE TABLE log (n INT);\n"
               "CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW INSERT INTO log VALUES (1);\n")
    desired = "CREATE TABLE log (n INT);\n"
    proved(kit, current, desired)


def test_sequences(kit: Kit) -> None:
    current = "CREATE TABLE t (id INT);\n"
    desired = ("CREATE SEQUENCE ids START WITH 10 INCREMENT BY 5;\n"
               "CREATE TABLE t (id INT DEFAULT NEXTVAL(ids));\n")
    proved(kit, current, desired)


@pytest.mark.parametrize(("old", "new", "narrows"), [
    ("VARCHAR(50)", "VARCHAR(20)", True), ("VARCHAR(20)", "VARCHAR(50)", False),
    ("INT", "SMALLINT", True), ("INT", "BIGINT", False), ("INT", "INT UNSIGNED", True),
    ("TEXT", "VARCHAR(100)", True), ("VARCHAR(100)", "TEXT", False),
    ("DECIMAL(10,2)", "DECIMAL(12,2)", False), ("DECIMAL(10,2)", "DECIMAL(10,1)", True),
    ("ENUM('a','b')", "ENUM('a','b','c')", False), ("ENUM('a','b')", "ENUM('a')", True),
    ("DOUBLE", "FLOAT", True), ("DATETIME", "DATE", True), ("INT", "VARCHAR(20)", True),
])
def test_narrowing_type_changes_are_marked(kit: Kit, old: str, new: str,
                                           narrows: bool) -> None:
    outcome = proved(kit, f"CREATE TABLE t (c {old});\n", f"CREATE TABLE t (c {new});\n")
    assert bool(outcome.up.destructive) is narrows, outcome.up.destructive


def test_auto_increment_primary_key_added_and_moved(kit: Kit) -> None:
    current = "CREATE TABLE t (name VARCHAR(10), n INT);\n"
    desired = ("CREATE TABLE t (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,\n"
               "  name VARCHAR(10), n INT);\n")
    outcome = proved(kit, current, desired, rows="INSERT INTO t VALUES ('a', 1), ('b', 2);\n",
                     check="SELECT id, name FROM t ORDER BY id")
    assert outcome.checked == [(1, "a"), (2, "b")]  # type: ignore[attr-defined]
    current2 = "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, x INT NOT NULL);\n"
    desired2 = "CREATE TABLE t (id INT AUTO_INCREMENT, x INT NOT NULL, PRIMARY KEY (id, x));\n"
    proved(kit, current2, desired2)


def test_renamed_referenced_column_and_its_check(kit: Kit) -> None:
    current = ("CREATE TABLE p (pk INT PRIMARY KEY, n INT, CONSTRAINT n_pos CHECK (n > 0));\n"
               "CREATE TABLE c (id INT PRIMARY KEY, p_id INT,\n"
               "  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (pk));\n")
    desired = ("CREATE TABLE p (id INT PRIMARY KEY, amount INT,\n"
               "  CONSTRAINT n_pos CHECK (amount > 0));\n"
               "CREATE TABLE c (id INT PRIMARY KEY, p_id INT,\n"
               "  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));\n")
    outcome = proved(kit, current, desired, "p.pk:id", "p.n:amount",
                     rows="INSERT INTO p VALUES (1, 5);\nINSERT INTO c VALUES (1, 1);\n",
                     check="SELECT id, amount FROM p")
    assert outcome.checked == [(1, 5)]  # type: ignore[attr-defined]
    assert outcome.up.destructive == []


def test_renamed_table_read_by_a_view_and_a_trigger(kit: Kit) -> None:
    current = ("CREATE TABLE a (id INT);\nCREATE TABLE log (n INT);\n"
               "CREATE VIEW v AS SELECT id FROM a;\n"
               "CREATE TRIGGER a_ai AFTER INSERT ON a FOR EACH ROW INSERT INTO log VALUES (1);\n")
    desired = ("CREATE TABLE b (id INT);\nCREATE TABLE log (n INT);\n"
               "CREATE VIEW v AS SELECT id FROM b;\n"
               "CREATE TRIGGER a_ai AFTER INSERT ON b FOR EACH ROW INSERT INTO log VALUES (1);\n")
    outcome = proved(kit, current, desired, "a:b", rows="INSERT INTO a VALUES (3);\n",
                     check="SELECT id FROM v")
    assert outcome.checked == [(3,)]  # type: ignore[attr-defined]


def test_engine_and_comment_options(kit: Kit) -> None:
    proved(kit, "CREATE TABLE t (id INT) ENGINE=MyISAM COMMENT='x' ROW_FORMAT=DYNAMIC\n"
           "  KEY_BLOCK_SIZE=8 MAX_ROWS=100 CHECKSUM=1;\n",
           "CREATE TABLE t (id INT) ENGINE=InnoDB;\n")


def test_foreign_key_on_a_new_column_and_a_cycle(kit: Kit) -> None:
    current = "CREATE TABLE a (id INT PRIMARY KEY);\n"
    desired = ("CREATE TABLE a (id INT PRIMARY KEY, b_id INT);\n"
               "CREATE TABLE b (id INT PRIMARY KEY, a_id INT,\n"
               "  CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id));\n"
               "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id);\n")
    proved(kit, current, desired)


def test_expression_and_prefix_indexes(kit: Kit) -> None:
    current = "CREATE TABLE t (id INT, body TEXT, n INT);\n"
    desired = ("CREATE TABLE t (id INT, body TEXT, n INT, KEY body_start (body(20)),\n"
               "  UNIQUE KEY id_n (id, n) USING BTREE COMMENT 'pair');\n")
    proved(kit, current, desired)


def test_new_table_references_a_key_an_alter_adds(kit: Kit) -> None:
    """flipt's namespaces: flags gain a composite primary key, and a new table's
    foreign key names it; the ALTER must come before the CREATE."""
    current = "CREATE TABLE flags (`key` VARCHAR(50) PRIMARY KEY, name TEXT);\n"
    desired = ("CREATE TABLE flags (ns VARCHAR(50) NOT NULL DEFAULT 'default',\n"
               "  `key` VARCHAR(50) NOT NULL, name TEXT, PRIMARY KEY (ns, `key`));\n"
               "CREATE TABLE rollouts (id INT PRIMARY KEY, ns VARCHAR(50) NOT NULL,\n"
               "  flag_key VARCHAR(50) NOT NULL,\n"
               "  FOREIGN KEY (ns, flag_key) REFERENCES flags (ns, `key`));\n")
    proved(kit, current, desired, rows="INSERT INTO flags VALUES ('f1', 'first');\n")


def test_a_column_renamed_to_the_name_of_a_dropped_one(kit: Kit) -> None:
    outcome = proved(kit, "CREATE TABLE t (a INT, b VARCHAR(5));\n",
                     "CREATE TABLE t (a VARCHAR(5));\n", "t.b:a",
                     rows="INSERT INTO t VALUES (1, 'kept');\n", check="SELECT a FROM t")
    assert outcome.checked == [("kept",)]  # type: ignore[attr-defined]


def test_the_index_under_an_unchanged_foreign_key_renamed(kit: Kit) -> None:
    """The same key made inline (index named after the column) and by a later ALTER
    (index named after the key): the index under the kept key changes its name."""
    parent = "CREATE TABLE p (id INT PRIMARY KEY);\n"
    current = parent + ("CREATE TABLE c (id INT PRIMARY KEY, p_id INT,\n"
                        "  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));\n")
    desired = parent + ("CREATE TABLE c (id INT PRIMARY KEY, p_id INT);\n"
                        "ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id);\n")
    proved(kit, current, desired, rows="INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1);\n")


def test_retyping_columns_under_a_foreign_key(kit: Kit) -> None:
    current = ("CREATE TABLE p (id INT PRIMARY KEY);\n"
               "CREATE TABLE c (id INT PRIMARY KEY, p_id INT, KEY p_id (p_id),\n"
               "  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));\n")
    desired = ("CREATE TABLE p (id BIGINT PRIMARY KEY);\n"
               "CREATE TABLE c (id INT PRIMARY KEY, p_id BIGINT, x INT, KEY p_x (p_id, x),\n"
               "  CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));\n")
    proved(kit, current, desired, rows="INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1);\n")


def test_a_foreign_key_left_dangling_by_its_history(kit: Kit) -> None:
    """vaultwarden's set renames ciphers away, makes a new one and drops the old with
    FOREIGN_KEY_CHECKS = 0: attachments keep a key to a table that is gone."""
    current = ("CREATE TABLE ciphers (uuid CHAR(36) PRIMARY KEY);\n"
               "CREATE TABLE attachments (id CHAR(36) PRIMARY KEY, cipher_uuid CHAR(36));\n")
    desired = ("SET FOREIGN_KEY_CHECKS = 0;\n"
               "CREATE TABLE ciphers (uuid CHAR(36) PRIMARY KEY);\n"
               "CREATE TABLE attachments (id CHAR(36) PRIMARY KEY, cipher_uuid CHAR(36),\n"
               "  FOREIGN KEY (cipher_uuid) REFERENCES oldCiphers (uuid));\n"
               "SET FOREIGN_KEY_CHECKS = 1;\n")
    outcome = proved(kit, current, desired)
    assert any("oldCiphers" in w for w in outcome.up.warnings)


# A history shaped like the real MySQL sets the differ was tried on (see README):
# ncps's unsigned keys and unique indexes, shiori's renamed column, authelia's
# charset and enum changes, flipt's namespaces (composite keys that new tables
# reference), vaultwarden's copy-and-swap rebuild under FOREIGN_KEY_CHECKS = 0.
HISTORY = [
    "CREATE TABLE accounts (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,\n"
    "  username VARCHAR(250) NOT NULL, password BLOB NOT NULL,\n"
    "  UNIQUE KEY accounts_username (username)) DEFAULT CHARSET=utf8mb4;\n"
    "CREATE TABLE bookmarks (id INT AUTO_INCREMENT PRIMARY KEY, url TEXT NOT NULL,\n"
    "  title TEXT NOT NULL, modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n",
    "ALTER TABLE bookmarks CHANGE modified created_at TIMESTAMP NOT NULL\n"
    "  DEFAULT CURRENT_TIMESTAMP;\n"
    "ALTER TABLE bookmarks ADD COLUMN modified_at TIMESTAMP NULL DEFAULT NULL;\n"
    "CREATE INDEX bookmarks_created ON bookmarks (created_at);\n",
    "CREATE TABLE totp (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(100) NOT NULL,\n"
    "  algorithm ENUM('SHA1', 'SHA256') NOT NULL DEFAULT 'SHA1', secret BLOB NOT NULL,\n"
    "  CONSTRAINT totp_period CHECK (CHAR_LENGTH(username) > 0))\n"
    "  DEFAULT CHARSET=latin1;\n"
    "ALTER TABLE totp CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;\n"
    "ALTER TABLE totp MODIFY algorithm ENUM('SHA1', 'SHA256', 'SHA512') NOT NULL\n"
    "  DEFAULT 'SHA1';\n",
    "CREATE TABLE namespaces (`key` VARCHAR(255) PRIMARY KEY, name VARCHAR(255) NOT NULL);\n"
    "CREATE TABLE flags (namespace_key VARCHAR(255) NOT NULL DEFAULT 'default',\n"
    "  `key` VARCHAR(255) NOT NULL, enabled BOOLEAN NOT NULL DEFAULT FALSE,\n"
    "  PRIMARY KEY (namespace_key, `key`),\n"
    "  FOREIGN KEY (namespace_key) REFERENCES namespaces (`key`) ON DELETE CASCADE);\n"
    "CREATE TABLE rules (id VARCHAR(255) PRIMARY KEY, namespace_key VARCHAR(255) NOT NULL,\n"
    "  flag_key VARCHAR(255) NOT NULL, `rank` INT NOT NULL DEFAULT 1,\n"
    "  FOREIGN KEY (namespace_key, flag_key) REFERENCES flags (namespace_key, `key`)\n"
    "  ON DELETE CASCADE);\n",
    "SET FOREIGN_KEY_CHECKS = 0;\n"
    "ALTER TABLE bookmarks RENAME TO old_bookmarks;\n"
    "CREATE TABLE bookmarks (id INT AUTO_INCREMENT PRIMARY KEY,\n"
    "  account_id BIGINT UNSIGNED NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,\n"
    "  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
    "  modified_at TIMESTAMP NULL DEFAULT NULL, KEY bookmarks_created (created_at),\n"
    "  FOREIGN KEY (account_id) REFERENCES accounts (id));\n"
    "DROP TABLE old_bookmarks;\n"
    "SET FOREIGN_KEY_CHECKS = 1;\n",
    "ALTER TABLE rules ADD COLUMN segment_operator TINYINT NOT NULL DEFAULT 0 AFTER flag_key;\n"
    "CREATE VIEW enabled_flags AS SELECT namespace_key, `key` FROM flags WHERE enabled;\n"
    "ALTER TABLE accounts MODIFY username VARCHAR(100) NOT NULL;\n",
]
PAIRS = sorted({(n, m) for n in range(len(HISTORY)) for m in range(n + 1, len(HISTORY) + 1)
                if m - n in (1, 2) or (n, m) == (0, len(HISTORY))})


@pytest.mark.parametrize(("n", "m"), PAIRS, ids=[f"{n}-{m}" for n, m in PAIRS])
def test_history_pairs(kit: Kit, n: int, m: int) -> None:
    """Schema after migration n as current, after m as desired: up and down pass the
    proof (on empty tables: a diff carries no rows)."""
    proved(kit, "".join(HISTORY[:n]) or "SELECT 1;\n", "".join(HISTORY[:m]))
