"""A throwaway PostgreSQL server on loopback for tests and benchmarks.

Uses Debian's `postgresql` package, installing it when missing (the machines this runs on are
root with apt). The cluster lives in a temporary directory owned by the postgres user, listens
on 127.0.0.1 only, and is removed when stopped.

    python -m tests.support.postgres run -- pytest -q     # run a command against it
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATABASE = "limber"


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def ensure_installed() -> Path:
    """The PostgreSQL bin directory, installing Debian's package when it is missing."""
    found = _bin_dir()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailable("PostgreSQL is not installed and cannot be installed here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env)
    found = _bin_dir()
    if not found:
        raise PostgresUnavailable("installing postgresql did not provide initdb")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = ensure_installed()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="limber-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log = self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def create_database(self, name: str, **settings: str) -> str:
        """A new, empty database on this server (replacing one of that name); its URL. Tests that
        share the server keep their tables apart this way. `settings` are stored on the database
        (ALTER DATABASE ... SET), e.g. synchronous_commit="on" where the server's speed-ups
        must not lose a commit in an immediate restart."""
        address = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self._as_postgres(str(self.bin / "dropdb"), *address, "--if-exists", name)
        self._as_postgres(str(self.bin / "createdb"), *address, name)
        for setting, value in settings.items():
            self._as_postgres(
                str(self.bin / "psql"), *address, "-d", name, "-v", "ON_ERROR_STOP=1",
                "-c", f'ALTER DATABASE "{name}" SET {setting} = \'{value}\'',
            )  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        # initdb and postgres refuse to run as root.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], check=check, capture_output=True, text=True)

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        self._pg_ctl_start()
        self._as_postgres(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DATABASE
        )
        return self

    def _pg_ctl_start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return
            time.sleep(0.1)
        raise PostgresUnavailable(f"PostgreSQL did not start; see {self.log}")

    def restart(self, mode: str = "immediate") -> None:
        """Stop and start again: every open connection is cut (for fault tests)."""
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        self._pg_ctl_start()

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_postgres():
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "run" or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    try:
        context = running_postgres()
        server = context.__enter__()
    except (PostgresUnavailable, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or ""
        print(f"PostgreSQL unavailable: {error} {detail}", file=sys.stderr)
        # Under CI a missing database server is a failure, never a silent skip.
        return 1
    try:
        print(f"PostgreSQL {server.bin.parent.name} on 127.0.0.1:{server.port}", file=sys.stderr)
        env = {**os.environ, "LIMBER_TEST_DATABASE_URL": server.url}
        return subprocess.run(argv[2:], env=env).returncode
    finally:
        context.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
