"""Placeholders in the run path: filled when a file runs, checksum of the raw file,
secrets masked in everything migrator shows. Real CLI subprocesses with
MIGRATOR_VAR_*/MIGRATOR_SECRET_* and the library API, on real SQLite files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from clihelp import clean_env, migration, run, write

from migrator import Migrator
from migrator.errors import MigrationFailed, MigrationFileError
from migrator.placeholders import Variable
from migrator.progress import Progress

HEAD = "-- migrator: placeholders\n"
SECRET = "s3cr3tpw"


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items()
           if not k.startswith(("MIGRATOR_VAR_", "MIGRATOR_SECRET_"))}
    env.update(values)
    return env


def _query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "app.db") as db:
        return list(db.execute(sql))


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    migration(tmp_path, "1", "conf",
              HEAD + "CREATE TABLE conf (k TEXT, v TEXT);\n"
              "INSERT INTO conf VALUES ('owner', '${owner}'), ('pw', '${pw}');\n"
              "INSERT INTO conf VALUES ('literal', '$${owner}');\n",
              HEAD + "DELETE FROM conf WHERE v = '${owner}';\nDROP TABLE conf;\n")
    migration(tmp_path, "2", "plain", "CREATE TABLE plain (v TEXT DEFAULT '${untouched}');\n",
              "DROP TABLE plain;\n")
    return tmp_path


def test_values_from_the_environment_fill_marked_files_only(proj: Path) -> None:
    result = run(proj, "up", env=_env(MIGRATOR_VAR_owner="alice", MIGRATOR_SECRET_pw=SECRET))
    assert result.code == 0, result
    assert _query(proj, "SELECT k, v FROM conf ORDER BY k") == [
        ("literal", "${owner}"), ("owner", "alice"), ("pw", SECRET)]
    (sql,) = _query(proj, "SELECT sql FROM sqlite_master WHERE name = 'plain'")[0]
    assert "'${untouched}'" in str(sql)
    raw = (proj / "migrations" / "1_conf.up.sql").read_bytes()
    assert _query(proj, "SELECT checksum FROM schema_migrations WHERE version = '1'") == [
        (hashlib.sha256(raw).hexdigest(),)]
    assert SECRET not in result.err + result.out


def test_other_values_are_not_a_modified_migration(proj: Path) -> None:
    assert run(proj, "up", env=_env(MIGRATOR_VAR_owner="a", MIGRATOR_VAR_pw="x")).code == 0
    verify = run(proj, "verify", env=_env())
    assert verify.code == 0, verify
    status = run(proj, "status", "--json", env=_env())  # no values needed to read state
    assert status.code == 0, status
    assert {m["state"] for m in status.json()["migrations"]} == {"applied"}


def test_unset_names_are_all_reported_before_anything_runs(proj: Path) -> None:
    write(proj / "migrations" / "R_view.up.sql", HEAD + "SELECT 1;\nSELECT '${who}';\n")
    result = run(proj, "up", "--json", env=_env(MIGRATOR_VAR_owner="alice"))
    assert result.code == 2, result
    problems = result.json()["error"]["problems"]
    assert [(p["file"].rsplit("/", 1)[-1], p["line"]) for p in problems] == [
        ("1_conf.up.sql", 3), ("R_view.up.sql", 3)]
    assert "${pw} has no value" in problems[0]["message"]
    assert "MIGRATOR_VAR_who" in problems[1]["message"]
    assert "migrations/1_conf.up.sql:3: placeholder ${pw} has no value" in result.err
    assert "Traceback" not in result.err
    assert not (proj / "app.db").exists()


def test_dry_run_shows_filled_sql_with_secrets_masked(proj: Path) -> None:
    env = _env(MIGRATOR_VAR_owner="alice", MIGRATOR_SECRET_pw=SECRET)
    text = run(proj, "up", "--dry-run", env=env)
    assert text.code == 0, text
    assert "('owner', 'alice'), ('pw', '***')" in text.out
    assert "'${owner}'" in text.out  # the $${ escape, written as ${
    assert SECRET not in text.out + text.err
    doc = run(proj, "up", "--dry-run", "--json", env=env).json()
    assert "('pw', '***')" in doc["sql"] and SECRET not in doc["sql"]
    assert not (proj / "app.db").exists()


def test_verbose_statement_lines_mask_secrets(proj: Path) -> None:
    result = run(proj, "up", "-v", env=_env(MIGRATOR_VAR_owner="alice",
                                              MIGRATOR_SECRET_pw=SECRET))
    assert result.code == 0, result
    assert "INSERT INTO conf VALUES ('owner', 'alice'), ('pw', '***')" in result.err
    assert SECRET not in result.err


def test_failure_reports_mask_secrets_in_text_and_json(tmp_path: Path) -> None:
    migration(tmp_path, "1", "bad", HEAD + "SELECT 1;\nINSERT INTO ${pw}_table VALUES (1);\n")
    result = run(tmp_path, "up", "--json", env=_env(MIGRATOR_SECRET_pw=SECRET))
    assert result.code == 1, result
    error = result.json()["error"]
    assert error["sql"] == "INSERT INTO ***_table VALUES (1);"
    assert error["line"] == 3
    assert "no such table: ***_table" in error["message"]
    assert SECRET not in result.out + result.err
    assert "INSERT INTO ***_table" in result.err


def test_down_and_redo_fill_placeholders_too(proj: Path) -> None:
    env = _env(MIGRATOR_VAR_owner="alice", MIGRATOR_VAR_pw="x")
    assert run(proj, "up", env=env).code == 0
    refused = run(proj, "down", "--all", env=_env())  # the down file needs owner
    assert refused.code == 2, refused
    assert "1_conf.down.sql:2: placeholder ${owner} has no value" in refused.err
    assert _query(proj, "SELECT count(*) FROM schema_migrations") == [(2,)]
    assert run(proj, "redo", "--steps", "2", env=_env()).code == 2
    assert run(proj, "redo", "--steps", "2", env=env).code == 0
    down = run(proj, "down", "--all", env=env)
    assert down.code == 0, down
    assert _query(proj, "SELECT count(*) FROM schema_migrations") == [(0,)]


def test_single_transaction_fills_placeholders(proj: Path) -> None:
    result = run(proj, "up", "--single-transaction",
                 env=_env(MIGRATOR_VAR_owner="bob", MIGRATOR_VAR_pw="y"))
    assert result.code == 0, result
    assert ("owner", "bob") in _query(proj, "SELECT k, v FROM conf")


def test_placeholders_work_in_repeatables(tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "R_view.up.sql",
          HEAD + "DROP VIEW IF EXISTS who;\nCREATE VIEW who AS SELECT '${who}' AS v;\n")
    assert run(tmp_path, "up", env=_env(MIGRATOR_VAR_who="ann")).code == 0
    assert _query(tmp_path, "SELECT v FROM who") == [("ann",)]
    again = run(tmp_path, "up", "--json", env=_env(MIGRATOR_VAR_who="bea"))
    assert again.json() == {"applied": []}  # the file did not change: a value is no edit


class Shown(Progress):
    def __init__(self) -> None:
        self.sql: list[str] = []

    def statement_started(self, migration: object, statement: object, total: int) -> None:
        self.sql.append(statement.sql)  # type: ignore[attr-defined]


def test_the_api_takes_variables_and_masks_what_it_shows(proj: Path) -> None:
    shown = Shown()
    m = Migrator(f"sqlite:///{proj / 'app.db'}", proj / "migrations", progress=shown,
                 variables={"owner": Variable("carl"), "pw": Variable(SECRET, secret=True)})
    plan = m.plan_up()
    assert SECRET in plan[0].source.text  # what the database receives is the real value
    assert plan[0].source.checksum == plan[0].migration.checksum
    m.up()
    assert ("pw", SECRET) in _query(proj, "SELECT k, v FROM conf")
    assert any("('pw', '***')" in sql for sql in shown.sql)
    assert not any(SECRET in sql for sql in shown.sql)


def test_the_api_reads_the_environment_by_default(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATOR_VAR_owner", "dora")
    monkeypatch.setenv("MIGRATOR_SECRET_pw", SECRET)
    m = Migrator(f"sqlite:///{proj / 'app.db'}", proj / "migrations")
    m.up()
    assert ("owner", "dora") in _query(proj, "SELECT k, v FROM conf")


def test_the_api_raises_file_errors_and_masked_failures(tmp_path: Path) -> None:
    migration(tmp_path, "1", "x", HEAD + "SELECT ${a}, ${b};\n")
    m = Migrator(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "migrations", variables={})
    with pytest.raises(MigrationFileError) as bad:
        m.up()
    assert [p.message.split(" has")[0] for p in bad.value.problems] == [
        "placeholder ${a}", "placeholder ${b}"]
    secret = Migrator(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "migrations",
                      variables={"a": Variable("1"), "b": Variable("nope_col", secret=True)})
    with pytest.raises(MigrationFailed) as failed:
        secret.up()
    assert "nope_col" not in str(failed.value)
    assert failed.value.info.sql == "SELECT 1, ***;"


# -- flags and the config file -------------------------------------------------


def test_flags_beat_the_environment_and_the_config_file(proj: Path) -> None:
    (proj / "migrator.toml").write_text('[vars]\nowner = "from-config"\npw = 42\n')
    env = _env(MIGRATOR_VAR_owner="from-env")
    result = run(proj, "up", "--var", "owner=from-flag", "--secret-var", f"pw={SECRET}",
                 env=env)
    assert result.code == 0, result
    assert _query(proj, "SELECT k, v FROM conf ORDER BY k") == [
        ("literal", "${owner}"), ("owner", "from-flag"), ("pw", SECRET)]


def test_config_vars_fill_what_nothing_else_gives(proj: Path) -> None:
    (proj / "migrator.toml").write_text('[vars]\nowner = "carol"\npw = 42\n')
    result = run(proj, "up", env=_env(MIGRATOR_VAR_owner="dave"))
    assert result.code == 0, result
    assert _query(proj, "SELECT k, v FROM conf ORDER BY k") == [
        ("literal", "${owner}"), ("owner", "dave"), ("pw", "42")]


def test_a_secret_flag_is_masked_in_the_dry_run(proj: Path) -> None:
    result = run(proj, "up", "--dry-run", "--var", "owner=alice", "--secret-var",
                 f"pw={SECRET}", env=_env())
    assert result.code == 0, result
    assert "'alice'" in result.out and "'***'" in result.out
    assert SECRET not in result.out + result.err


@pytest.mark.parametrize("bad", ["owner", "=x", "1x=y"])
def test_a_malformed_var_flag_is_exit_2_and_changes_nothing(proj: Path, bad: str) -> None:
    result = run(proj, "up", "--var", bad, env=_env())
    assert result.code == 2, result
    assert "--var/--secret-var: expected NAME=VALUE" in result.err
    assert "Traceback" not in result.err
    assert not (proj / "app.db").exists()


@pytest.mark.parametrize("toml, message", [
    ("vars = 3\n", "vars must be a table"),
    ('[vars]\nowner = ["a"]\n', "[vars] owner must be a string or a number"),
    ('[vars]\n"bad-name" = "x"\n', "is not letters, digits and '_'"),
])
def test_a_bad_vars_table_is_a_config_error(proj: Path, toml: str, message: str) -> None:
    (proj / "migrator.toml").write_text(toml)
    result = run(proj, "up", env=_env())
    assert result.code == 2, result
    assert message in result.err
    assert not (proj / "app.db").exists()
