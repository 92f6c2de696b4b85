"""No import cycle through the CLI layer, counting imports inside functions too.

Run alone: ``python -m pytest -q tests/test_cli_imports.py``. An import under
``if TYPE_CHECKING:`` is not counted: it never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "migrator"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from pkg import mod`` needs mod; pkg's __init__ runs first for any
            # submodule, which is how packages work, not a dependency of the code
            submodules = {f"{node.module}.{a.name}" for a in node.names} & modules
            found.update(submodules or {node.module})
    return {m for m in found if m in modules}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imports(path, set(paths)) - {name} for name, path in paths.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_graph_sees_lazy_imports() -> None:
    graph = _graph()
    assert "migrator.cli.report" in graph["migrator.cli.catalog"]  # inside group()
    assert "migrator.cli.context" not in graph["migrator.cli.report"]  # TYPE_CHECKING only


def test_no_cli_module_is_on_an_import_cycle() -> None:
    graph = _graph()
    cycles = {name: _cycle_through(graph, name) for name in graph
              if name == "migrator.cli" or name.startswith("migrator.cli.")}
    assert {name: c for name, c in cycles.items() if c} == {}


def test_the_old_cli_modules_are_gone() -> None:
    """commands <-> dba.commands imported each other; the CLI is one package now."""
    graph = _graph()
    for old in ("migrator.commands", "migrator.dba.commands", "migrator.dba.parsers"):
        assert old not in graph
    users = {name for name, deps in graph.items() if not name.startswith("migrator.cli")
             and any(m.startswith("migrator.cli") for m in deps)}
    assert users == {"migrator.__main__"}  # the library never reaches up into the CLI
