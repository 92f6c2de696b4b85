"""What only a server has: ``wait`` for it, and a clear error when it is unreachable.

The contract every backend shares (lifecycle, failures, locks, kill -9,
drift, bad input, JSON) is in tests/contract, run on SQLite, PostgreSQL and
MySQL/MariaDB alike.
"""

from __future__ import annotations

from pathlib import Path

from serverkit import Server, run_cli


def test_wait_returns_at_once_for_a_running_server(server: Server, tmp_path: Path) -> None:
    result = run_cli(server.url, tmp_path, "wait", "--timeout", "30", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["ready"] is True


def test_unreachable_server_exits_2_with_password_redacted(server: Server,
                                                          tmp_path: Path) -> None:
    scheme = "postgres" if server.kind == "postgres" else "mysql"
    url = f"{scheme}://someone:s3cr3tpw@127.0.0.1:1/nodb"
    result = run_cli(url, tmp_path, "wait", "--timeout", "1")
    assert result.code == 2
    assert "s3cr3tpw" not in result.stderr + result.stdout
    assert "***" in result.stderr and "still unreachable" in result.stderr
