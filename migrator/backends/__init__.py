"""Backend registry: built from the ``DIALECT`` of each package in this folder.

A package's ``__init__`` holds only its ``DialectInfo``; its driver and
splitter are imported when a URL or ``--dialect`` names it.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from migrator.backends.base import Backend, DialectInfo
from migrator.errors import ConfigError, FileProblem


@cache
def dialects() -> tuple[DialectInfo, ...]:
    """Every backend package's DialectInfo, in name order.

    Packages are found with a directory scan, not pkgutil.iter_modules, which
    imports ``inspect`` (5 ms, a tenth of ``status``).
    """
    found: list[DialectInfo] = []
    for folder in __path__:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries
                           if e.is_dir() and e.name.isidentifier()
                           and os.path.exists(os.path.join(e.path, "__init__.py")))
        for name in names:
            found.append(importlib.import_module(f"{__name__}.{name}").DIALECT)
    return tuple(sorted(found, key=lambda d: d.name))


def _named_package(scheme: str) -> DialectInfo | None:
    """The package named like the scheme, when it claims it: ``status`` on a
    ``sqlite:`` URL then imports one package, not the whole registry."""
    if not scheme.isidentifier() or not os.path.exists(
            os.path.join(__path__[0], scheme, "__init__.py")):
        return None
    info: DialectInfo = importlib.import_module(f"{__name__}.{scheme}").DIALECT
    return info if scheme in info.schemes else None


def _by_scheme() -> dict[str, DialectInfo]:
    return {scheme: d for d in dialects() for scheme in d.schemes}


def scheme_of(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


def dialect_of_url(url: str) -> DialectInfo:
    """The dialect a URL names; ConfigError for an unknown or missing scheme."""
    scheme = scheme_of(url)
    info = _named_package(scheme) or _by_scheme().get(scheme)
    if info is not None:
        return info
    primary = ", ".join(d.schemes[0] for d in dialects())
    if not scheme or not scheme.isidentifier():
        # no scheme at all: it may be a pasted password, so never echo it
        raise ConfigError(
            "the database URL has no scheme; write sqlite:///relative.db, "
            f"sqlite:////absolute/path.db, postgres://... or mysql://... (known: {primary})"
        )
    from migrator.config import redact_url

    raise ConfigError(f"unknown URL scheme '{scheme}' in {redact_url(url)} (known: {primary})")


def dialect_named(name: str) -> DialectInfo:
    """The dialect ``--dialect NAME`` names (a scheme works too)."""
    info = {d.name: d for d in dialects()}.get(name.lower()) or _by_scheme().get(name.lower())
    if info is None:
        known = ", ".join(d.name for d in dialects())
        raise ConfigError(f"unknown dialect '{name}' (known: {known})")
    return info


def _import(info: DialectInfo, module_name: str) -> Any:
    """Import one of the dialect's modules; a missing driver names the extra to install."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if info.extra is None or exc.name is None or exc.name.startswith("migrator"):
            raise
        raise ConfigError(
            f"the {info.name} backend needs the {exc.name} driver, which is not installed: "
            f"pip install 'migrator[{info.extra}]'"
        ) from exc


def _load(info: DialectInfo, target: str) -> Any:
    module_name, attribute = target.split(":")
    return getattr(_import(info, module_name), attribute)


def optional_module(info: DialectInfo, name: str) -> Any | None:
    """``migrator.backends.<dialect>.<name>`` (admin, rules, locks, ...), or None when the
    dialect has no such module: a dialect gains a feature by adding one module."""
    import importlib.util

    full = f"{__name__}.{info.name}.{name}"
    if importlib.util.find_spec(full) is None:
        return None
    return _import(info, full)


def splitter(info: DialectInfo) -> Callable[[str], Iterator[tuple[int, int, int]]]:
    """The dialect's ``(text) -> (first, end, line)`` splitter; needs no driver."""
    split: Callable[[str], Iterator[tuple[int, int, int]]] = _load(info, info.splitter)
    return split


def reviewer(info: DialectInfo) -> Callable[..., list[FileProblem]] | None:
    """The dialect's own checks for ``migrator check``: ``(text, statements, shown)``."""
    if info.review is None:
        return None
    review: Callable[..., list[FileProblem]] = _load(info, info.review)
    return review


def _refuse_unescaped_password(url: str) -> None:
    """A driver splits ``u:p@ss@host`` at the first '@' and echoes 'ss@host' as the host."""
    from migrator.config import redact_url

    rest = url.partition("://")[2]
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in netloc.rpartition("@")[0].partition(":")[2]:
        bad = "'@'"
    elif "@" not in netloc and re.match(r"[^:/@]*:(?![0-9]*[/?#])[^@/?#]*[/?#][^/]*@", rest):
        bad = "'/', '?' or '#'"  # the host then starts inside the password (digits: a port)
    else:
        return
    raise ConfigError(
        f"the password in {redact_url(url)} holds {bad}, which ends the password part of "
        "a URL; percent-encode it (@ as %40, / as %2F, ? as %3F, # as %23)"
    )


def open_backend(url: str, *, table: str, readonly: bool, busy_timeout: float) -> Backend:
    info = dialect_of_url(url)
    if "://" in url and "@" in url.partition("://")[2]:
        _refuse_unescaped_password(url)
    factory = _load(info, info.backend)
    try:
        backend: Backend = factory(url, table=table, readonly=readonly, busy_timeout=busy_timeout)
    except ValueError as exc:  # urllib on a malformed URL: a bad port, an unclosed '['
        from migrator.config import redact_url

        raise ConfigError(f"malformed database URL {redact_url(url)}: {exc}") from exc
    return backend


class Admin:
    """A dialect's ``create``/``drop``/``describe`` of the database a URL names, and
    ``loadable``, which makes a statement of its dump run on a freshly created one.

    Each ``migrator.backends.<name>.admin`` module provides the four
    functions; it imports its driver itself, so only these commands load it.
    """

    __slots__ = ("create", "describe", "drop", "loadable")

    def __init__(self, module: Any) -> None:
        self.create: Callable[[str], str] = _url_checked(module.create)
        self.drop: Callable[[str], str] = _url_checked(module.drop)
        self.describe: Callable[[str], str] = _url_checked(module.describe)
        self.loadable: Callable[[str], str] = module.loadable


def _url_checked(function: Callable[[str], str]) -> Callable[[str], str]:
    """``function(url)``, a URL urllib cannot parse (a bad port, an unclosed '[') being a
    configuration error, as ``open_backend`` makes it, never a traceback."""
    def checked(url: str) -> str:
        try:
            return function(url)
        except ValueError as exc:
            from migrator.config import redact_url

            raise ConfigError(f"malformed database URL {redact_url(url)}: {exc}") from exc
    return checked


def admin(info: DialectInfo) -> Admin:
    """The dialect's admin functions; ConfigError when it has none or lacks its driver."""
    module = optional_module(info, "admin")
    if module is None:
        raise ConfigError(f"the {info.name} backend has no create, drop or load; "
                          "use the database's own tools")
    return Admin(module)
