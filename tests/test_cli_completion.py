"""``migrator completion bash|zsh|fish``: a script the shell loads and that completes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from clihelp import cli

from migrator.cli.parsing import build_parser

BASH = shutil.which("bash")


def _complete(script: str, *words: str) -> list[str]:
    """What bash offers for the last word of ``migrator WORDS...``, with the script loaded."""
    assert BASH is not None
    line = " ".join(("migrator", *words))
    probe = (
        'source "$1"\n'
        "complete -p migrator >/dev/null || exit 9\n"
        "shift\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$LINE"; '
        "COMP_POINT=${#COMP_LINE}\n"
        "_migrator\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run([BASH, "--norc", "--noprofile", "-c", probe, "probe", script,
                           "migrator", *words], env={"LINE": line, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BASH is None:
        pytest.skip("bash is not installed")
    tmp = tmp_path_factory.mktemp("completion")
    r = cli(tmp, "completion", "bash")
    assert r.code == 0, r
    path = tmp / "migrator.bash"
    path.write_text(r.out)
    return str(path)


def test_bash_completes_a_command_name(bash_script: str) -> None:
    assert _complete(bash_script, "st") == ["status"]
    assert _complete(bash_script, "ro") == ["rollback"]
    assert sorted(_complete(bash_script, "re")) == ["rebase", "redo", "rehearse", "repair"]


def test_bash_completes_after_global_options(bash_script: str) -> None:
    assert _complete(bash_script, "-u", "sqlite:///x.db", "--json", "st") == ["status"]
    assert _complete(bash_script, "--url", "up", "st") == ["status"]  # 'up' is the URL


def test_bash_completes_each_command_own_options(bash_script: str) -> None:
    assert _complete(bash_script, "up", "--dr") == ["--dry-run"]
    assert _complete(bash_script, "migrate", "--wait-t") == ["--wait-timeout"]
    assert _complete(bash_script, "status", "--ex") == ["--exit-code"]
    assert _complete(bash_script, "status", "--no-e") == ["--no-env-file"]  # global options
    assert _complete(bash_script, "check", "--di") == ["--dialect"]
    assert _complete(bash_script, "status", "--dr") == []


def test_bash_completes_fixed_choices_and_leaves_values_to_files(bash_script: str) -> None:
    assert _complete(bash_script, "completion", "") == ["bash", "zsh", "fish"]
    assert _complete(bash_script, "--url", "") == []  # then bash's own file completion


def test_bash_offers_every_command(bash_script: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices is not None
    assert sorted(_complete(bash_script, "")) == sorted(sub.choices)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command_and_option(tmp_path: Path, shell: str) -> None:
    r = cli(tmp_path, "completion", shell)
    assert r.code == 0, r
    for word in ["status", "migrate", "rollback", "completion", "dry-run", "wait-timeout",
                 "env-file", "no-env-file", "dialect", "exit-code"]:
        assert word in r.out, word
    found = shutil.which(shell)
    if found is not None:  # the shell itself checks the syntax where it is installed
        check = subprocess.run([found, "-n", "/dev/stdin"], input=r.out, text=True,
                               capture_output=True, timeout=30)
        assert check.returncode == 0, check.stderr


def test_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    r = cli(tmp_path, "completion", "tcsh")
    assert r.code == 2, r
    assert "invalid choice: 'tcsh' (choose from 'bash', 'zsh', 'fish')" in r.err
