"""Finding a dialect's rules (``RULES`` in ``rules.py``) and lock probe (``PROBE`` in
``locks.py``), next to its splitter.

By convention rather than a ``DialectInfo`` field, so a dialect gains rules
by adding one module; its parser or driver is imported only when used.
"""

from __future__ import annotations

from typing import Any

from migrator.backends import optional_module
from migrator.backends.base import DialectInfo
from migrator.lint.model import DialectRules
from migrator.lint.probe import LockProbe


def _attribute(info: DialectInfo, module_name: str, attribute: str) -> Any:
    """``module.attribute`` of the dialect's package, or None without that module."""
    module = optional_module(info, module_name)
    return None if module is None else getattr(module, attribute)


def rules_for(info: DialectInfo) -> DialectRules | None:
    """The dialect's rules, or None if it has none."""
    rules: DialectRules | None = _attribute(info, "rules", "RULES")
    return rules


def probe_for(info: DialectInfo) -> LockProbe | None:
    """The dialect's lock probe for ``test --locks``, or None if it has none."""
    probe: LockProbe | None = _attribute(info, "locks", "PROBE")
    return probe
