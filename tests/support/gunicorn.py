"""gunicorn on loopback with the project's settings file (server/gunicorn_conf.py), as `make run`
serves the app, for fault tests and benchmarks.

    with running_gunicorn("wsgi:app", {"DATABASE_URL": url}, workers=4) as server:
        server.wait_ready("/healthz")
        server.kill_worker()          # SIGKILL one worker; the master starts another

The server runs in its own process group, so stopping it also ends workers the master left behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from server.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    """The live children of a process, from /proc (Linux)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children.extend(int(child) for child in (task / "children").read_text().split())
    return children


class GunicornServer:
    """gunicorn started at construction; `log` (when given) receives its output."""

    def __init__(
        self,
        app_path: str,
        env: dict[str, str],
        *,
        workers: int | None = None,
        log: Path | None = None,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        settings = {"HOST": "127.0.0.1", "PORT": str(self.port), "LOG_LEVEL": "warning"}
        if workers is not None:
            settings["WEB_CONCURRENCY"] = str(workers)
        output = open(log, "ab") if log else None  # noqa: SIM115 - closed in stop()
        self._output = output
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "server/gunicorn_conf.py", app_path],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, **settings},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )

    def wait_ready(
        self, path: str = "/healthz", headers: dict | None = None, timeout: float = 60
    ) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(self.url + path, headers=headers or {})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}{self._log_hint()}"
                )
            try:
                with urllib.request.urlopen(request, timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer {path}{self._log_hint()}")

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def wait_workers(
        self, count: int, *, without: int | None = None, timeout: float = 60
    ) -> list[int]:
        """Wait until the master runs `count` workers, none of them `without` (a killed worker
        stays listed until the master has reaped it, then the master starts a new one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.worker_pids()
            if len(workers) >= count and without not in workers:
                return workers
            time.sleep(0.1)
        raise RuntimeError(
            f"gunicorn runs {len(self.worker_pids())} workers, not {count}{self._log_hint()}"
        )

    def busy_worker_pids(self) -> list[int]:
        """Workers holding an accepted client connection: a sync worker serving a request."""
        established = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == self.port and fields[3] == "01":  # 01: ESTABLISHED
                established.add(fields[9])
        busy = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                links = (os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir())
                if any(
                    link[len("socket:[") : -1] in established
                    for link in links
                    if link.startswith("socket:[")
                ):
                    busy.append(pid)
        return busy

    def kill_worker(
        self, rng: random.Random | None = None, *, busy: bool = True, timeout: float = 30
    ) -> int:
        """SIGKILL one worker (no cleanup, no goodbye to its client or its database); its pid.
        With `busy`, one that is serving a request at that moment, so the kill cuts it."""
        deadline = time.monotonic() + timeout
        while True:
            workers = self.busy_worker_pids() if busy else self.worker_pids()
            if workers:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("no gunicorn worker was serving a request to kill")
            time.sleep(0.005)
        victim = (rng or random).choice(workers)
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            # Workers the master could not stop are still in its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            if self._output:
                self._output.close()

    def _log_hint(self) -> str:
        return f"; see {self.log}" if self.log else ""


@contextlib.contextmanager
def running_gunicorn(app_path: str, env: dict[str, str], **options):
    server = GunicornServer(app_path, env, **options)
    try:
        yield server
    finally:
        server.stop()
