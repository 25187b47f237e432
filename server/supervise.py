"""`make run`: the web server (gunicorn) and the push worker (`flask worker`) side by side.

Ctrl-C or SIGTERM stops both, each gracefully, and if either one dies the other is stopped too,
so the operator never keeps a server that silently sends no reminders.

    python -m server.supervise
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

GRACE_SECONDS = 30
COMMANDS = {
    "web": [sys.executable, "-m", "gunicorn", "--config", "server/gunicorn_conf.py", "wsgi:app"],
    "worker": [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
}


def main() -> int:
    children = {name: subprocess.Popen(command) for name, command in COMMANDS.items()}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        ended = {name: child.poll() for name, child in children.items() if child.poll() is not None}
        if ended:
            name, code = next(iter(ended.items()))
            print(f"limber: {name} exited with {code}; stopping the rest", file=sys.stderr)
            code = code if code > 0 else 128 - code if code < 0 else 1
            break
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code


if __name__ == "__main__":
    sys.exit(main())
