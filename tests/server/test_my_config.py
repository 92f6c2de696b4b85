"""MySQL/MariaDB: a bad value of a documented URL parameter, or a migrations
table whose derived names pass the 64-character limit, is a configuration
error (exit 2) through the CLI before anything is written: never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from serverkit import Server, run_cli, with_query


@pytest.mark.parametrize("query, words", [
    ("charset=klingon", "charset='klingon' is not a character set"),
    ("ssl_ca=/nonexistent/ca.pem", "ssl_ca='/nonexistent/ca.pem': no such file"),
    ("ssl_cert=/nonexistent/c.pem", "ssl_cert='/nonexistent/c.pem': no such file"),
    ("ssl_key=/nonexistent/k.pem", "ssl_key='/nonexistent/k.pem': no such file"),
    ("connect_timeout=soon", "connect_timeout='soon' is not a whole number of seconds"),
    ("connect_timeout=0", "connect_timeout='0' is not a whole number of seconds"),
    ("lock_wait_timeout=-1", "lock_wait_timeout='-1' is not a whole number of seconds"),
    ("unix_socket=", "unix_socket='': give the path"),
])
@pytest.mark.parametrize("command", ["up", "status"])
def test_bad_url_parameters_are_config_errors(
    my: Server, tmp_path: Path, query: str, words: str, command: str
) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "1_t.up.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    result = run_cli(with_query(my.url, query), d, command, "--json")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert words in result.stderr
    assert result.json()["error"]["kind"] == "config"
    assert my.tables() == set()


def test_an_unreadable_certificate_is_a_config_error(my: Server, tmp_path: Path) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "1_t.up.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    result = run_cli(with_query(my.url, f"ssl_ca={ca}"), d, "up")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr and "cannot connect" in result.stderr
    assert my.tables() == set()


@pytest.mark.parametrize("length, derived", [(65, "x" * 65), (60, "x" * 60 + "_state"),
                                             (59, "x" * 59 + "_state")])
def test_a_table_whose_derived_names_are_too_long_is_refused(
    my: Server, tmp_path: Path, length: int, derived: str
) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "1_t.up.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    result = run_cli(my.url, d, "--migrations-table", "x" * length, "up", "--json")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{derived!r} has {len(derived)} characters" in result.stderr
    assert result.json()["error"]["kind"] == "config"
    assert my.tables() == set()


def test_a_table_of_58_characters_fits(my: Server, tmp_path: Path) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "1_t.up.sql").write_text("CREATE TABLE t (id INTEGER);\n")
    name = "x" * 58
    assert run_cli(my.url, d, "--migrations-table", name, "up").code == 0
    assert {name, name + "_state", name + "_lock", "t"} <= my.tables()
