"""Finding a dialect's rules (``RULES`` in ``rules.py``) and lock probe (``PROBE`` in
``locks.py``), next to its splitter.

By convention rather than a ``DialectInfo`` field, so a dialect gains rules
by adding one module; its parser or driver is imported only when used.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from migrator.backends.base import DialectInfo
from migrator.errors import ConfigError
from migrator.lint.model import DialectRules
from migrator.lint.probe import LockProbe


def rules_module(info: DialectInfo, name: str = "rules") -> str:
    return info.splitter.split(":")[0].rsplit(".", 1)[0] + "." + name


def _attribute(info: DialectInfo, module_name: str, attribute: str) -> Any:
    """``module.attribute`` of the dialect's package, or None without that module."""
    name = rules_module(info, module_name)
    if importlib.util.find_spec(name) is None:
        return None
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if info.extra is None or exc.name is None or exc.name.startswith("migrator"):
            raise
        raise ConfigError(
            f"the {info.name} {module_name} need {exc.name}, which is not installed: "
            f"pip install 'migrator[{info.extra}]'"
        ) from exc
    return getattr(module, attribute)


def rules_for(info: DialectInfo) -> DialectRules | None:
    """The dialect's rules, or None if it has none."""
    rules: DialectRules | None = _attribute(info, "rules", "RULES")
    return rules


def probe_for(info: DialectInfo) -> LockProbe | None:
    """The dialect's lock probe for ``test --locks``, or None if it has none."""
    probe: LockProbe | None = _attribute(info, "locks", "PROBE")
    return probe
