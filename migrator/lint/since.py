"""``check --since REF``: the files of the migrations directory changed since a git ref.

Changed means what ``git diff --name-only REF`` lists (committed since REF,
staged or not), plus files git does not track yet: a new migration is the
one most worth checking.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from migrator.errors import ConfigError


def changed_since(directory: Path, ref: str) -> set[Path]:
    """Absolute paths of the changed files under ``directory``; ConfigError outside git."""
    if not directory.is_dir():
        raise ConfigError(f"migrations directory {directory} does not exist")
    if ref.startswith("-"):
        raise ConfigError(f"--since takes a git ref, not '{ref}'")
    _git(directory, "rev-parse", "--show-toplevel",
         why=f"--since needs the migrations directory {directory} to be in a git repository")
    _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
         why=f"--since {ref}: git knows no such commit in the repository of {directory}")
    listed = _git(directory, "diff", "--name-only", "--relative", ref, "--", ".",
                  why=f"git diff --name-only {ref} failed")
    listed += _git(directory, "ls-files", "--others", "--exclude-standard", "--", ".",
                   why="git ls-files failed")
    return {(directory / name).resolve() for name in listed.splitlines() if name}


def _git(directory: Path, *args: str, why: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True,
                              check=False)
    except OSError as exc:  # git is not installed
        raise ConfigError(f"{why}: cannot run git ({exc.strerror})") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise ConfigError(f"{why}" + (f" ({detail[-1]})" if detail else ""))
    return done.stdout
