"""Version look-ups and rollback selection in the pure planner."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from migrator.errors import ConfigError
from migrator.files import Migration
from migrator.plan import Entry, find, reconcile, rollback_targets
from migrator.source import SqlText
from migrator.state import AppliedMigration, utc_now


def _migration(version: str) -> Migration:
    text = SqlText(f"{version}_m.up.sql", "SELECT 1;", f"sum{version}", frozenset())
    return Migration(version, int(version.replace("-", "")), "m", text, text)


def _entries() -> list[Entry]:
    ms = [_migration(v) for v in ("1", "2", "3")]
    rows = [AppliedMigration(v, "m", f"sum{v}", "2026-11-24T00:00:00Z", 0) for v in ("1", "2")]
    return reconcile(ms, rows, read=lambda path: b"")


@pytest.mark.parametrize("bad", ["-1", "abc", "", "1a", "v2"])
def test_find_rejects_non_versions(bad: str) -> None:
    with pytest.raises(ConfigError, match="not a migration version"):
        find(_entries(), bad)


def test_find_ignores_leading_zeros() -> None:
    assert find(_entries(), "0002").version == "2"


def test_down_to_zero_rolls_back_everything() -> None:
    targets = rollback_targets(_entries(), steps=None, to="0", everything=False)
    assert [e.version for e in targets] == ["2", "1"]


def test_down_to_version_keeps_it() -> None:
    targets = rollback_targets(_entries(), steps=None, to="1", everything=False)
    assert [e.version for e in targets] == ["2"]


def test_pending_older_than_newest_applied_is_marked() -> None:
    ms = [_migration(v) for v in ("1", "2", "3")]
    rows = [AppliedMigration(v, "m", f"sum{v}", "t", 0) for v in ("1", "3")]
    states = {e.version: (e.state, e.note) for e in reconcile(ms, rows, read=lambda p: b"")}
    assert states["2"][0] == "pending" and states["2"][1] is not None
    assert states["3"] == ("applied", None)


def test_rows_match_files_by_key_whatever_their_spelling() -> None:
    ms = [_migration(v) for v in ("1", "0002", "2026-01-03")]
    rows = [
        AppliedMigration(v, "m", s, "t", 0)
        for v, s in (("01", "sum1"), ("2", "sum0002"), ("20260103", "other"), ("x9", "s"))
    ]
    entries = reconcile(ms, rows, read=lambda p: b"")
    assert [(e.version, e.state, e.key) for e in entries] == [
        ("x9", "missing", -1), ("1", "applied", 1), ("0002", "applied", 2),
        ("2026-01-03", "modified", 20260103),
    ]
    assert entries[1].row is rows[0]


def test_applied_at_is_utc_iso_8601_with_milliseconds() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = utc_now()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before <= parsed <= after


def test_unfinished_migrations_get_a_note_naming_repair() -> None:
    from migrator.backends.base import Unfinished
    from migrator.plan import mark_unfinished

    entries = _entries()
    stopped = [Unfinished("1", "m", "down", "running", 2, 4, "2026-11-24T00:00:00.000Z", ""),
               Unfinished("9", "gone", "up", "failed", 1, 1, "2026-11-24T00:00:00.000Z", "x")]
    notes = {e.version: e.note for e in mark_unfinished(entries, stopped)}
    assert notes == {"1": "unfinished down: stopped at statement 2 of 4; see 'migrator repair 1'",
                     "2": None, "3": None}
    assert mark_unfinished(entries, []) is entries
