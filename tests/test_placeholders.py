"""``${NAME}`` placeholders: opt-in substitution, precedence, escapes, secrets."""

from __future__ import annotations

import pytest

from migrator.placeholders import (
    PlaceholderError,
    Variable,
    collect,
    mask,
    parse_assignment,
    substitute,
)


def test_substitutes_every_placeholder_and_keeps_the_rest() -> None:
    text = "CREATE ROLE ${role};\nGRANT SELECT ON t TO ${role};\nSELECT '$1', $$x$$;\n"
    out = substitute(text, "f.sql", {"role": Variable("reader")})
    assert out == "CREATE ROLE reader;\nGRANT SELECT ON t TO reader;\nSELECT '$1', $$x$$;\n"


def test_double_dollar_brace_writes_a_literal() -> None:
    assert substitute("SELECT '$${x}';", "f.sql", {}) == "SELECT '${x}';"


def test_every_unset_name_is_reported_with_its_line() -> None:
    with pytest.raises(PlaceholderError) as info:
        substitute("SELECT 1;\nSELECT ${a};\nSELECT ${b};\n", "m/1_x.up.sql", {"c": Variable("")})
    problems = info.value.problems
    assert [(p.path, p.line) for p in problems] == [("m/1_x.up.sql", 2), ("m/1_x.up.sql", 3)]
    assert "${a} has no value: pass --var a=VALUE, set MIGRATOR_VAR_a" in problems[0].message


def test_a_dollar_brace_without_a_name_is_an_error() -> None:
    with pytest.raises(PlaceholderError) as info:
        substitute("SELECT 1;\nSELECT '${ oops }';\n", "f.sql", {})
    assert info.value.problems[0].line == 2
    assert "$${ for a literal" in info.value.problems[0].message


def test_flags_beat_environment_beats_config() -> None:
    found = collect(
        {"a": "config", "b": "config", "c": "config"},
        {"MIGRATOR_VAR_b": "env", "MIGRATOR_VAR_c": "env", "MIGRATOR_SECRET_pw": "s3cret",
         "MIGRATOR_VAR_": "ignored", "OTHER": "x"},
        ["c=flag", "eq=a=b"],
    )
    assert found["a"] == Variable("config")
    assert found["b"] == Variable("env")
    assert found["c"] == Variable("flag")
    assert found["eq"] == Variable("a=b")
    assert found["pw"] == Variable("s3cret", secret=True)
    assert "" not in found


def test_secret_flag_marks_the_value_secret() -> None:
    found = collect({}, {}, [], ["pw=hunter2"])
    assert found["pw"].secret
    assert mask("ALTER ROLE app PASSWORD 'hunter2';", found) == \
        "ALTER ROLE app PASSWORD '***';"


def test_mask_leaves_plain_values_and_empty_secrets_alone() -> None:
    found = {"role": Variable("reader"), "empty": Variable("", secret=True)}
    assert mask("GRANT x TO reader;", found) == "GRANT x TO reader;"


@pytest.mark.parametrize("bad", ["novalue", "=x", "1abc=x", "a-b=x"])
def test_bad_assignments_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_assignment(bad)
