"""The global options as argparse knows them; their typed value is context.GlobalOptions."""

import argparse

# The global options as the command-name pre-scan knows them; short ones may be
# clustered (-qv, -qu URL).
LONG_WITH_VALUE = frozenset({"--url", "--migrations-dir", "--migrations-table",
                             "--lock-timeout", "--env-file", "--var", "--secret-var"})
LONG_FLAGS = frozenset({"--json", "--quiet", "--verbose", "--no-color", "--no-env-file"})
URLS = "urls:"  # attributes where -u keeps every value it was given, one list per parser


class _Url(argparse.Action):
    """``-u``: its last value is ``url``, as for any option; every value is also kept,
    for ``rebase``, which checks each database named. One list per parser
    (``urls:PROG``): a sub-parser's attributes replace the main parser's same-named ones."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        key = URLS + parser.prog
        setattr(namespace, key, [*getattr(namespace, key, []), values])


def every_url(args: argparse.Namespace) -> list[str]:
    """Every ``-u`` value, those before the command name first."""
    given = vars(args)
    return [url for key in sorted(k for k in given if k.startswith(URLS)) for url in given[key]]


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Added to the main parser and to every sub-parser, so they work on both sides."""
    s = argparse.SUPPRESS
    g = parser.add_argument_group("global options (before or after the command)")
    g.add_argument("-u", "--url", default=s, action=_Url, help="database URL [$DATABASE_URL]")
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
    g.add_argument("--var", action="append", default=s, metavar="NAME=VALUE",
                   help="a value for ${NAME} in files with '-- migrator: placeholders' "
                        "[$MIGRATOR_VAR_NAME, [vars] in the config]; repeatable")
    g.add_argument("--secret-var", action="append", default=s, metavar="NAME=VALUE",
                   help="as --var, shown as *** wherever migrator prints SQL "
                        "[$MIGRATOR_SECRET_NAME]")
