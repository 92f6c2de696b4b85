"""migrator: plain-SQL migrations, one transaction per file.

The public API; the CLI is a thin layer over it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrator.api import Migrator, Problem, RunResult, VerifyReport
    from migrator.backends.sqlite.split import split_sqlite
    from migrator.errors import (
        ConfigError,
        DriftError,
        ExitCode,
        Interrupted,
        IrreversibleError,
        LockError,
        MigrationFailed,
        MigrationFileError,
        MigratorError,
    )
    from migrator.files import Migration, discover
    from migrator.plan import Entry
    from migrator.progress import Progress, StepResult
    from migrator.scaffold import new_migration
    from migrator.splitting import Statement

# Loaded on first use, so `migrator --help` does not import the whole engine.
_LAZY = {
    **dict.fromkeys(("Migrator", "Problem", "RunResult", "VerifyReport"), "migrator.api"),
    **dict.fromkeys(("Progress", "StepResult"), "migrator.progress"),
    **dict.fromkeys(
        ("ConfigError", "DriftError", "ExitCode", "Interrupted", "IrreversibleError",
         "LockError", "MigrationFailed", "MigrationFileError", "MigratorError"),
        "migrator.errors",
    ),
    **dict.fromkeys(("Migration", "discover"), "migrator.files"),
    "Entry": "migrator.plan",
    "new_migration": "migrator.scaffold",
    "Statement": "migrator.splitting",
    "split_sqlite": "migrator.backends.sqlite.split",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'migrator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DriftError",
    "Entry",
    "ExitCode",
    "Interrupted",
    "IrreversibleError",
    "LockError",
    "Migration",
    "MigrationFailed",
    "MigrationFileError",
    "Migrator",
    "MigratorError",
    "Problem",
    "Progress",
    "RunResult",
    "Statement",
    "StepResult",
    "VerifyReport",
    "__version__",
    "discover",
    "new_migration",
    "split_sqlite",
]
