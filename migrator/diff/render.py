"""A Script as the text of a migration file: directives, header, commented statements."""

from __future__ import annotations

from migrator.diff.model import Script


def render(script: Script, header: str) -> str:
    """Directives first (they must be the file's first lines), then the header; each
    statement ends with ``;`` after its note and ``-- destructive:`` comment lines."""
    out = [f"-- migrator: {d}\n" for d in script.directives]
    out.append(f"-- {header}\n")
    for step in script.steps:
        out.append("\n")
        if step.note:
            out.append(f"-- {step.note}\n")
        if step.destructive:
            out += [f"-- destructive: {why.strip()}\n" for why in step.destructive.split("; ")]
        sql = step.sql.rstrip()
        out.append(sql + ("\n" if sql.endswith(";") else ";\n"))
    return "".join(out)
