"""``check --pending`` against real servers: only what ``up`` would run is linted, in
the URL's dialect, and what applied files declared is still known."""

from __future__ import annotations

from pathlib import Path

from serverkit import Server, run_cli


def test_pending_on_postgres_lints_only_the_new_file(tmp_path: Path, pg: Server) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "1_t.up.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(10));\nCREATE INDEX t_v ON t (v);\n"
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(5);\n")
    assert run_cli(pg.url, migrations, "up").code == 0
    (migrations / "2_x.up.sql").write_text(
        "SET lock_timeout = '1s';\nALTER TABLE t ALTER COLUMN v TYPE varchar(40);\n"
        "CREATE INDEX t_id ON t (id);\n")
    result = run_cli(pg.url, migrations, "check", "--pending", "--json")
    assert result.code == 0, result.stderr
    found = [(Path(p["file"]).name, p["rule"]) for p in result.json()["problems"]
             if p.get("rule")]
    assert found == [("2_x.up.sql", "PG001")]  # varchar(5) -> (40) widens: no PG006


def test_pending_on_mysql_uses_the_mysql_rules(tmp_path: Path, my: Server) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "1_t.up.sql").write_text("CREATE TABLE t (id INT PRIMARY KEY, b INT);\n")
    assert run_cli(my.url, migrations, "up").code == 0
    (migrations / "2_x.up.sql").write_text("ALTER TABLE t MODIFY b BIGINT;\n")
    result = run_cli(my.url, migrations, "check", "--pending", "--format", "github")
    assert result.code == 0, result.stderr
    rule_lines = [line for line in result.stdout.splitlines() if ",title=" in line]
    assert len(rule_lines) == 1 and "2_x.up.sql,line=1,col=" in rule_lines[0]
    assert "title=MY001::" in rule_lines[0] and "1_t.up.sql" not in result.stdout
