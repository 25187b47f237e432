"""Waiting in tests for something another thread or process does, with a bound."""

from __future__ import annotations

import time


def wait_for(condition, what: str, limit: float = 60.0, interval: float = 0.02) -> None:
    """Poll `condition` until it is true; fail naming `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(interval)
