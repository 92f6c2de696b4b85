"""Finding a dialect's rules: ``RULES`` in ``rules.py`` next to its splitter.

By convention rather than a ``DialectInfo`` field, so a dialect gains rules
by adding one module; its parser is imported only when its rules run.
"""

from __future__ import annotations

import importlib
import importlib.util

from migrator.backends.base import DialectInfo
from migrator.errors import ConfigError
from migrator.lint.model import DialectRules


def rules_module(info: DialectInfo) -> str:
    return info.splitter.split(":")[0].rsplit(".", 1)[0] + ".rules"


def rules_for(info: DialectInfo) -> DialectRules | None:
    """The dialect's rules, or None if it has none."""
    name = rules_module(info)
    if importlib.util.find_spec(name) is None:
        return None
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if info.extra is None or exc.name is None or exc.name.startswith("migrator"):
            raise
        raise ConfigError(
            f"the {info.name} rules need {exc.name}, which is not installed: "
            f"pip install 'migrator[{info.extra}]'"
        ) from exc
    rules: DialectRules = module.RULES
    return rules
