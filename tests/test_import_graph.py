"""No import cycle anywhere in the package, judged from the source.

Every import counts: module level, inside functions, under TYPE_CHECKING.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import migrator
from migrator.devtools.imports import build_graph, describe, find_cycles

PACKAGE = Path(migrator.__file__).resolve().parent


def test_the_package_has_no_import_cycle() -> None:
    cycles = find_cycles(build_graph(PACKAGE, "migrator"))
    assert not cycles, describe(cycles)


def test_the_command_anyone_can_run_agrees() -> None:
    proc = subprocess.run([sys.executable, "-m", "migrator.devtools.imports"],
                          capture_output=True, text=True, timeout=60)
    cycles = find_cycles(build_graph(PACKAGE, "migrator"))
    assert proc.stdout.strip() == describe(cycles)
    assert proc.returncode == (1 if cycles else 0)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import thing\n",
        "b.py": "def thing():\n    from pkg import a\n    return a\n",
    })
    assert find_cycles(build_graph(root, "pkg")) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_a_cycle_under_type_checking_and_relative_imports_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "sub/__init__.py": "",
        "sub/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from ..y import Y\n",
        "y.py": "from .sub import x\n",
    })
    cycles = find_cycles(build_graph(root, "pkg"))
    assert cycles == [["pkg.sub.x", "pkg.y", "pkg.sub.x"]]
    assert describe(cycles) == "1 import cycle(s):\n  pkg.sub.x -> pkg.y -> pkg.sub.x"


def test_a_package_init_that_imports_its_importer_is_a_cycle(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "core.py": "import pkg.plugins.one\n",
        "plugins/__init__.py": "from pkg import core\n",
        "plugins/one.py": "",
    })
    assert find_cycles(build_graph(root, "pkg")) == [
        ["pkg.core", "pkg.plugins", "pkg.core"]]


def test_acyclic_layers_pass(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "def lazy():\n    from pkg import top\n    return top\n",
        "base.py": "import os\n",
        "mid.py": "from pkg.base import os\nfrom . import base\n",
        "top.py": "from pkg import mid, base\n",
        "plugins/__init__.py": "",
        "plugins/one.py": "from pkg.plugins import two\nfrom pkg import top\n",
        "plugins/two.py": "from pkg.base import os\n",
    })
    graph = build_graph(root, "pkg")
    assert find_cycles(graph) == []
    assert graph["pkg.top"] == {"pkg.mid", "pkg.base"}
    assert graph["pkg.plugins.one"] == {"pkg.plugins.two", "pkg.top"}
