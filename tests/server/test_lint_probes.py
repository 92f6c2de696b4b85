"""``migrator test --locks`` on real servers: the locks, rewrites and algorithms measured."""

from __future__ import annotations

from pathlib import Path

from serverkit import Server, run_cli


def write(directory: Path, files: dict[str, str]) -> Path:
    migrations = directory / "migrations"
    migrations.mkdir(exist_ok=True)
    for name, text in files.items():
        (migrations / name).write_text(text)
    return migrations


PG_FILES = {
    "1_t.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, "
                  "ok boolean NOT NULL, v varchar(20));\n"
                  "CREATE TABLE orders (id serial PRIMARY KEY, "
                  "user_id bigint NOT NULL REFERENCES users (id), total numeric(10, 2));\n",
    "2_x.up.sql": "SET lock_timeout = '2s';\n"
                  "CREATE INDEX users_email ON users (email);\n"
                  "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
                  "ALTER TABLE users ALTER COLUMN v TYPE varchar(40);\n"
                  "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12, 3);\n",
    "3_c.up.sql": "-- migrator: no-transaction\n"
                  "CREATE INDEX CONCURRENTLY orders_user ON orders (user_id);\n",
}


def test_postgres_locks_and_rewrites(tmp_path: Path, pg: Server) -> None:
    result = run_cli(pg.url, write(tmp_path, PG_FILES), "test", "--locks", "--rows", "300",
                     "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["ok"] is True and doc["disagreements"] == 0
    assert doc["scratch"].startswith("schema migrator_test_")
    _, second, third = doc["migrations"]
    assert second["filled"] == ["users", "orders"]
    by_index = {s["index"]: s for s in second["statements"]}
    assert by_index[2]["locks"] == {"users": "ShareLock"} and by_index[2]["lint"] == ["PG001"]
    assert by_index[3]["rewritten"] == ["users"] and by_index[3]["lint"] == ["PG004"]
    assert by_index[4]["rewritten"] == [] and by_index[4]["lint"] == []  # varchar widened
    assert by_index[5]["rewritten"] == ["orders"] and by_index[5]["lint"] == ["PG006"]
    assert by_index[5]["locks"] == {"orders": "AccessExclusiveLock"}
    assert "outside a transaction" in third["statements"][0]["note"]
    assert pg.tables() == set()  # the scratch schema was dropped, the real one untouched


MY_FILES = {
    "1_t.up.sql": "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, b INT);\n",
    "2_x.up.sql": "ALTER TABLE users ADD COLUMN z INT;\n",
    "3_x.up.sql": "ALTER TABLE users MODIFY b BIGINT;\n",
    "4_x.up.sql": "ALTER TABLE users ADD INDEX ue (email);\n",
}


def test_mysql_algorithms(tmp_path: Path, my: Server) -> None:
    result = run_cli(my.url, write(tmp_path, MY_FILES), "test", "--locks", "--rows", "200",
                     "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["ok"] is True and doc["disagreements"] == 0
    algorithms = [(m["statements"][0]["algorithm"], m["statements"][0]["lint"])
                  for m in doc["migrations"][1:]]
    assert algorithms == [("INSTANT", []), ("COPY", ["MY001"]), ("INPLACE", [])]
    assert doc["migrations"][1]["filled"] == ["users"]


def test_postgres_disagreement_is_reported(tmp_path: Path, pg: Server) -> None:
    files = {"1_t.up.sql": "CREATE TABLE t AS SELECT CAST('x' AS varchar(10)) AS v;\n",
             "2_x.up.sql": "SET lock_timeout = '2s';\nALTER TABLE t ALTER COLUMN v TYPE text;\n"}
    result = run_cli(pg.url, write(tmp_path, files), "test", "--locks", "--rows", "10")
    assert result.code == 0, result.stderr
    assert "[lint: PG006]" in result.stdout  # CREATE TABLE AS declares no types for the rule
    assert "lint disagrees: PG006 predicted a rewrite; none was measured" in result.stdout
    assert "1 disagreement(s) with the safety rules" in result.stderr
