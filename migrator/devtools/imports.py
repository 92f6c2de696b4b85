"""The package's module graph, read from source, and the import cycles in it.

    python -m migrator.devtools.imports          # exit 1 and each cycle, or "no import cycle"
    python -m migrator.devtools.imports --graph  # every edge, one "a -> b" a line

Every ``import`` counts, wherever it stands: at module level, inside a
function (the lazy imports that keep ``status`` fast) and under
``TYPE_CHECKING``. A lazy import only moves a cycle to run time and an
annotation-only one still ties two modules' designs together, so neither
may close a loop. Importing ``a.b.c`` also runs ``a/b/__init__.py``: that
package counts too, unless the importer lives inside it (then it is already
running).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

Graph = dict[str, set[str]]


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root`` (its own directory), by dotted name."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imported_names(
    tree: ast.AST, module: str, is_package: bool, modules: dict[str, Path]
) -> Iterator[str]:
    """The dotted name of what each import statement in ``tree`` loads: for
    ``from x.y import z`` that is ``x.y.z`` when z is a module, else ``x.y``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1 if is_package else node.level)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def build_graph(root: Path, package: str) -> Graph:
    """``module -> modules it imports``, restricted to the package's own modules."""
    modules = package_modules(root, package)
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        for target in _imported_names(tree, name, _is_package(path), modules):
            parts = target.split(".")
            loaded = [p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1))
                      if p in modules]
            if not loaded:
                continue  # not this package's
            # the module imported from, and each package on the way that is not
            # already running because the importer lives in it
            edges = {loaded[-1], *(p for p in loaded[:-1] if p not in ancestors)}
            graph[name].update(edges - {name})
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """Each strongly connected component of more than one module, as one cycle
    through it (first module repeated at the end), sorted; empty when acyclic."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def connect(start: str) -> None:  # Tarjan, iterative: no recursion limit
        nonlocal counter
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(_cycle_through(graph, c) for c in components)


def _cycle_through(graph: Graph, component: list[str]) -> list[str]:
    """One loop inside a strongly connected component, from its first module:
    the shortest path back to the start (breadth first), so the report is short."""
    members, start = set(component), component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"not a cycle: {component}")  # a component always loops


def describe(cycles: list[list[str]]) -> str:
    if not cycles:
        return "no import cycle"
    lines = [f"{len(cycles)} import cycle(s):"]
    lines.extend("  " + " -> ".join(cycle) for cycle in cycles)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[1]
    graph = build_graph(root, root.name)
    if "--graph" in args:
        for module in sorted(graph):
            for target in sorted(graph[module]):
                print(f"{module} -> {target}")
        return 0
    cycles = find_cycles(graph)
    print(describe(cycles))
    return 1 if cycles else 0


if __name__ == "__main__":
    raise SystemExit(main())
