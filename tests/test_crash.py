"""kill -9 at any moment leaves the database at a migration boundary.

Two ways to crash a run: SIGKILL of ``migrator up`` at random moments
(seeded, so a failure can be replayed), and a driver that kills itself at
every statement boundary and right before COMMIT. After every crash the
file must pass ``PRAGMA integrity_check``, hold exactly the recorded
migrations, and the next ``up`` must finish with a clean run's schema.
"""

from __future__ import annotations

import random
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "drivers"))
import harness as h

from migrator import Migrator

FILES = 30
TRIALS = 20
SEED = 20261124
BURN_ROWS = 60_000  # ~12 ms of CPU per file on an idle core
ROWS = [(1, "a"), (2, "b"), (3, "c"), (4, "a2"), (5, "b2"), (6, "c2")]


def slow_migrations(directory: Path) -> Path:
    files = {}
    for i in range(1, FILES + 1):
        files[f"{i:03d}_step{i}.up.sql"] = (
            f"CREATE TABLE t{i}(id INTEGER PRIMARY KEY, v TEXT NOT NULL);\n"
            f"INSERT INTO t{i}(v) VALUES ('a'), ('b'), ('c');\n"
            f"{h.burn(BURN_ROWS)};\n"
            f"CREATE INDEX t{i}_v ON t{i}(v);\n"
            f"INSERT INTO t{i}(v) SELECT v || '2' FROM t{i} ORDER BY id;\n"
        )
    return h.write_files(directory, files)


def assert_at_boundary(db: Path) -> int:
    """Every recorded migration fully there, nothing of any other; returns how many."""
    assert h.integrity_ok(db)
    applied = {int(v) for v in h.applied_versions(db)}
    snap = h.snapshot(db)
    names = {row[1] for row in snap["schema"]}
    for i in range(1, FILES + 1):
        if i in applied:
            assert snap["data"].get(f"t{i}") == ROWS, f"t{i} incomplete"
            assert f"t{i}_v" in names
        else:
            assert f"t{i}" not in names, f"t{i} exists but {i:03d} is not recorded"
            assert f"t{i}_v" not in names
    # applied in order: a crash never leaves a gap
    assert applied == set(range(1, len(applied) + 1))
    return len(applied)


@pytest.mark.parametrize(("journal_mode", "trials"), [("delete", TRIALS), ("wal", TRIALS // 2)])
def test_random_kill9_during_up_leaves_a_migration_boundary(
    tmp_path: Path, journal_mode: str, trials: int
) -> None:
    migrations = slow_migrations(tmp_path / "migrations")
    clean_db = h.make_db(tmp_path / "clean.db", journal_mode)
    started = time.perf_counter()
    Migrator(f"sqlite:///{clean_db}", migrations).up()
    per_file = (time.perf_counter() - started) / FILES
    clean = h.schema(clean_db)

    rng = random.Random(SEED)
    db = tmp_path / "app.db"
    journal = Path(f"{db}-journal")
    alive_at_kill = mid_transaction = finished_chains = 0
    for trial in range(trials):
        if not db.exists():
            h.make_db(db, journal_mode)
        before = len(h.applied_versions(db))
        # kill inside the file after a random number of further commits, once the
        # run holds its lock: a kill during start-up would test nothing, and with
        # target == before (always so at FILES - 1) it would land there every time
        target = rng.randint(before, FILES - 1)
        proc = h.spawn_cli(db, migrations, "up")
        h.wait_for(lambda p=proc, t=target: p.poll() is not None
                   or (h.lock_written(db, p.pid) and _applied(db) >= t),
                   what=f"{target} migrations to commit")
        time.sleep(rng.uniform(0, 1.5 * per_file))
        if proc.poll() is None:
            alive_at_kill += 1
        h.kill9(proc)
        if journal.exists():
            mid_transaction += 1  # a hot journal: the kill interrupted a transaction
        assert proc.returncode in (-signal.SIGKILL, 0), (trial, proc.returncode)
        count = assert_at_boundary(db)
        assert count >= before, "a crash never undoes committed migrations"
        if count == FILES:
            assert h.schema(db) == clean
            finished_chains += 1
            for leftover in (db, *(Path(f"{db}{x}") for x in ("-wal", "-shm", "-journal"))):
                leftover.unlink(missing_ok=True)  # start again from an empty database

    # the run after the last crash finishes the job without any manual step
    if not db.exists():  # the last trial finished a chain and removed the database
        h.make_db(db, journal_mode)
    final = h.run_cli(db, migrations, "up")
    assert final.code == 0, final.stderr
    assert assert_at_boundary(db) == FILES
    assert h.schema(db) == clean
    assert h.run_cli(db, migrations, "--json", "up").stdout.count('"version"') == 0
    # the kills really landed inside runs, and some inside a migration's transaction
    assert alive_at_kill >= trials // 2, (alive_at_kill, mid_transaction, finished_chains)
    if journal_mode == "delete":  # WAL leaves no journal file to tell by
        assert mid_transaction >= 3, (alive_at_kill, mid_transaction, finished_chains)
    conn = h.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == (journal_mode,)
    conn.close()


def _applied(db: Path) -> int:
    return len(h.applied_versions(db)) if db.exists() else 0


# -- deterministic kills at every statement boundary --------------------------------

FIRST = {
    "001_first.up.sql": (
        "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT NOT NULL);\n"
        "INSERT INTO accounts(owner) VALUES ('ann'), ('bob');\n"
    ),
}
TARGET_STATEMENTS = [
    "CREATE TABLE ledger(id INTEGER PRIMARY KEY, account INTEGER, amount INTEGER)",
    "INSERT INTO ledger(account, amount) SELECT id, 100 FROM accounts",
    "ALTER TABLE accounts ADD COLUMN balance INTEGER NOT NULL DEFAULT 0",
    "UPDATE accounts SET balance = (SELECT sum(amount) FROM ledger WHERE account = accounts.id)",
    "CREATE INDEX ledger_account ON ledger(account)",
    "DELETE FROM accounts WHERE owner = 'bob'",
]
AFTER = {"003_after.up.sql": "CREATE TABLE audit(at TEXT);\n"}
POINTS = [str(k) for k in range(1, len(TARGET_STATEMENTS) + 1)] + ["commit"]


def _kill_at(
    db: Path, migrations: Path, version: str, point: str, direction: str = "up"
) -> None:
    proc = h.spawn_driver(
        "kill_at.py", f"sqlite:///{db}", str(migrations), version, point, direction
    )
    out, err = proc.communicate(timeout=h.TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out, err)


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_kill9_at_every_statement_boundary(tmp_path: Path, journal_mode: str) -> None:
    target = "-- six statements, DDL and DML\n" + "".join(s + ";\n" for s in TARGET_STATEMENTS)
    migrations = h.write_files(
        tmp_path / "migrations", {**FIRST, "002_target.up.sql": target, **AFTER}
    )
    only_first = h.write_files(tmp_path / "only_first", FIRST)
    clean_db = h.make_db(tmp_path / "clean.db", journal_mode)
    Migrator(f"sqlite:///{clean_db}", migrations).up()

    for point in POINTS:
        db = h.make_db(tmp_path / f"app-{point}.db", journal_mode)
        ref = h.make_db(tmp_path / f"ref-{point}.db", journal_mode)
        Migrator(f"sqlite:///{ref}", only_first).up()

        _kill_at(db, migrations, "002", point)

        assert h.integrity_ok(db), point
        assert h.comparable(db) == h.comparable(ref), f"killed at {point}: not the before-state"
        rerun = h.run_cli(db, migrations, "up")
        assert rerun.code == 0, (point, rerun.stderr)
        assert h.applied_versions(db) == ["001", "002", "003"]
        assert h.comparable(db)["schema"] == h.comparable(clean_db)["schema"]
        assert h.snapshot(db)["data"]["accounts"] == h.snapshot(clean_db)["data"]["accounts"]


DOWN_STATEMENTS = [
    "INSERT INTO accounts(id, owner) VALUES (2, 'bob')",
    "DROP INDEX ledger_account",
    "ALTER TABLE accounts DROP COLUMN balance",
    "DROP TABLE ledger",
]


def test_kill9_at_every_statement_of_a_down_file(tmp_path: Path) -> None:
    up = "".join(s + ";\n" for s in TARGET_STATEMENTS)
    down = "".join(s + ";\n" for s in DOWN_STATEMENTS)
    migrations = h.write_files(tmp_path / "migrations", {
        **FIRST, "002_target.up.sql": up, "002_target.down.sql": down,
    })
    clean_db = tmp_path / "clean.db"
    Migrator(f"sqlite:///{clean_db}", migrations).up()
    applied = h.comparable(clean_db)
    Migrator(f"sqlite:///{clean_db}", migrations).down()
    rolled_back = h.comparable(clean_db)
    assert applied != rolled_back

    for point in [*(str(k) for k in range(1, len(DOWN_STATEMENTS) + 1)), "commit"]:
        db = tmp_path / f"app-{point}.db"
        Migrator(f"sqlite:///{db}", migrations).up()
        _kill_at(db, migrations, "002", point, "down")
        assert h.integrity_ok(db), point
        assert h.comparable(db) == applied, f"killed at {point}: down left a partial state"
        rerun = h.run_cli(db, migrations, "down")
        assert rerun.code == 0, (point, rerun.stderr)
        assert h.comparable(db) == rolled_back


def test_kill9_inside_no_transaction_file_records_nothing(tmp_path: Path) -> None:
    """Statements 1..k-1 of a no-transaction file stay; no row; an idempotent file re-runs."""
    statements = [
        "CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v TEXT)",
        "INSERT OR IGNORE INTO kv VALUES ('a', '1')",
        "CREATE INDEX IF NOT EXISTS kv_v ON kv(v)",
        "INSERT OR IGNORE INTO kv VALUES ('b', '2')",
    ]
    text = "-- migrator: no-transaction\n" + "".join(s + ";\n" for s in statements)
    migrations = h.write_files(tmp_path / "migrations", {**FIRST, "002_notx.up.sql": text})
    clean_db = tmp_path / "clean.db"
    Migrator(f"sqlite:///{clean_db}", migrations).up()

    for point in [*(str(k) for k in range(1, len(statements) + 1)), "commit"]:
        db = tmp_path / f"app-{point}.db"
        _kill_at(db, migrations, "002", point)
        assert h.integrity_ok(db)
        assert h.applied_versions(db) == ["001"], point
        ran = len(statements) if point == "commit" else int(point) - 1
        kv = h.snapshot(db)["data"].get("kv")
        assert (kv is not None) == (ran >= 1), point
        rerun = h.run_cli(db, migrations, "up")
        assert rerun.code == 0, (point, rerun.stderr)
        assert h.applied_versions(db) == ["001", "002"]
        assert h.schema(db) == h.schema(clean_db)
        assert h.snapshot(db)["data"]["kv"] == [("a", "1"), ("b", "2")]
