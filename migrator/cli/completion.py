"""``migrator completion bash|zsh|fish``: a completion script built from the parsers.

Commands and options come from the same parsers the CLI runs, so the script
cannot fall behind them. It completes command names, each command's options
and the global ones; an option's value and positional arguments fall back to
the shell's file completion.
"""

import argparse
from typing import TYPE_CHECKING, NamedTuple

from migrator.cli import catalog
from migrator.cli.command import Command, Populate, command
from migrator.cli.options import add_global_options
from migrator.errors import ExitCode

if TYPE_CHECKING:
    from migrator.cli.context import Context

SHELLS = ("bash", "zsh", "fish")


class CompletionOptions(NamedTuple):
    shell: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CompletionOptions":
        return cls(args.shell)


def _parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=SHELLS, help="the shell to complete for")


class Spec(NamedTuple):
    """What the script completes for one command."""

    names: tuple[str, ...]  # the command and its aliases
    help: str
    options: tuple[tuple[str, ...], ...]  # option strings of each option
    takes_value: frozenset[str]  # options followed by a value
    choices: tuple[str, ...]  # words for its positional argument, if it has a fixed set


def _describe(
    populate: Populate,
) -> tuple[tuple[tuple[str, ...], ...], frozenset[str], tuple[str, ...]]:
    """Option strings, those that take a value, and positional choices of a parser."""
    p = argparse.ArgumentParser(add_help=False)
    populate(p)
    options = tuple(tuple(a.option_strings) for a in p._actions if a.option_strings)
    takes_value = frozenset(s for a in p._actions if a.option_strings and a.nargs != 0
                            for s in a.option_strings)
    choices = tuple(str(c) for a in p._actions if not a.option_strings and a.choices
                    for c in a.choices)
    return options, takes_value, choices


def specs() -> list[Spec]:
    """Every command, in --help order, then the global options as a spec named ''."""
    found: list[Spec] = []
    for name, (_, help_text) in catalog.COMMANDS.items():
        c = COMMAND if name == catalog.COMPLETION else catalog.load(name)
        options, takes_value, choices = _describe(c.populate)
        found.append(Spec((name, *catalog.ALIASES.get(name, ())), help_text,
                          (("-h", "--help"), *options), takes_value, choices))
    options, takes_value, _ = _describe(add_global_options)
    found.append(Spec(("",), "", options, takes_value, ()))
    return found


def _words(spec: Spec) -> str:
    return " ".join(s for option in spec.options for s in option)


def bash(all_specs: list[Spec]) -> str:
    *commands, globals_ = all_specs
    names = " ".join(n for s in commands for n in s.names)
    valued = "|".join(sorted(globals_.takes_value | {v for s in commands for v in s.takes_value}))
    cases = "".join(
        f"        {'|'.join(s.names)}) opts=\"{_words(s)}\"; words=\"{' '.join(s.choices)}\";;\n"
        for s in commands
    )
    return f"""\
# bash completion for migrator; load it with: source <(migrator completion bash)
_migrator() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
            {valued}) ((i++));;
            -*) ;;
            *) cmd=${{COMP_WORDS[i]}}; break;;
        esac
    done
    case $prev in
        {valued}) COMPREPLY=(); return;;
    esac
    local opts="" words=""
    case $cmd in
        "") words="{names}";;
{cases}    esac
    if [[ $cur == -* ]]; then
        words="{_words(globals_)} $opts"
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _migrator migrator
"""


def zsh(all_specs: list[Spec]) -> str:
    *commands, globals_ = all_specs
    valued = "|".join(sorted(globals_.takes_value | {v for s in commands for v in s.takes_value}))
    described = "\n".join(f"    '{n}:{s.help.replace(chr(39), '')}'"
                          for s in commands for n in s.names)
    cases = "".join(
        f"    ({'|'.join(s.names)}) opts=({_words(s)}); choices=({' '.join(s.choices)});;\n"
        for s in commands
    )
    return f"""\
#compdef migrator
# zsh completion for migrator: save it as _migrator in a directory of $fpath,
# or load it with: source <(migrator completion zsh)
_migrator() {{
  local -a commands opts choices
  local cmd="" i
  for ((i = 2; i < CURRENT; i++)); do
    case ${{words[i]}} in
      ({valued}) ((i++));;
      (-*) ;;
      (*) cmd=${{words[i]}}; break;;
    esac
  done
  case ${{words[CURRENT-1]}} in
    ({valued}) _files; return;;
  esac
  if [[ ${{words[CURRENT]}} == -* ]]; then
    case $cmd in
{cases}    esac
    compadd -- {_words(globals_)} $opts
  elif [[ -z $cmd ]]; then
    commands=(
{described}
    )
    _describe command commands
  else
    case $cmd in
{cases}    esac
    if (( $#choices )); then compadd -- $choices; else _files; fi
  fi
}}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _migrator "$@"
else
  compdef _migrator migrator
fi
"""


def fish(all_specs: list[Spec]) -> str:
    *commands, globals_ = all_specs
    out = ["# fish completion for migrator; load it with: migrator completion fish | source",
           "complete -c migrator -f"]
    for option in globals_.options:
        out.append(f"complete -c migrator {_fish_flags(option, globals_.takes_value)}")
    for s in commands:
        for name in s.names:
            out.append(f"complete -c migrator -n __fish_use_subcommand -a {name} "
                       f"-d {_fish_quote(s.help)}")
        seen = f"'__fish_seen_subcommand_from {' '.join(s.names)}'"
        for option in s.options:
            out.append(f"complete -c migrator -n {seen} {_fish_flags(option, s.takes_value)}")
        if s.choices:
            out.append(f"complete -c migrator -n {seen} -a {_fish_quote(' '.join(s.choices))}")
    return "\n".join(out) + "\n"


def _fish_flags(option: tuple[str, ...], takes_value: frozenset[str]) -> str:
    flags = [f"-l {o[2:]}" if o.startswith("--") else f"-s {o[1:]}" for o in option]
    if any(o in takes_value for o in option):
        flags.append("-r -F")
    return " ".join(flags)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def completion(ctx: "Context", opts: CompletionOptions) -> ExitCode:
    render = {"bash": bash, "zsh": zsh, "fish": fish}[opts.shell]
    ctx.out(render(specs()))
    return ExitCode.OK


COMMAND: Command = command(
    _parser,
    CompletionOptions.from_args, completion,
    examples=("source <(migrator completion bash)            # in ~/.bashrc",
              "migrator completion zsh > ~/.zfunc/_migrator  # a directory in $fpath",
              "migrator completion fish > ~/.config/fish/completions/migrator.fish"),
    exits=(("0", "the script is on stdout"),),
)
