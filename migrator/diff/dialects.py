"""The dialect's differ module, found through the registry like its admin or rules."""

from __future__ import annotations

from typing import Protocol

from migrator.backends import optional_module
from migrator.backends.base import DialectInfo
from migrator.diff.model import Renames, Script
from migrator.errors import ConfigError
from migrator.schema import Schema


class Differ(Protocol):
    """``backends/<dialect>/differ.py``, seen as an object."""

    def script(self, current: Schema, desired: Schema, renames: Renames) -> Script: ...

    def comparable(self, schema: Schema) -> Schema: ...


def differ(info: DialectInfo) -> Differ:
    module = optional_module(info, "differ")
    if module is None:
        raise ConfigError(f"diff is not available for {info.name} databases")
    found: Differ = module
    return found


def desired_text(info: DialectInfo, text: str) -> str:
    """A desired-schema FILE as it must run in a scratch namespace.

    A differ module may define ``desired_text(text: str) -> str``: a PostgreSQL
    ``migrator dump`` names the schema it was taken from, and must create its
    objects in the scratch schema instead. Without it the file runs as written.
    """
    module = optional_module(info, "differ")
    hook = getattr(module, "desired_text", None)
    if hook is None:
        return text
    relocated: str = hook(text)
    return relocated
