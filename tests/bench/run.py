"""`make bench`: Limber under gunicorn against a seeded database, measured against a bare endpoint.

Seeds 50 therapists, 5,000 clients and 500,000 session logs into SQLite (what `make run` serves),
then for each endpoint runs wrk for a bounded time over loopback and prints requests/s and p50/p99
latency, each as a ratio to a bare Flask JSON endpoint served by the same gunicorn settings,
measured in the same run. Nothing here asserts on time; the figures are for people to read.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

from flask_migrate import upgrade

from server import create_app
from server.config import PROJECT_ROOT
from server.extensions import db
from tests.bench.load import Figures, lua_rotating, run_wrk
from tests.bench.seed import seed

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECRET = "benchmark-secret-key"
WORK = PROJECT_ROOT / ".bench"
TARGETS = {
    "GET /api/today": ("rps", 0.5),
    "POST /api/sessions": ("rps", 0.35),
    "GET /api/dashboard": ("p50", 10.0),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn with the project's settings file, as `make run` starts it."""

    def __init__(self, app_path: str, env: dict[str, str]):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "server/gunicorn_conf.py", app_path],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port), "LOG_LEVEL": "warning"},
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, headers: dict | None = None) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers or {}), timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer {path}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def measure(server: Gunicorn, name: str, lua: str) -> Figures:
    run_wrk(server.url, lua, seconds=2, connections=CONNECTIONS)  # warm up every worker
    figures = run_wrk(server.url, lua, seconds=SECONDS, connections=CONNECTIONS)
    print(f"  {name:<22} {figures.requests_per_second:9.0f} req/s   p50 {figures.p50_ms:7.2f} ms   "
          f"p99 {figures.p99_ms:7.2f} ms   ({figures.requests} requests, {figures.errors} errors)", flush=True)  # fmt: skip
    return figures


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    database = f"sqlite:///{WORK / 'bench.sqlite3'}"
    env = {"DATABASE_URL": database, "SECRET_KEY": SECRET, "LIMBER_INSTANCE_PATH": str(WORK / "instance")}
    started = time.monotonic()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": SECRET, "INSTANCE_PATH": WORK / "instance"})
    with app.app_context():
        upgrade()
        seeded = seed(app.config["ROUTINES_PATH"], random.Random(20261126))
        db.engine.dispose()
    print(f"seeded 50 therapists, 5,000 clients, 500,000 session logs in {time.monotonic() - started:.0f} s", flush=True)

    print(f"wrk: {SECONDS} s per endpoint, {CONNECTIONS} connections; gunicorn settings from server/gunicorn_conf.py")
    bare_server = Gunicorn("tests.bench.bare:app", env)
    try:
        bare_server.wait_ready("/bare")
        bare = measure(bare_server, "GET /bare (yardstick)", lua_rotating("GET", [("/bare", {})]))
    finally:
        bare_server.stop()

    limber = Gunicorn("wsgi:app", env)
    phones = [
        (f"limber_session={token}", csrf, assignment) for token, csrf, assignment in seeded.phones
    ]
    now = datetime.now(UTC).isoformat()
    body = ('{"id": "{uuid}", "assignment_id": {assignment}, "performed_at": "' + now +
            '", "completed_items": [0, 1], "pain_before": 4, "pain_after": 3, "effort": 5, "note": "bench"}')  # fmt: skip
    results = {}
    try:
        limber.wait_ready("/healthz")
        results["GET /api/today"] = measure(limber, "GET /api/today", lua_rotating(
            "GET", [("/api/today", {"Cookie": cookie}) for cookie, _, _ in phones]))  # fmt: skip
        results["POST /api/sessions"] = measure(limber, "POST /api/sessions", lua_rotating(
            "POST",
            [("/api/sessions", {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json",
                                "X-Assignment": str(assignment)}) for cookie, csrf, assignment in phones],
            body,
        ))  # fmt: skip
        results["GET /api/dashboard"] = measure(limber, "GET /api/dashboard", lua_rotating(
            "GET", [("/api/dashboard", {"Cookie": f"limber_session={seeded.dashboard_token}"})]))  # fmt: skip
    finally:
        limber.stop()

    print("\nratios to the bare endpoint, measured in this run:")
    for name, figures in results.items():
        kind, target = TARGETS[name]
        rps_ratio = figures.requests_per_second / bare.requests_per_second
        p50_ratio = figures.p50_ms / bare.p50_ms
        if kind == "rps":
            verdict = "meets" if rps_ratio >= target else "MISSES"
            goal = f"target >= {target} of bare req/s"
        else:
            verdict = "meets" if p50_ratio < target else "MISSES"
            goal = f"target p50 < {target}x bare"
        print(f"  {name:<20} req/s {rps_ratio:5.2f} of bare   p50 {p50_ratio:5.2f}x   "
              f"p99 {figures.p99_ms / bare.p99_ms:5.2f}x   {verdict} {goal}")  # fmt: skip
        if figures.errors:
            print(f"    ({figures.errors} non-2xx or socket errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
