"""``migrator convert``: another tool's files in migrator's layout, SQL bytes unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.dba.convert import convert
from migrator.errors import ConfigError, MigrationFileError

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def write(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


DBMATE_UP = (b"CREATE TABLE users (\r\n  id INTEGER PRIMARY KEY,\r\n  email TEXT\r\n);\r\n"
             b"-- keep this comment\r\n\r\n")
DBMATE_DOWN = b"DROP TABLE users;\r\n"


def test_dbmate_sections_keep_their_bytes_and_the_result_runs(tmp_path: Path) -> None:
    write(tmp_path / "db" / "migrations", {
        "20260101000000_create_users.sql":
            b"\xef\xbb\xbf-- migrate:up\r\n" + DBMATE_UP + b"-- migrate:down\r\n" + DBMATE_DOWN,
        "20260102000000_wal.sql": b"-- migrate:up transaction:false\nPRAGMA journal_mode=WAL;\n"
                                  b"-- migrate:down transaction:false\n"
                                  b"PRAGMA journal_mode=DELETE;\n",
        "20260103000000_seed users.sql": b"-- migrate:up\nINSERT INTO users (email) "
                                         b"VALUES ('a@example.com');\n",
        "README.md": b"notes\n",
    })
    result = run(tmp_path, "convert", "--from", "dbmate", "db/migrations", "migrations",
                 "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    out = tmp_path / "migrations"
    assert (out / "20260101000000_create_users.up.sql").read_bytes() == DBMATE_UP
    assert (out / "20260101000000_create_users.down.sql").read_bytes() == DBMATE_DOWN
    assert (out / "20260102000000_wal.up.sql").read_bytes() == (
        b"-- migrator: no-transaction\nPRAGMA journal_mode=WAL;\n")
    assert not (out / "20260103000000_seed_users.down.sql").exists()  # no down section
    assert doc["migrations"][2]["notes"] == ["name 'seed users' became 'seed_users'"]
    assert doc["skipped"] == ["db/migrations/README.md"]
    assert len(doc["written"]) == 5

    tested = run(tmp_path, "test", "--json")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert [m["outcome"] for m in json.loads(tested.stdout)["migrations"]] == [
        "passed", "passed", "irreversible"]


GOOSE = (b"-- +goose Up\n"
         b"CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT);\n"
         b"-- +goose StatementBegin\n"
         b"CREATE TRIGGER accounts_touch AFTER UPDATE OF name ON accounts\nBEGIN\n"
         b"  UPDATE accounts SET updated_at = datetime('now') WHERE id = NEW.id;\nEND;\n"
         b"-- +goose StatementEnd\n\n"
         b"-- +goose Down\nDROP TABLE accounts;\n")


def test_goose_annotations(tmp_path: Path) -> None:
    src = write(tmp_path / "goose", {
        "00001_accounts.sql": GOOSE,
        "00002_wal.sql": b"-- +goose NO TRANSACTION\n-- +goose Up\nPRAGMA journal_mode=WAL;\n"
                         b"-- +goose Down\nPRAGMA journal_mode=DELETE;\n",
    })
    out = tmp_path / "migrations"
    result = convert("goose", src, out)
    assert [c.version for c in result.migrations] == ["00001", "00002"]
    up = (out / "00001_accounts.up.sql").read_bytes()
    assert up == GOOSE[len(b"-- +goose Up\n"):GOOSE.index(b"-- +goose Down")]
    assert (out / "00001_accounts.down.sql").read_bytes() == b"DROP TABLE accounts;\n"
    assert (out / "00002_wal.down.sql").read_bytes().startswith(b"-- migrator: no-transaction\n")
    assert run(tmp_path, "test").returncode == 0


@pytest.mark.parametrize(("name", "body", "needle"), [
    ("00001_x.go", b"package m\n", "Go migrations cannot be converted"),
    ("00001_x.sql", b"-- +goose ENVSUB ON\n-- +goose Up\nSELECT '${X}';\n", "ENVSUB"),
    ("00001_x.sql", b"SELECT 1;\n", "no up section marker"),
    ("00001_x.sql", b"-- +goose Up\nSELECT 1;\n-- +goose Up\nSELECT 2;\n", "second 'up'"),
])
def test_goose_files_without_a_faithful_translation_stop_it(
    tmp_path: Path, name: str, body: bytes, needle: str
) -> None:
    src = write(tmp_path / "goose", {name: body})
    with pytest.raises(MigrationFileError) as caught:
        convert("goose", src, tmp_path / "out")
    assert needle in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_flyway_versioned_undo_and_conf(tmp_path: Path) -> None:
    src = write(tmp_path / "sql", {
        "V1__create_users.sql": b"CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        "U1__create_users.sql": b"DROP TABLE users;\n",
        "V2__Add_index.sql": b"CREATE INDEX users_id ON users (id);\n",
        "V3__vacuum.sql": b"VACUUM;\n",
        "V3__vacuum.sql.conf": b"executeInTransaction=false\n",
    })
    out = tmp_path / "migrations"
    convert("flyway", src, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "1_create_users.down.sql", "1_create_users.up.sql", "2_Add_index.up.sql",
        "3_vacuum.up.sql"]
    assert (out / "1_create_users.down.sql").read_bytes() == b"DROP TABLE users;\n"
    assert (out / "3_vacuum.up.sql").read_bytes() == b"-- migrator: no-transaction\nVACUUM;\n"
    assert run(tmp_path, "-u", "sqlite:///f.db", "up").returncode == 0


def test_flyway_dotted_and_repeatable_are_listed(tmp_path: Path) -> None:
    src = write(tmp_path / "sql", {"V1.1__x.sql": b"SELECT 1;\n", "R__views.sql": b"SELECT 1;\n"})
    with pytest.raises(MigrationFileError) as caught:
        convert("flyway", src, tmp_path / "out")
    text = str(caught.value)
    assert "V1.1__x.sql: version '1.1' is not plain digits" in text
    assert "R__views.sql: repeatable migrations have no migrator equivalent" in text


def test_sqlx_simple_and_reversible(tmp_path: Path) -> None:
    src = write(tmp_path / "sqlx", {
        "20260101000000_users.up.sql": b"CREATE TABLE users (id INTEGER);\n",
        "20260101000000_users.down.sql": b"DROP TABLE users;\n",
        "20260102000000_seed.sql": b"INSERT INTO users VALUES (1);\n",
        "20260103000000_vacuum.sql": b"-- no-transaction\nVACUUM;\n",
    })
    out = tmp_path / "migrations"
    convert("sqlx", src, out)
    assert (out / "20260101000000_users.down.sql").read_bytes() == b"DROP TABLE users;\n"
    assert (out / "20260102000000_seed.up.sql").read_bytes() == (
        b"INSERT INTO users VALUES (1);\n")
    assert (out / "20260103000000_vacuum.up.sql").read_bytes() == (
        b"-- migrator: no-transaction\n-- no-transaction\nVACUUM;\n")
    assert run(tmp_path, "-u", "sqlite:///s.db", "up").returncode == 0


def test_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    src = write(tmp_path / "sqlx", {"1_a.sql": b"SELECT 1;\n"})
    dest = write(tmp_path / "migrations", {"keep.sql": b"-- mine\n"})
    with pytest.raises(ConfigError, match="not an empty directory"):
        convert("sqlx", src, dest)
    assert (dest / "keep.sql").read_bytes() == b"-- mine\n"
    result = run(tmp_path, "convert", "--from", "sqlx", "sqlx", "migrations")
    assert result.returncode == 2
    assert "not an empty directory" in result.stderr


def test_dry_run_lists_files_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "db", {"20260101000000_a.sql": b"-- migrate:up\nSELECT 1;\n"
                                                    b"-- migrate:down\nSELECT 2;\n"})
    result = run(tmp_path, "convert", "--from", "dbmate", "db", "migrations", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["migrations/20260101000000_a.up.sql",
                                          "migrations/20260101000000_a.down.sql"]
    assert "would write 1 migration(s)" in result.stderr
    assert not (tmp_path / "migrations").exists()


def test_dbmate_half_transactional_migration_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "db", {
        "1_a.sql": b"-- migrate:up transaction:false\nVACUUM;\n-- migrate:down\nSELECT 1;\n",
        "2_b.sql": b"-- migrate:up foo:bar\nSELECT 1;\n",
    })
    with pytest.raises(MigrationFileError) as caught:
        convert("dbmate", src, tmp_path / "out")
    text = str(caught.value)
    assert "db/1_a.sql: transaction:false on only one of up/down" in text
    assert "db/2_b.sql:1: unknown dbmate option 'foo:bar'" in text
