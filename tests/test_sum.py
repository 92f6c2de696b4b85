"""``migrations.sum``: written by ``hash``/``new``/``squash``, refused on disagreement (exit 3)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from clihelp import Result, applied, cli, migration, no_traceback, run, three, write

from migrator import Migrator
from migrator.files import discover_all
from migrator.integrity import SUM_NAME, SumMismatch, parse, render, verify, write_sum

A_UP = "migrations/20260101000000_create_a.up.sql"
B_UP = "migrations/20260102000000_create_b/up.sql"
C_DOWN = "migrations/20260103000000_create_c.down.sql"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hashed(tmp_path: Path) -> Path:
    """``three`` plus a repeatable, with a sum written by ``migrator hash``; the sum's path."""
    three(tmp_path)
    write(tmp_path / "migrations" / "R_view.up.sql", "CREATE VIEW IF NOT EXISTS v AS SELECT 1;\n")
    r = cli(tmp_path, "hash")
    assert r.code == 0, r
    return tmp_path / "migrations" / SUM_NAME


def refused(r: Result, *files: str) -> None:
    assert r.code == 3, r
    no_traceback(r)
    for f in files:
        assert f in r.err, r
    assert "migrator hash" in r.err, r


# -- the file ---------------------------------------------------------------------------


def test_hash_writes_one_line_per_migration_in_run_order_then_the_total(
        tmp_path: Path, hashed: Path) -> None:
    m = tmp_path / "migrations"
    text = hashed.read_text()
    lines = text.splitlines()
    assert lines[0].startswith(f"# {SUM_NAME}")
    assert lines[1:5] == [
        f"20260101000000_create_a up:{sha(m / '20260101000000_create_a.up.sql')} "
        f"down:{sha(m / '20260101000000_create_a.down.sql')}",
        f"20260102000000_create_b up:{sha(m / '20260102000000_create_b/up.sql')} "
        f"down:{sha(m / '20260102000000_create_b/down.sql')}",
        f"20260103000000_create_c up:{sha(m / '20260103000000_create_c.up.sql')} "
        f"down:{sha(m / '20260103000000_create_c.down.sql')}",
        f"R_view up:{sha(m / 'R_view.up.sql')}",  # a repeatable: edits to it are deliberate too
    ]
    body = "".join(f"{line}\n" for line in lines[:-1])
    assert lines[-1] == f"sum {hashlib.sha256(body.encode()).hexdigest()}"
    assert text.endswith("\n") and "\r" not in text
    assert [p.name for p in m.iterdir() if p.name.startswith(".")] == []  # no temp file left
    assert stat.S_IMODE(hashed.stat().st_mode) == 0o666 & ~_umask()
    # the same files give the same bytes: a rewrite without a change is no diff in git
    before = hashed.read_bytes()
    assert cli(tmp_path, "hash").code == 0
    assert hashed.read_bytes() == before


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_missing_down_file_is_a_dash(tmp_path: Path) -> None:
    migration(tmp_path, "1", "only_up", "CREATE TABLE t (x INTEGER);\n")
    r = cli(tmp_path, "hash", "--json")
    assert r.code == 0, r
    assert r.json() == {"sum": f"migrations/{SUM_NAME}", "created": True, "migrations": 1,
                        "repeatables": 0, "total": r.json()["total"], "changes": []}
    assert "1_only_up up:" in (tmp_path / "migrations" / SUM_NAME).read_text()
    assert " down:-\n" in (tmp_path / "migrations" / SUM_NAME).read_text()


def test_parse_reads_back_what_render_wrote_also_with_crlf(tmp_path: Path) -> None:
    three(tmp_path)
    found = discover_all(tmp_path / "migrations")
    written = write_sum(tmp_path / "migrations", found)
    raw = written.path.read_bytes()
    assert parse(raw, "s") == parse(raw.replace(b"\n", b"\r\n"), "s")  # git autocrlf
    assert list(parse(raw, "s")) == [m.label for m in found.migrations]
    assert render(parse(raw, "s").values()).encode() == raw


# -- opt-in ------------------------------------------------------------------------------


def test_a_directory_without_the_file_works_as_before(tmp_path: Path) -> None:
    three(tmp_path)
    for args in (["status"], ["up"], ["check"]):
        assert run(tmp_path, *args).code == 0
    r = cli(tmp_path, "new", "more")
    assert r.code == 0, r
    assert not (tmp_path / "migrations" / SUM_NAME).exists()  # new does not opt anyone in


# -- refusal -----------------------------------------------------------------------------


def test_an_edited_file_is_refused_by_up_status_and_check_until_hash(
        tmp_path: Path, hashed: Path) -> None:
    (tmp_path / A_UP).write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\n")
    for args in (["up"], ["status"], ["check"], ["up", "--dry-run"]):
        refused(run(tmp_path, *args), A_UP)
    assert not (tmp_path / "app.db").exists()  # refused before the database was opened
    r = run(tmp_path, "up")
    assert f"{A_UP}: differs from {SUM_NAME}" in r.err
    h = cli(tmp_path, "hash")
    assert h.code == 0, h
    assert f"{A_UP}: differs from {SUM_NAME}" in h.err  # what the hash now accepts, said
    assert run(tmp_path, "up").code == 0
    assert len(applied(tmp_path / "app.db")) == 4


def test_down_and_redo_are_refused_too(tmp_path: Path, hashed: Path) -> None:
    assert run(tmp_path, "up").code == 0
    (tmp_path / C_DOWN).write_text("DROP TABLE c; -- edited\n")
    refused(run(tmp_path, "down"), C_DOWN)
    refused(run(tmp_path, "redo"), C_DOWN)
    assert len(applied(tmp_path / "app.db")) == 4


def test_adopt_is_refused_too(tmp_path: Path, hashed: Path) -> None:
    """adopt records the files' checksums as applied: an unblessed edit must not be."""
    import sqlite3

    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY, version_id INTEGER, "
                 "is_applied INTEGER, tstamp TEXT)")
    conn.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)")
    conn.commit()
    conn.close()
    (tmp_path / A_UP).write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\n")
    refused(run(tmp_path, "adopt", "--from", "goose"), A_UP)


def test_every_difference_is_named_at_once(tmp_path: Path, hashed: Path) -> None:
    m = tmp_path / "migrations"
    (tmp_path / B_UP).write_text("CREATE TABLE b (id INTEGER);\n")       # changed
    (tmp_path / C_DOWN).unlink()                                          # down removed
    migration(tmp_path, "20260104000000", "sneaky", "CREATE TABLE s (x INTEGER);\n")  # added
    (m / "20260101000000_create_a.up.sql").unlink()
    (m / "20260101000000_create_a.down.sql").unlink()                    # gone
    (m / "R_view.up.sql").write_text("CREATE VIEW IF NOT EXISTS v AS SELECT 2;\n")
    r = run(tmp_path, "status", "--json")
    assert r.code == 3, r
    error = r.json()["error"]
    assert error["kind"] == "sum"
    assert [(p["label"], p["kind"]) for p in error["problems"]] == [
        ("20260102000000_create_b", "changed"),
        ("20260103000000_create_c", "changed"),
        ("20260104000000_sneaky", "unlisted"),
        ("R_view", "changed"),
        ("20260101000000_create_a", "gone"),
    ]
    assert "5 differences" in r.err
    assert "20260103000000_create_c (down file): removed since" in r.err
    assert "migrations/20260104000000_sneaky.up.sql: not listed in" in r.err
    assert "20260101000000_create_a: listed in migrations.sum, but its files are gone" in r.err


def test_line_endings_alone_are_not_refused(tmp_path: Path, hashed: Path) -> None:
    path = tmp_path / A_UP
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert run(tmp_path, "up").code == 0
    hashed.write_bytes(hashed.read_bytes().replace(b"\n", b"\r\n"))  # the sum itself, too
    r = run(tmp_path, "status")
    assert r.code == 0, r


@pytest.mark.parametrize(("damage", "words"), [
    (lambda t: t.replace("sum ", "sum 0", 1), "does not match the lines above it"),
    (lambda t: t.rsplit("sum ", 1)[0], "its last line must be 'sum <sha256>'"),
    (lambda t: "garbage\n" + t, "does not match"),
    (lambda t: "", "its last line must be"),
], ids=["total", "no-total", "extra-line", "empty"])
def test_a_damaged_sum_is_refused(tmp_path: Path, hashed: Path, damage, words: str) -> None:
    hashed.write_text(damage(hashed.read_text()))
    r = run(tmp_path, "up")
    refused(r, f"migrations/{SUM_NAME} is damaged", words)
    assert cli(tmp_path, "hash").code == 0
    assert run(tmp_path, "up").code == 0


def test_a_hand_made_line_with_a_matching_total_is_still_parsed(tmp_path: Path,
                                                                hashed: Path) -> None:
    rows = hashed.read_text().splitlines()[:-1]
    rows[1] = rows[1].replace(" up:", " upp:")
    body = "".join(f"{row}\n" for row in rows)
    hashed.write_text(body + f"sum {hashlib.sha256(body.encode()).hexdigest()}\n")
    refused(run(tmp_path, "status"), "line 2 is not")


def test_conflict_markers_name_the_branch_workflow(tmp_path: Path, hashed: Path) -> None:
    rows = hashed.read_text().splitlines(keepends=True)
    hashed.write_text("".join([*rows[:-1], "<<<<<<< HEAD\n", rows[-1], "=======\n",
                               "sum 00\n", ">>>>>>> feature\n"]))
    for args in (["up"], ["status"], ["check"], ["new", "x"]):
        r = run(tmp_path, *args)
        assert r.code == 3, (args, r)
        assert "git merge conflict markers" in r.err
        assert "git checkout main -- migrations/migrations.sum" in r.err
        assert "migrator rebase VERSION" in r.err
    assert len(list((tmp_path / "migrations").glob("*_x*"))) == 0


def test_library_migrator_refuses_too(tmp_path: Path, hashed: Path) -> None:
    (tmp_path / A_UP).write_text("-- edited\n")
    with pytest.raises(SumMismatch) as caught:
        Migrator(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "migrations").status()
    assert caught.value.exit_code == 3
    assert [p["label"] for p in caught.value.problems] == ["20260101000000_create_a"]


def test_verify_exempts_the_labels_given(tmp_path: Path, hashed: Path) -> None:
    (tmp_path / A_UP).write_text("-- edited\n")
    d = tmp_path / "migrations"
    verify(d, discover_all(d), exempt={"20260101000000_create_a"})
    with pytest.raises(SumMismatch):
        verify(d, discover_all(d))


# -- commands that rewrite it -------------------------------------------------------------


def test_new_rewrites_the_sum_and_refuses_a_directory_that_disagrees(
        tmp_path: Path, hashed: Path) -> None:
    r = cli(tmp_path, "new", "add_d", "--layout", "dir")
    assert r.code == 0, r
    label = Path(r.out.splitlines()[0]).parent.name
    assert f"\n{label} up:" in hashed.read_text()
    assert run(tmp_path, "status").code == 0
    (tmp_path / A_UP).write_text("-- edited\n")
    before = sorted(p.name for p in (tmp_path / "migrations").iterdir())
    r = cli(tmp_path, "new", "add_e")
    refused(r, A_UP)
    assert sorted(p.name for p in (tmp_path / "migrations").iterdir()) == before


def test_squash_rewrites_the_sum(tmp_path: Path, hashed: Path) -> None:
    r = cli(tmp_path, "squash", "--to", "20260102000000")
    assert r.code == 0, r
    text = hashed.read_text()
    assert "20260101000000_create_a" not in text
    assert "20260102000000_squashed up:" in text
    assert run(tmp_path, "status").code == 0
    assert run(tmp_path, "up").code == 0


def test_hash_refuses_invalid_files_and_writes_nothing(tmp_path: Path) -> None:
    three(tmp_path)
    write(tmp_path / "migrations" / "4_bad.down.sql", "-- orphan\n")
    r = cli(tmp_path, "hash")
    assert r.code == 2, r
    no_traceback(r)
    assert not (tmp_path / "migrations" / SUM_NAME).exists()
    r = cli(tmp_path, "-d", "nowhere", "hash", "--json")
    assert r.code == 2 and "does not exist" in r.json()["error"]["message"], r


def test_a_sum_that_cannot_be_read_or_written_is_an_error_not_a_traceback(
        tmp_path: Path) -> None:
    three(tmp_path)
    (tmp_path / "migrations" / SUM_NAME).mkdir()
    r = run(tmp_path, "status")
    assert r.code == 3 and f"cannot read migrations/{SUM_NAME}" in r.err, r
    r = cli(tmp_path, "hash")
    assert r.code == 2 and f"cannot write migrations/{SUM_NAME}" in r.err, r
    no_traceback(r)
    assert [p.name for p in (tmp_path / "migrations").iterdir() if p.name.startswith(".")] == []


def test_every_problem_has_the_same_keys(tmp_path: Path, hashed: Path) -> None:
    keys = {"label", "file", "kind", "detail"}
    (tmp_path / A_UP).write_text("-- edited\n")
    (tmp_path / "migrations" / "R_view.up.sql").unlink()
    r = run(tmp_path, "up", "--json")
    assert [set(p) for p in r.json()["error"]["problems"]] == [keys, keys]
    hashed.write_text("<<<<<<< HEAD\n")
    r = run(tmp_path, "up", "--json")
    assert r.json()["error"]["problems"] == [
        {"label": None, "file": f"migrations/{SUM_NAME}", "kind": "conflict",
         "detail": "git merge conflict markers"}]
    r = cli(tmp_path, "hash", "--json")
    assert r.json()["changes"] == [
        {"label": None, "file": f"migrations/{SUM_NAME}", "kind": "conflict",
         "detail": "git merge conflict markers"}]


def test_parallel_new_calls_each_leave_a_sum_that_agrees(tmp_path: Path, hashed: Path) -> None:
    from clihelp import finish, start

    procs = [start(tmp_path, "new", f"add_{i}") for i in range(4)]
    results = [finish(p) for p in procs]
    assert [r.code for r in results] == [0, 0, 0, 0], results
    assert len(parse(hashed.read_bytes(), "s")) == 8  # three, four new ones, the repeatable
    assert run(tmp_path, "status").code == 0
