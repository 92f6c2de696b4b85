"""Backend registry: URL scheme -> backend factory, imported on demand."""

from __future__ import annotations

import importlib
import re

from migrator.backends.base import Backend
from migrator.errors import ConfigError

# scheme -> "module:factory"; the module is imported only when its scheme is used.
_REGISTRY: dict[str, str] = {
    "sqlite": "migrator.backends.sqlite:open_backend",
    "sqlite3": "migrator.backends.sqlite:open_backend",
    "postgres": "migrator.backends.postgres:open_backend",
    "postgresql": "migrator.backends.postgres:open_backend",
    "mysql": "migrator.backends.mysql:open_backend",
    "mariadb": "migrator.backends.mysql:open_backend",
}
# scheme -> the extra that installs its driver
_EXTRAS = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}


def scheme_of(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


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
    scheme = scheme_of(url)
    target = _REGISTRY.get(scheme)
    if target is None:
        from migrator.config import redact_url

        known = ", ".join(sorted({s for s in _REGISTRY if s != "sqlite3"}))
        if not scheme or not scheme.isidentifier():
            # no scheme at all: it may be a pasted password, so never echo it
            raise ConfigError(
                "the database URL has no scheme; write sqlite:///relative.db, "
                f"sqlite:////absolute/path.db, postgres://... or mysql://... (known: {known})"
            )
        raise ConfigError(f"unknown URL scheme '{scheme}' in {redact_url(url)} (known: {known})")
    if scheme not in ("sqlite", "sqlite3"):
        _refuse_unescaped_password(url)
    module_name, factory = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(scheme)
        if extra is None or exc.name == module_name:
            raise
        raise ConfigError(
            f"the {scheme} backend needs the {exc.name} driver, which is not installed: "
            f"pip install 'migrator[{extra}]'"
        ) from exc
    try:
        backend: Backend = getattr(module, factory)(
            url, table=table, readonly=readonly, busy_timeout=busy_timeout
        )
    except ValueError as exc:  # urllib on a malformed URL: a bad port, an unclosed '['
        from migrator.config import redact_url

        raise ConfigError(f"malformed database URL {redact_url(url)}: {exc}") from exc
    return backend
