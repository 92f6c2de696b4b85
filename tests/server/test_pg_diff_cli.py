"""``migrator diff`` on PostgreSQL where its scratch spaces share one database.

An extension exists once per database: the space built first would keep it
from the other, so a migration set and a desired file that both create one
must still compare equal where they agree and diff where they do not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from serverkit import Server, run_cli

MakeMigrations = Callable[[Mapping[str, str | bytes]], Path]
EXTENDED = "CREATE EXTENSION IF NOT EXISTS citext;\n"


def test_an_extension_in_both_the_migrations_and_the_desired_file(
    pg: Server, make_migrations: MakeMigrations, tmp_path: Path
) -> None:
    d = make_migrations({
        "1_a.up.sql": EXTENDED + "CREATE TABLE a (id INTEGER PRIMARY KEY, v citext);\n",
        "1_a.down.sql": "DROP TABLE a;\nDROP EXTENSION citext;\n",
    })
    (tmp_path / "same.sql").write_text(
        EXTENDED + "CREATE TABLE a (id INTEGER PRIMARY KEY, v citext);\n")
    r = run_cli(pg.url, d, "diff", "--to", str(tmp_path / "same.sql"))
    assert r.code == 0 and "no difference" in r.stderr, r
    (tmp_path / "want.sql").write_text(
        EXTENDED + "CREATE EXTENSION IF NOT EXISTS hstore;\n"
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v citext, h hstore, w citext);\n")
    r = run_cli(pg.url, d, "diff", "--to", str(tmp_path / "want.sql"), "--name", "more")
    assert r.code == 0, r
    assert "Traceback" not in r.stderr
    up = next(d.glob("*_more.up.sql")).read_text()
    assert "CREATE EXTENSION IF NOT EXISTS hstore" in up, up
    assert "EXTENSION IF NOT EXISTS citext" not in up, up  # both sides have it
    assert run_cli(pg.url, d, "up").code == 0
    assert {"h", "w"} <= set(pg.columns("a"))
    assert run_cli(pg.url, d, "down").code == 0
    assert "h" not in pg.columns("a")
