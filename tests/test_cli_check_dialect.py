"""``check --dialect`` and the ``dialect`` config key: the pre-commit hook has no URL.

The name goes to ``check_directory(dialect=..., url=...)``, which splits the
files with that database's rules; an unknown name is a usage error naming
the known ones, before any file is read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import cli, no_traceback, write

PG_FUNCTION = (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$;\n"
)
MYSQL_TRIGGER = (
    "CREATE TABLE t (id INT, n INT);\n"
    "DELIMITER //\n"
    "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n"
    "  SET NEW.n = NEW.id * 2;\nEND//\n"
    "DELIMITER ;\n"
)


@pytest.mark.parametrize("how", ["flag", "migrator.toml", "pyproject.toml"])
def test_unknown_dialect_is_a_usage_error(tmp_path: Path, how: str) -> None:
    write(tmp_path / "migrations" / "1_a.up.sql", "CREATE TABLE a (id integer);\n")
    args = ["--json", "check"]
    if how == "flag":
        args += ["--dialect", "postgress"]
    elif how == "migrator.toml":
        write(tmp_path / "migrator.toml", 'dialect = "postgress"\n')
    else:
        write(tmp_path / "pyproject.toml", '[tool.migrator]\ndialect = "postgress"\n')
    r = cli(tmp_path, *args)
    assert r.code == 2, r
    message = r.json()["error"]["message"]
    assert message.startswith("unknown dialect 'postgress' (known: ")
    assert all(name in message for name in ("mysql", "postgres", "sqlite"))
    no_traceback(r)


def test_check_dialect_flag_reads_postgres_dollar_quotes(tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "1_touch.up.sql", PG_FUNCTION)
    r = cli(tmp_path, "check", "--dialect", "postgres")
    assert r.code == 0, r
    assert "1 file(s) checked: 0 error(s)" in r.err


def test_check_dialect_from_config_reads_mysql_delimiter(tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "1_trigger.up.sql", MYSQL_TRIGGER)
    write(tmp_path / "migrator.toml", 'dialect = "mysql"\n')
    r = cli(tmp_path, "check")
    assert r.code == 0, r
    assert "1 file(s) checked: 0 error(s)" in r.err


def test_check_dialect_flag_wins_over_config(tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "1_touch.up.sql", PG_FUNCTION)
    write(tmp_path / "migrator.toml", 'dialect = "mysql"\n')
    assert cli(tmp_path, "check", "--dialect", "postgres").code == 0
