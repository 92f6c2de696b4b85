"""Checksums are of raw bytes (so ``sha256sum`` agrees), and only line endings or
a BOM count as a cosmetic change."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from migrator.checksum import checksum, cosmetic_match

BOM = b"\xef\xbb\xbf"
LF = b"-- users\nCREATE TABLE users(id INTEGER PRIMARY KEY);\n\nINSERT INTO users VALUES (1);\n"
CRLF = LF.replace(b"\n", b"\r\n")

SAMPLES = [b"", LF, CRLF, BOM + LF, b"\x00\xff not even text", "café;\n".encode()]


@pytest.mark.parametrize("data", SAMPLES, ids=["empty", "lf", "crlf", "bom", "binary", "utf8"])
def test_checksum_is_sha256_of_raw_bytes(data: bytes) -> None:
    assert checksum(data) == hashlib.sha256(data).hexdigest()
    assert len(checksum(data)) == 64


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_checksum_matches_sha256sum(tmp_path: Path) -> None:
    path = tmp_path / "0001_init.up.sql"
    path.write_bytes(BOM + CRLF)
    out = subprocess.run(
        ["sha256sum", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split()[0] == checksum(path.read_bytes())


def test_line_endings_and_bom_differ_in_checksum() -> None:
    assert len({checksum(LF), checksum(CRLF), checksum(BOM + LF), checksum(BOM + CRLF)}) == 4


@pytest.mark.parametrize(
    ("recorded", "now", "note"),
    [
        (CRLF, LF, "line endings (CRLF/LF)"),
        (LF, CRLF, "line endings (CRLF/LF)"),
        (LF, BOM + LF, "a UTF-8 BOM"),
        (BOM + LF, LF, "a UTF-8 BOM"),
        (BOM + CRLF, CRLF, "a UTF-8 BOM"),
        (LF, BOM + CRLF, "line endings (CRLF/LF) and a UTF-8 BOM"),
        (BOM + CRLF, LF, "line endings (CRLF/LF) and a UTF-8 BOM"),
    ],
    ids=["crlf-to-lf", "lf-to-crlf", "bom-added", "bom-removed", "bom-removed-crlf",
         "both-added", "both-removed"],
)
def test_cosmetic_changes_are_recognised(recorded: bytes, now: bytes, note: str) -> None:
    assert cosmetic_match(now, checksum(recorded)) == note


@pytest.mark.parametrize(
    "now",
    [
        LF.replace(b"(1)", b"(2)"),
        LF + b"-- one more comment\n",
        LF.replace(b"users", b"Users"),
        LF.rstrip(b"\n"),  # a removed final newline is an edit, not a line-ending change
        LF.replace(b"\n", b"\r"),  # classic Mac endings are not git's autocrlf
    ],
    ids=["value", "appended", "case", "final-newline", "cr-only"],
)
def test_real_edits_are_not_cosmetic(now: bytes) -> None:
    assert cosmetic_match(now, checksum(LF)) is None
    assert cosmetic_match(BOM + now.replace(b"\n", b"\r\n"), checksum(LF)) is None


def test_mixed_line_endings_normalise_to_one_style() -> None:
    """A file whose recorded form mixed CRLF and LF cannot be rebuilt: not matched."""
    mixed = b"SELECT 1;\r\nSELECT 2;\n"
    assert cosmetic_match(mixed, checksum(b"SELECT 1;\nSELECT 2;\n")) == "line endings (CRLF/LF)"
    assert cosmetic_match(b"SELECT 1;\nSELECT 2;\n", checksum(mixed)) is None
