"""Discovering migrations on disk: layouts, ordering, ignored files, and every
problem in a directory reported at once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from clihelp import MakeMigrations

from migrator.errors import ConfigError, ExitCode, MigrationFileError
from migrator.files import discover


def problems_by_file(exc: MigrationFileError, root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in exc.problems:
        found.setdefault(os.path.relpath(p.path, root), []).append(p.message)
    return found


def test_mixed_layouts_in_numeric_order(make_migrations: MakeMigrations) -> None:
    root = make_migrations(
        {
            "10_ten.up.sql": "SELECT 10;",
            "10_ten.down.sql": "SELECT -10;",
            "2_two.up.sql": "SELECT 2;",
            "1_init.up.sql": "SELECT 1;",
            "3_add-users.up.sql": "SELECT 3;",
            "20261124101500_add_orders/up.sql": "SELECT 4;",
            "20261124101500_add_orders/down.sql": "SELECT -4;",
            "2019-01-01-000000_diesel_style/up.sql": "SELECT 5;",
            "0000000000099_padded.up.sql": "SELECT 6;",
        }
    )
    migrations = discover(root)
    assert [(m.version, m.name) for m in migrations] == [
        ("1", "init"),
        ("2", "two"),
        ("3", "add-users"),
        ("10", "ten"),
        ("0000000000099", "padded"),
        ("2019-01-01-000000", "diesel_style"),
        ("20261124101500", "add_orders"),
    ]
    assert [m.key for m in migrations] == [1, 2, 3, 10, 99, 20190101000000, 20261124101500]
    by_name = {m.name: m for m in migrations}
    assert by_name["ten"].down is not None
    assert by_name["ten"].down.text == "SELECT -10;"
    assert by_name["add_orders"].up.path == str(root / "20261124101500_add_orders" / "up.sql")
    assert by_name["add_orders"].down is not None
    assert by_name["two"].down is None  # irreversible, but valid
    assert by_name["diesel_style"].label == "2019-01-01-000000_diesel_style"


def test_files_that_are_not_migrations_are_ignored(make_migrations: MakeMigrations) -> None:
    root = make_migrations(
        {
            "0001_init.up.sql": "CREATE TABLE a(x);",
            "README.md": "# migrations",
            ".gitkeep": "",
            ".0002_hidden.up.sql": "broken ;",
            ".git/0003_x.up.sql": "",
            "schema.sql": "CREATE TABLE dump(x);",
            "seed/data.sql": "INSERT INTO a VALUES (1);",
            "notes.txt": "",
            "0001_init.up.sql~": "editor backup",
            "0004_x.up.sql.orig": "merge leftover",
        }
    )
    assert [m.label for m in discover(root)] == ["0001_init"]


def test_empty_directory_and_placeholder_files(make_migrations: MakeMigrations) -> None:
    root = make_migrations({})
    assert discover(root) == []
    make_migrations({"1_empty.up.sql": "", "2_comments.up.sql": "-- nothing yet;\n/* later */\n"})
    assert [m.up.text for m in discover(root)] == ["", "-- nothing yet;\n/* later */\n"]


def test_checksum_is_of_raw_bytes_and_text_is_decoded(make_migrations: MakeMigrations) -> None:
    raw = b"\xef\xbb\xbfCREATE TABLE caf\xc3\xa9(x);\r\n"
    root = make_migrations({"1_bom.up.sql": raw})
    (m,) = discover(root)
    assert m.checksum == hashlib.sha256(raw).hexdigest()
    assert m.up.text == "CREATE TABLE café(x);\r\n"  # BOM dropped, CRLF kept


def test_every_problem_is_reported_at_once(make_migrations: MakeMigrations) -> None:
    root = make_migrations(
        {
            "0001_ok.up.sql": "SELECT 1;",
            "1_same.up.sql": "SELECT 1;",  # same version as 0001
            "0002_orphan.down.sql": "SELECT 2;",
            "0003_bad name.up.sql": "SELECT 3;",
            "0004_no_direction.sql": "SELECT 4;",
            "0005.up.sql": "SELECT 5;",
            "0006_nodir/notes.txt": "no up.sql here",
            "0007_only_down/down.sql": "SELECT 7;",
            "0008_bad.name/up.sql": "SELECT 8;",
            "0009_latin1.up.sql": b"SELECT 1;\nSELECT 'caf\xe9';\n",
            "0010_nul.up.sql": "SELECT 1;\n\0",
            "0011_both.up.sql": "SELECT 11;",
            "0011_both/up.sql": "SELECT 11;",
            "20190101000000_x.up.sql": "SELECT 12;",
            "2019-01-01-000000_y/up.sql": "SELECT 12;",
        }
    )
    (root / "0012_dangling.up.sql").symlink_to(root / "does-not-exist.sql")
    with pytest.raises(MigrationFileError) as info:
        discover(root)
    exc = info.value
    assert exc.exit_code == ExitCode.USAGE
    found = problems_by_file(exc, root)
    assert set(found) == {
        "0001_ok.up.sql",
        "1_same.up.sql",
        "0002_orphan.down.sql",
        "0003_bad name.up.sql",
        "0004_no_direction.sql",
        "0005.up.sql",
        "0006_nodir",
        "0007_only_down/down.sql",
        "0008_bad.name",
        "0009_latin1.up.sql",
        "0010_nul.up.sql",
        "0011_both.up.sql",
        "0012_dangling.up.sql",
        "20190101000000_x.up.sql",
        "2019-01-01-000000_y/up.sql",
    }
    assert str(exc).startswith(f"{len(exc.problems)} problems in migration files; nothing was run")
    dup = found["1_same.up.sql"][0]
    assert dup.startswith("duplicate version 1 (shared by ")
    assert "0001_ok.up.sql" in dup and "1_same.up.sql" in dup
    assert found["0002_orphan.down.sql"] == ["down file without a matching up file"]
    assert found["0007_only_down/down.sql"] == ["down file without a matching up file"]
    assert found["0003_bad name.up.sql"][0].startswith("not a migration file name")
    assert found["0004_no_direction.sql"][0].startswith("not a migration file name")
    assert found["0006_nodir"] == ["migration directory has no up.sql"]
    assert found["0008_bad.name"][0].startswith("not a migration directory name")
    assert found["0009_latin1.up.sql"] == [
        "not valid UTF-8: byte 0xe9 at offset 21; save the file as UTF-8"
    ]
    assert found["0010_nul.up.sql"] == ["NUL byte at offset 10"]
    assert found["0012_dangling.up.sql"] == ["cannot read: No such file or directory"]
    assert "duplicate version 20190101000000" in found["2019-01-01-000000_y/up.sql"][0]
    lines = {os.path.relpath(p.path, root): p.line for p in exc.problems}
    assert lines["0009_latin1.up.sql"] == 2
    assert lines["0010_nul.up.sql"] == 2
    assert exc.details()["problems"]  # the JSON form carries the same list


def test_same_migration_in_both_layouts_is_a_duplicate(make_migrations: MakeMigrations) -> None:
    """Regression: the pair file silently replaced the directory's up.sql."""
    root = make_migrations({"0001_init.up.sql": "SELECT 1;", "0001_init/up.sql": "SELECT 2;"})
    with pytest.raises(MigrationFileError) as info:
        discover(root)
    (problem,) = info.value.problems
    assert problem.message == (
        f"duplicate version 1 (shared by {root / '0001_init' / 'up.sql'}, "
        f"{root / '0001_init.up.sql'}); keep one layout"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(make_migrations: MakeMigrations) -> None:
    root = make_migrations({"0001_secret.up.sql": "SELECT 1;"})
    target = root / "0001_secret.up.sql"
    target.chmod(0)
    try:
        with pytest.raises(MigrationFileError) as info:
            discover(root)
    finally:
        target.chmod(0o644)
    (problem,) = info.value.problems
    assert problem.path == str(target)
    assert problem.message == "cannot read: Permission denied"


def test_bad_directive_is_a_file_problem(make_migrations: MakeMigrations) -> None:
    root = make_migrations(
        {"1_a.up.sql": "-- migrator: transactionless\nSELECT 1;", "2_b.up.sql": "SELECT 2;"}
    )
    with pytest.raises(MigrationFileError) as info:
        discover(root)
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == (str(root / "1_a.up.sql"), 1)


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        discover(tmp_path / "nope")
    assert info.value.exit_code == ExitCode.USAGE
    assert str(info.value) == (
        f"migrations directory '{tmp_path / 'nope'}' does not exist; "
        "pass --migrations-dir or create it with 'migrator new NAME'"
    )
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        discover(tmp_path / "file")


def test_keys_of_dashed_and_long_versions(make_migrations: MakeMigrations) -> None:
    long = "9" * 200
    root = make_migrations(
        {
            "0-1_dashed.up.sql": "SELECT 1;",
            "007_zeros.up.sql": "SELECT 7;",
            f"{long}_long/up.sql": "SELECT 9;",
            "2026-01-02_date.up.sql": "SELECT 2;",
        }
    )
    assert [(m.version, m.key) for m in discover(root)] == [
        ("0-1", 1), ("007", 7), ("2026-01-02", 20260102), (long, int(long))
    ]


def test_relative_directory_paths_are_kept_as_given(
    make_migrations: MakeMigrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_migrations({"1_a.up.sql": "SELECT 1;", "2_b/up.sql": "SELECT 2;"})
    monkeypatch.chdir(root.parent)
    assert [m.up.path for m in discover(Path("migrations"))] == [
        os.path.join("migrations", "1_a.up.sql"), os.path.join("migrations", "2_b", "up.sql")
    ]
    monkeypatch.chdir(root)
    assert [m.up.path for m in discover(Path("."))] == ["1_a.up.sql", os.path.join("2_b", "up.sql")]
