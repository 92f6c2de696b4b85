"""What every command handler gets: output channels and the resolved settings."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NamedTuple

from migrator import config
from migrator.errors import ConfigError, ExitCode, Interrupted, IrreversibleError, MigrationFailed
from migrator.output import Painter, Reporter, dump_json, use_colour

if TYPE_CHECKING:
    from migrator.api import Migrator
    from migrator.errors import MigratorError
    from migrator.placeholders import Variable

class GlobalOptions(NamedTuple):
    """What the user gave before or after the command name; None/False if not given.

    A NamedTuple, as the other value types on the start-up path: a frozen
    dataclass costs about 1 ms to create.
    """

    url: str | None = None
    migrations_dir: str | None = None
    migrations_table: str | None = None
    lock_timeout: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    env_file: str | None = None
    no_env_file: bool = False
    variables: tuple[str, ...] = ()  # --var NAME=VALUE, as given
    secret_variables: tuple[str, ...] = ()  # --secret-var NAME=VALUE

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> GlobalOptions:
        given = vars(args)  # SUPPRESS leaves out what the user did not give
        return cls(
            url=given.get("url"),
            migrations_dir=given.get("migrations_dir"),
            migrations_table=given.get("migrations_table"),
            lock_timeout=given.get("lock_timeout"),
            json=bool(given.get("json")),
            quiet=bool(given.get("quiet")),
            verbose=bool(given.get("verbose")),
            no_color=bool(given.get("no_color")),
            env_file=given.get("env_file"),
            no_env_file=bool(given.get("no_env_file")),
            variables=tuple(given.get("var") or ()),
            secret_variables=tuple(given.get("secret_var") or ()),
        )

    def flags(self) -> dict[str, str | None]:
        """The settings config.resolve merges with the environment and the config file."""
        return {"url": self.url, "migrations_dir": self.migrations_dir,
                "migrations_table": self.migrations_table, "lock_timeout": self.lock_timeout}


NO_URL = ("no database URL: pass --url, set DATABASE_URL, or put url = \"...\" "
          "in migrator.toml")


class Context:
    """Output channels, plus the settings resolved on first use (not every command needs them)."""

    __slots__ = ("_settings", "globals", "json", "paint_out", "reporter")

    def __init__(self, options: GlobalOptions, reporter: Reporter, paint_out: Painter) -> None:
        self.globals = options
        self.json = options.json
        self.reporter = reporter
        self.paint_out = paint_out
        self._settings: config.Settings | None = None

    @classmethod
    def create(cls, options: GlobalOptions) -> Context:
        verbosity = 0 if options.quiet else 2 if options.verbose else 1
        reporter = Reporter(sys.stderr, verbosity=verbosity,
                            colour=use_colour(sys.stderr, options.no_color))
        return cls(options, reporter, Painter(use_colour(sys.stdout, options.no_color)))

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            self._settings = config.resolve(self.globals.flags())
        return self._settings

    def url(self) -> str:
        """The database URL; ConfigError saying where to set it if there is none."""
        url = self.settings.url
        if not url:
            raise ConfigError(NO_URL)
        return url

    def migrator(self) -> Migrator:
        from migrator.api import Migrator

        s = self.settings
        return Migrator(self.url(), s.migrations_dir, table=s.migrations_table,
                        lock_timeout=s.lock_timeout, progress=self.reporter,
                        variables=self.variables())

    def variables(self) -> dict[str, Variable] | None:
        """Placeholder values: flags, then the environment, then [vars]; None if none of
        them is given here (the library then reads the environment itself, lazily)."""
        g, s = self.globals, self.settings
        if not (g.variables or g.secret_variables or s.variables):
            return None
        import os

        from migrator.placeholders import collect

        try:
            return collect(s.variables, os.environ, g.variables, g.secret_variables)
        except ValueError as exc:
            raise ConfigError(f"--var/--secret-var: {exc}") from exc

    def out(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def fail(self, exc: MigratorError, document: dict[str, object] | None = None) -> ExitCode:
        """Report ``exc`` (also as the JSON ``error`` object) and return its exit code."""
        message = str(exc)
        if isinstance(exc, Interrupted):
            message += (
                "; a migration still in progress was rolled back (a no-transaction file may "
                "have run part-way), migrations that had committed stay applied, and the lock "
                "was released"
            )
        if self.json:
            doc = dict(document or {})
            error: dict[str, object] = {"kind": exc.kind, "message": message, **exc.details()}
            if isinstance(exc, MigrationFailed):
                key = "rolled_back" if exc.info.direction == "down" else "applied"
                doc.setdefault(key, [s.to_json() for s in exc.completed])
                error["message"] = exc.info.db_error.message
                error["summary"] = message
            elif isinstance(exc, IrreversibleError):
                doc.setdefault("rolled_back", [])  # refused before anything ran
            doc["error"] = error
            dump_json(doc)
        self.reporter.error(message)
        return exc.exit_code
