"""Private PostgreSQL and MariaDB servers that a test may stop and start at will.

The shared servers on this machine serve every other test running right now,
so a fault test never restarts them: it starts a server of its own, in a
temporary directory, on a free port, and stops it when the session ends.
Each private server lives for the whole session (initdb costs about a second,
mariadb-install-db a few); a test gets a fresh database on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tool(*names: str) -> str | None:
    """The first of ``names`` on PATH or in PostgreSQL's versioned bin directories."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        for name in names:
            if (bin_dir / name).exists():
                return str(bin_dir / name)
    return None


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateServer(ABC):
    """One server of a test session's own: start, stop (``mode``), start again."""

    kind: str
    port: int
    root: Path

    @abstractmethod
    def url(self, database: str) -> str: ...

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self, *, hard: bool = True) -> None:
        """Stop the server; ``hard``: the way a crash or ``-m immediate`` does."""

    def restart(self, *, hard: bool = True) -> None:
        self.stop(hard=hard)
        self.start()

    def close(self) -> None:
        try:
            self.stop(hard=True)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_up(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(self.port):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {proc.returncode}: "
                                   f"{self._log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start: {self._log_tail()}")
            time.sleep(0.05)

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


class PrivatePostgres(PrivateServer):
    """initdb + pg_ctl as the ``postgres`` user (the server refuses to run as root)."""

    kind = "postgres"

    def __init__(self) -> None:
        initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise FileNotFoundError("initdb/pg_ctl not found")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="migrator-faults-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sock"
        self.sockets.mkdir()
        self.port = free_port()
        self._as_user = os.geteuid() == 0
        if self._as_user:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        try:
            self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-N", "-E", "UTF8", "--locale=C")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _run(self, *argv: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *argv] if self._as_user else list(argv)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=START_TIMEOUT)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {proc.stderr[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@/{database}?host={self.sockets}&port={self.port}"

    def start(self) -> None:
        # fsync off: a restart kills the server process, never the machine, so what the
        # OS has is enough; every COMMIT still reaches the WAL before it returns
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off "
                   "-c shared_buffers=16MB -c max_connections=30")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start")
        self._wait_until_up()

    def stop(self, *, hard: bool = True) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        mode = "immediate" if hard else "fast"
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")


class PrivateMariadb(PrivateServer):
    """mariadb-install-db + mariadbd with a datadir, port and socket of its own."""

    kind = "mysql"

    def __init__(self) -> None:
        install, self.server = _tool("mariadb-install-db", "mysql_install_db"), \
            _tool("mariadbd", "mysqld")
        if install is None or self.server is None:
            raise FileNotFoundError("mariadb-install-db/mariadbd not found")
        self.root = Path(tempfile.mkdtemp(prefix="migrator-faults-my-"))
        self.data = self.root / "data"
        self.socket = self.root / "mysqld.sock"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        proc = subprocess.run(
            [install, "--no-defaults", f"--datadir={self.data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db",
             "--skip-name-resolve"],
            capture_output=True, text=True, timeout=120)
        if proc.returncode:
            shutil.rmtree(self.root, ignore_errors=True)
            raise RuntimeError(f"mariadb-install-db failed: {proc.stderr[-2000:]}")

    def url(self, database: str = "mysql") -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str = "mysql") -> str:
        return f"mysql://root@localhost/{database}?unix_socket={self.socket}"

    def start(self) -> None:
        assert self.server is not None
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the server keeps it
        self.proc = subprocess.Popen(
            [self.server, "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
             f"--socket={self.socket}", "--bind-address=127.0.0.1", "--user=root",
             # flush-log-at-trx-commit=2: each COMMIT written to the OS, which outlives
             # the SIGKILL of a restart; no fsync (the machine does not crash)
             "--skip-name-resolve", "--skip-grant-tables", "--innodb-buffer-pool-size=16M",
             "--innodb-log-file-size=8M", "--innodb-flush-log-at-trx-commit=2",
             "--skip-log-bin", f"--pid-file={self.root / 'server.pid'}",
             f"--log-error={self.root / 'server.log'}"],
            stdout=log, stderr=log)
        log.close()
        self._wait_until_up(self.proc)

    def stop(self, *, hard: bool = True) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        self.proc.wait(timeout=START_TIMEOUT)
        self.proc = None
