"""Findings for a reviewer and for CI: text, GitHub annotations, SARIF 2.1.0.

Each takes the problems as ``migrator check --json`` lists them (``rule``,
``severity``, ``file``, ``line``, ``column``, ``message``, ``hint``), so every
format says the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from migrator.lint.model import Rule

FORMATS = ("text", "json", "github", "sarif")
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_STRUCTURAL = "check"  # the ruleId of a structural problem (no rule of its own)


def github(problems: Iterable[Mapping[str, object]]) -> str:
    """One ``::warning file=...,line=...::message`` workflow command per problem."""
    lines = []
    for p in problems:
        props = [f"file={_prop(p['file'])}"]
        if p.get("line"):
            props.append(f"line={p['line']}")
        if p.get("column"):
            props.append(f"col={p['column']}")
        rule = p.get("rule")
        if rule:
            props.append(f"title={_prop(rule)}")
        message = str(p["message"]) + (f" (fix: {p['hint']})" if p.get("hint") else "")
        level = "error" if p["severity"] == "error" else "warning"
        lines.append(f"::{level} {','.join(props)}::{_data(message)}\n")
    return "".join(lines)


def _data(value: object) -> str:
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(value: object) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def sarif(problems: Iterable[Mapping[str, object]], rules: Iterable[Rule],
          version: str) -> dict[str, object]:
    """A SARIF 2.1.0 log with one run: the rules as reporting descriptors, then results."""
    described = [{
        "id": r.id,
        "name": r.id,
        "shortDescription": {"text": r.message},
        "fullDescription": {"text": f"{r.message}: {r.prevents}"},
        "help": {"text": r.hint},
        "defaultConfiguration": {"level": r.severity},
        "properties": {"dialect": r.dialect},
    } for r in rules]
    described.append({"id": _STRUCTURAL, "name": _STRUCTURAL,
                      "shortDescription": {"text": "a structural problem in a migration file"},
                      "help": {"text": "see the message"}})
    results = []
    for p in problems:
        region: dict[str, object] = {}
        if p.get("line"):
            region["startLine"] = p["line"]
            if p.get("column"):
                region["startColumn"] = p["column"]
        location: dict[str, object] = {"artifactLocation": {"uri": str(p["file"])}}
        if region:
            location["region"] = region
        text = str(p["message"]) + (f" Fix: {p['hint']}" if p.get("hint") else "")
        results.append({
            "ruleId": p.get("rule") or _STRUCTURAL,
            "level": "error" if p["severity"] == "error" else "warning",
            "message": {"text": text},
            "locations": [{"physicalLocation": location}],
        })
    return {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "migrator", "version": version,
                                "rules": described}},
            "results": results,
        }],
    }
