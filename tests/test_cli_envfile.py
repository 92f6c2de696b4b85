"""The ``.env`` reader: the format godotenv and python-dotenv agree on, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.cli.envfile import load, parse
from migrator.errors import ConfigError, ExitCode

CASES = [
    ("bare", "A=1\n", {"A": "1"}),
    ("export prefix and spaces", "export A = two words \n", {"A": "two words"}),
    ("comments and blank lines", "# c\n\n  # indented\nA=1\n", {"A": "1"}),
    ("inline comment ends a bare value", "A=x # note\nB=y#z\n", {"A": "x", "B": "y#z"}),
    ("single quotes are literal", "A='$HOME \\n # x'\n", {"A": "$HOME \\n # x"}),
    ("double quotes: escapes", 'A="a\\nb\\t\\"c\\\\"\n', {"A": 'a\nb\t"c\\'}),
    ("double quotes: comment after", 'A="x y"  # note\n', {"A": "x y"}),
    ("double quotes span lines", 'A="one\ntwo"\nB=3\n', {"A": "one\ntwo", "B": "3"}),
    ("expansion from the file", "A=1\nB=${A}2\nC=\"$A-x\"\n", {"A": "1", "B": "12", "C": "1-x"}),
    ("expansion from the environment first", "HOST=file\nU=${HOST}\n",
     {"HOST": "file", "U": "env"}),
    ("escaped dollar", "A=\\$B\nB=\"\\$C\"\n", {"A": "$B", "B": "$C"}),
    ("unknown name expands to nothing", "A=x${NOPE}y\n", {"A": "xy"}),
    ("empty value", "A=\nB=''\n", {"A": "", "B": ""}),
    ("CRLF lines", "A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    ("URL with password", "DATABASE_URL=postgres://u:p%40ss@db:5432/app?sslmode=require\n",
     {"DATABASE_URL": "postgres://u:p%40ss@db:5432/app?sslmode=require"}),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse(text: str, expected: dict[str, str]) -> None:
    assert dict(parse(text, ".env", {"HOST": "env"})) == expected


ERRORS = [
    ("not an assignment", "A=1\nsecret-token-value\n", ".env:2: expected NAME=value"),
    ("unclosed quote", 'A=1\nB="open\nC=2\n', '.env:2: B: the " quote is never closed'),
    ("text after the quote", "A='x' y\n", ".env:1: A: text after the closing quote"),
    ("bad name", "1A=x\n", ".env:1: expected NAME=value"),
]


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_parse_errors_name_the_line_and_never_the_value(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        dict(parse(text, ".env", {}))
    assert str(info.value).startswith(message)
    assert info.value.exit_code == ExitCode.USAGE
    assert "secret-token-value" not in str(info.value) and "open" not in str(info.value)


def test_load_keeps_what_the_environment_has(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    path.write_text("A=file\nB=file\nC=${A}\n")
    env = {"A": "env", "B": ""}
    load(str(path), env)
    assert env == {"A": "env", "B": "", "C": "env"}  # set, even to "", means set


def test_load_default_file_is_optional_a_named_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}
    load(None, env)
    assert env == {}
    with pytest.raises(ConfigError, match=r"^env file nope\.env not found \(--env-file\)$"):
        load("nope.env", env)
    (tmp_path / ".env").write_bytes(b"A=\xff\n")
    with pytest.raises(ConfigError, match=r"^cannot read env file \.env: "):
        load(None, env)
