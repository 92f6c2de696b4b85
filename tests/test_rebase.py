"""``migrator rebase``: unapplied migrations move after the newest one; applied ones never."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clihelp import Result, applied, clean_env, cli, migration, no_traceback, run, three

from migrator.files import discover_all
from migrator.integrity import SUM_NAME
from migrator.scaffold import next_version

NOW = int(datetime.now(UTC).strftime("%Y%m%d%H%M%S"))


def labels(root: Path) -> list[str]:
    return [m.label for m in discover_all(root / "migrations").migrations]


def rebased(r: Result) -> list[tuple[str, str]]:
    """(from, to) of each rebased migration, from the JSON document."""
    assert r.code == 0, r
    return [(m["from"], m["to"]) for m in r.json()["rebased"]]


# -- versions ------------------------------------------------------------------------------


def test_next_version_is_after_every_given_version(tmp_path: Path) -> None:
    assert int(next_version(tmp_path, set())) >= NOW
    assert next_version(tmp_path, set(), after=29991231235959) == "30000101000000"
    assert next_version(tmp_path, {30000101000000}, after=29991231235959) == "30000101000001"
    assert next_version(tmp_path, set(), after=99999999999999) == "100000000000000"
    assert next_version(tmp_path, set(), after=5) >= str(NOW)  # a sequence: now is after it


# -- renaming ------------------------------------------------------------------------------


def test_both_layouts_move_after_the_newest_in_the_order_given(tmp_path: Path) -> None:
    three(tmp_path)  # 20260101000000_create_a (pair), _create_b (dir), _create_c (pair)
    migration(tmp_path, "29990101000000", "future", "CREATE TABLE f (x INTEGER);\n")
    r = cli(tmp_path, "rebase", "20260102000000", "20260101000000_create_a", "--json")
    assert rebased(r) == [("20260102000000_create_b", "29990101000001_create_b"),
                          ("20260101000000_create_a", "29990101000002_create_a")]
    assert r.json()["checked"] == [] and r.json()["sum"] is None
    assert labels(tmp_path) == ["20260103000000_create_c", "29990101000000_future",
                                "29990101000001_create_b", "29990101000002_create_a"]
    m = tmp_path / "migrations"
    assert sorted(p.name for p in (m / "29990101000001_create_b").iterdir()) == [
        "down.sql", "up.sql"]
    assert (m / "29990101000002_create_a.down.sql").read_text() == "DROP TABLE a;\n"
    assert not (m / SUM_NAME).exists()  # opt-in: rebase creates none
    assert run(tmp_path, "up").code == 0
    assert applied(tmp_path / "app.db")[-1] == "29990101000002"


def test_fresh_timestamps_when_the_newest_is_in_the_past(tmp_path: Path) -> None:
    three(tmp_path)
    r = cli(tmp_path, "rebase", "20260101000000", "--json")
    ((_, to),) = rebased(r)
    assert int(to.split("_")[0]) >= NOW


def test_the_line_new_wrote_names_the_new_label(tmp_path: Path) -> None:
    r = cli(tmp_path, "new", "add_x")
    assert r.code == 0, r
    up = Path(tmp_path / r.out.splitlines()[0])
    up.write_text(up.read_text() + "CREATE TABLE x (y INTEGER); -- add_x stays\n")
    old = up.name.removesuffix(".up.sql")
    migration(tmp_path, "29990101000000", "later", "SELECT 1;\n")
    ((_, to),) = rebased(cli(tmp_path, "rebase", old.split("_")[0], "--json"))
    m = tmp_path / "migrations"
    assert (m / f"{to}.up.sql").read_text() == (
        f"-- {to}: up\n\nCREATE TABLE x (y INTEGER); -- add_x stays\n")
    assert (m / f"{to}.down.sql").read_text().startswith(f"-- {to}: down (undo")


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    three(tmp_path)
    assert cli(tmp_path, "hash").code == 0
    before = {p: p.read_bytes() for p in (tmp_path / "migrations").rglob("*") if p.is_file()}
    r = cli(tmp_path, "rebase", "20260103000000", "--dry-run")
    assert r.code == 0, r
    assert r.out.startswith("20260103000000_create_c -> ")
    assert "would rename 1 migration(s)" in r.err
    after = {p: p.read_bytes() for p in (tmp_path / "migrations").rglob("*") if p.is_file()}
    assert after == before


def test_the_sum_is_rewritten_and_only_the_named_may_disagree_with_it(tmp_path: Path) -> None:
    three(tmp_path)
    assert cli(tmp_path, "hash").code == 0
    m = tmp_path / "migrations"
    migration(tmp_path, "20250101000000", "mine", "CREATE TABLE mine (x INTEGER);\n")  # unlisted
    (m / "20260103000000_create_c.up.sql").write_text("-- edited\n")
    r = cli(tmp_path, "rebase", "20250101000000")
    assert r.code == 3, r
    assert "migrations/20260103000000_create_c.up.sql: differs" in r.err
    assert (m / "20250101000000_mine.up.sql").exists()
    (m / "20260103000000_create_c.up.sql").write_text(
        "CREATE TABLE c (x TEXT);\nINSERT INTO c VALUES ('it''s; tricky');\n")
    r = cli(tmp_path, "rebase", "20250101000000", "--json")
    ((_, to),) = rebased(r)
    assert r.json()["sum"] == f"migrations/{SUM_NAME}"
    assert (m / SUM_NAME).read_text().splitlines()[-2].startswith(f"{to} up:")
    assert run(tmp_path, "status").code == 0


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    (["99"], "no migration with version 99"),
    (["R_view"], "R_view is a repeatable migration"),
    (["abc"], "'abc' is not a migration version"),
    (["20260101000000", "20260101000000_create_a"], "20260101000000_create_a is named twice"),
    ([], "the following arguments are required: VERSION"),
], ids=["unknown", "repeatable", "not-a-version", "twice", "none"])
def test_bad_versions_are_usage_errors(tmp_path: Path, args: list[str], words: str) -> None:
    three(tmp_path)
    migration(tmp_path, "R", "view", "SELECT 1;\n")  # R_view.up.sql
    r = cli(tmp_path, "rebase", *args)
    assert r.code == 2, r
    no_traceback(r)
    assert words in r.err
    assert labels(tmp_path)[0] == "20260101000000_create_a"


def test_a_migration_any_database_applied_is_refused(tmp_path: Path) -> None:
    three(tmp_path)
    assert cli(tmp_path, "-u", "sqlite:///staging.db", "up", "--to", "20260102000000").code == 0
    assert cli(tmp_path, "-u", "sqlite:///prod.db", "up", "--to", "20260101000000").code == 0
    # -u before and after the command name, every one of them asked
    r = cli(tmp_path, "-u", "sqlite:///prod.db", "rebase", "20260102000000", "20260103000000",
            "-u", "sqlite:///staging.db", "-u", "sqlite:///dev.db", "--json")
    assert r.code == 2, r
    assert r.json()["error"]["kind"] == "applied"
    assert r.json()["error"]["applied"] == [
        {"version": "20260102000000", "name": "create_b", "url": "sqlite:///staging.db",
         "state": "applied"}]
    assert "20260102000000_create_b: applied on sqlite:///staging.db" in r.err
    assert "nothing was renamed" in r.err
    assert labels(tmp_path)[1:] == ["20260102000000_create_b", "20260103000000_create_c"]
    assert not (tmp_path / "dev.db").exists()  # asked read-only: not created
    r = cli(tmp_path, "-u", "sqlite:///prod.db", "rebase", "20260103000000",
            "-u", "sqlite:///staging.db")
    assert r.code == 0, r
    assert "2 database(s) checked" in r.err


def test_the_configured_url_is_asked_when_no_url_is_given(tmp_path: Path) -> None:
    three(tmp_path)
    assert run(tmp_path, "up").code == 0
    env = clean_env(DATABASE_URL="sqlite:///app.db")
    r = cli(tmp_path, "rebase", "20260103000000", env=env)
    assert r.code == 2, r
    assert "20260103000000_create_c: applied on sqlite:///app.db" in r.err
    assert cli(tmp_path, "down", env=env).code == 0  # rolled back: now it may move
    r = cli(tmp_path, "rebase", "20260103000000", env=env)
    assert r.code == 0, r
    assert "no database was asked" not in r.err
    assert cli(tmp_path, "up", env=env).code == 0


def test_without_any_database_it_says_none_was_asked(tmp_path: Path) -> None:
    three(tmp_path)
    r = cli(tmp_path, "rebase", "20260103000000")
    assert r.code == 0, r
    assert "note: no database was asked whether it applied them" in r.err


# -- the branch walk-through (README "Branches"), with real git ------------------------------


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = clean_env(HOME=str(root), GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t",
                    GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                    GIT_COMMITTER_EMAIL="t@example.com", GIT_EDITOR="true")
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def ok(r: Result) -> Result:
    assert r.code == 0, r
    return r


@pytest.fixture
def branches(tmp_path: Path) -> Path:
    """main with one migration and its sum; ``feature-a`` adds one with ``migrator new``
    and is merged; ``feature-b`` added one earlier (an older version), not merged yet."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    migration(root, "20200101000000", "init", "CREATE TABLE t (x INTEGER);\n", "DROP TABLE t;\n")
    ok(cli(root, "hash"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    git(root, "checkout", "-qb", "feature-b")
    migration(root, "20200102000000", "add_b", "CREATE TABLE b (x INTEGER);\n",
              "DROP TABLE b;\n")  # written by hand, a while ago
    ok(cli(root, "hash"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "b")
    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-qb", "feature-a")
    ok(cli(root, "new", "add_a"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "feature-a")
    ok(run(root, "up"))  # main is deployed: init and add_a applied
    (root / ".gitignore").write_text("app.db\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-qm", "ignore the database")
    return root


def _after_resolution(root: Path) -> None:
    """What must hold once the branch is resolved: both migrations, B after A, all clean."""
    found = labels(root)
    assert [label.split("_", 1)[1] for label in found] == ["init", "add_a", "add_b"]
    assert found[2] > found[1]
    ok(cli(root, "check"))
    status = run(root, "status", "--exit-code")
    assert status.code == 1 and "1 pending migration" in status.err, status  # no drift
    ok(run(root, "up"))
    assert applied(root / "app.db")[-1] == found[2].split("_")[0]


def test_branch_walkthrough_with_git_merge(branches: Path) -> None:
    root = branches
    git(root, "checkout", "-q", "feature-b")
    merge = git(root, "merge", "main", check=False)
    assert merge.returncode != 0
    assert f"CONFLICT (content): Merge conflict in migrations/{SUM_NAME}" in merge.stdout
    refused = run(root, "up")  # the conflict is seen before any deploy
    assert refused.code == 3 and "merge conflict markers" in refused.err, refused
    git(root, "checkout", "main", "--", f"migrations/{SUM_NAME}")  # main's sum
    ok(cli(root, "rebase", "20200102000000"))
    git(root, "add", "-A", "migrations")
    git(root, "commit", "-q", "--no-edit")
    _after_resolution(root)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "feature-b")  # clean now
    assert labels(root)[2].endswith("_add_b")
    ok(run(root, "status", "--exit-code"))


def test_branch_walkthrough_with_git_rebase(branches: Path) -> None:
    root = branches
    git(root, "checkout", "-q", "feature-b")
    replay = git(root, "rebase", "main", check=False)
    assert replay.returncode != 0
    assert f"migrations/{SUM_NAME}" in replay.stdout + replay.stderr
    git(root, "checkout", "main", "--", f"migrations/{SUM_NAME}")
    ok(cli(root, "rebase", "20200102000000"))
    git(root, "add", "-A", "migrations")
    git(root, "rebase", "--continue")
    _after_resolution(root)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "feature-b")


def test_rebase_with_a_sum_still_in_conflict_says_what_to_do(branches: Path) -> None:
    root = branches
    git(root, "checkout", "-q", "feature-b")
    git(root, "merge", "main", check=False)
    r = cli(root, "rebase", "20200102000000")
    assert r.code == 3, r
    assert "git checkout main -- migrations/migrations.sum" in r.err
    assert os.path.exists(root / "migrations" / "20200102000000_add_b.up.sql")


# -- a version two migrations share (a sequence's next number on two branches) ----------------


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """001_init and 002_a hashed (main's sum), then 002_b from another branch."""
    migration(tmp_path, "001", "init", "CREATE TABLE t (x INTEGER);\n", "DROP TABLE t;\n")
    migration(tmp_path, "002", "a", "CREATE TABLE a (x INTEGER);\n", "DROP TABLE a;\n")
    assert cli(tmp_path, "hash").code == 0
    migration(tmp_path, "002", "b", "CREATE TABLE b (x INTEGER);\n", "DROP TABLE b;\n",
              layout="dir")
    return tmp_path


def test_a_shared_version_is_settled_by_rebasing_one_by_its_label(shared: Path) -> None:
    r = run(shared, "status")
    assert r.code == 2 and "duplicate version 2" in r.err, r  # what the merge left
    r = cli(shared, "rebase", "002")
    assert r.code == 2, r
    assert "version 002 is shared by 002_a, 002_b: name the one to move by its label " \
           "('migrator rebase 002_b')" in r.err
    r = cli(shared, "rebase", "002_b", "--json")
    ((old, new),) = rebased(r)
    assert old == "002_b" and int(new.split("_")[0]) >= NOW
    assert (shared / "migrations" / new / "up.sql").exists()
    assert run(shared, "status").code == 0  # the sum (main's, plus b) agrees
    assert run(shared, "up").code == 0
    assert applied(shared / "app.db") == ["001", "002", new.split("_")[0]]


def test_a_shared_version_with_another_disagreement_puts_the_names_back(shared: Path) -> None:
    (shared / "migrations" / "001_init.up.sql").write_text("-- edited\n")
    r = cli(shared, "rebase", "002_b")
    assert r.code == 3, r
    assert "migrations/001_init.up.sql: differs" in r.err
    assert (shared / "migrations" / "002_b" / "up.sql").exists()  # renamed back
    assert labels_on_disk(shared) == ["001_init.down.sql", "001_init.up.sql", "002_a.down.sql",
                                      "002_a.up.sql", "002_b"]


def labels_on_disk(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "migrations").iterdir() if p.name[0].isdigit())


def test_branch_walkthrough_when_both_branches_ran_new(tmp_path: Path) -> None:
    """Each branch runs ``migrator new`` (b first, so its version is not after a's, and
    may even be the same second); the label names b's migration in either case."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    ok(cli(root, "new", "init"))
    ok(cli(root, "hash"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    git(root, "checkout", "-qb", "feature-b")
    b_up = Path(ok(cli(root, "new", "add_b")).out.splitlines()[0])
    git(root, "add", "-A")
    git(root, "commit", "-qm", "b")
    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-qb", "feature-a")
    ok(cli(root, "new", "add_a", "--layout", "dir"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "feature-a")
    git(root, "checkout", "-q", "feature-b")
    merge = git(root, "merge", "main", check=False)
    assert f"CONFLICT (content): Merge conflict in migrations/{SUM_NAME}" in merge.stdout
    git(root, "checkout", "main", "--", f"migrations/{SUM_NAME}")
    label = b_up.name.removesuffix(".up.sql")
    ok(cli(root, "rebase", label))
    git(root, "add", "-A", "migrations")
    git(root, "commit", "-qm", "merge main")
    found = labels(root)
    assert [lb.split("_", 1)[1] for lb in found] == ["init", "add_a", "add_b"]
    ok(cli(root, "check"))
    ok(run(root, "up"))
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "feature-b")
    ok(run(root, "status", "--exit-code"))
