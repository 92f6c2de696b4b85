"""The global options: their argparse definition and their typed value."""

import argparse
from typing import NamedTuple

# The global options as the command-name pre-scan knows them; short ones may be
# clustered (-qv, -qu URL).
LONG_WITH_VALUE = frozenset({"--url", "--migrations-dir", "--migrations-table",
                             "--lock-timeout", "--env-file"})
LONG_FLAGS = frozenset({"--json", "--quiet", "--verbose", "--no-color", "--no-env-file"})


class GlobalOptions(NamedTuple):
    """What the user gave before or after the command name; None/False if not given.

    A NamedTuple, as the other value types on the start-up path: a frozen
    dataclass costs about 1 ms to create, and ``--help`` creates one per command.
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

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> "GlobalOptions":
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
        )

    def flags(self) -> dict[str, str | None]:
        """The settings config.resolve merges with the environment and the config file."""
        return {"url": self.url, "migrations_dir": self.migrations_dir,
                "migrations_table": self.migrations_table, "lock_timeout": self.lock_timeout}


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Added to the main parser and to every sub-parser, so they work on both sides."""
    s = argparse.SUPPRESS
    g = parser.add_argument_group("global options (before or after the command)")
    g.add_argument("-u", "--url", default=s, help="database URL [$DATABASE_URL]")
    g.add_argument("-d", "--migrations-dir", default=s, metavar="DIR",
                   help="migrations directory [$MIGRATIONS_DIR, default ./migrations]")
    g.add_argument("--migrations-table", default=s, metavar="NAME",
                   help="bookkeeping table [$MIGRATIONS_TABLE, default schema_migrations]")
    g.add_argument("--lock-timeout", default=s, metavar="SECONDS",
                   help="wait this long for the migration lock [$MIGRATOR_LOCK_TIMEOUT, "
                        "default 0]")
    g.add_argument("--json", action="store_true", default=s,
                   help="one JSON document on stdout")
    g.add_argument("-q", "--quiet", action="store_true", default=s, help="less on stderr")
    g.add_argument("-v", "--verbose", action="store_true", default=s,
                   help="more on stderr (every statement)")
    g.add_argument("--no-color", action="store_true", default=s, help="no colour [$NO_COLOR]")
    g.add_argument("--env-file", default=s, metavar="PATH",
                   help="read environment variables from PATH instead of ./.env; "
                        "variables already set win")
    g.add_argument("--no-env-file", action="store_true", default=s,
                   help="read no .env file")
