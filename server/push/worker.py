"""`flask worker`: turns due reminders into notifications and delivers the outbox.

One loop in the main thread owns the database; a small thread pool only encrypts and POSTs,
each thread taking a window of messages that must all be sent within two timeouts. Each round
claims a batch (with a lease), sends it, and records every outcome in one transaction.
Stopping (SIGTERM, SIGINT) lets the messages already being sent finish and hands the rest of
the batch back at once; a worker killed outright leaves its batch to be
claimed again when the lease runs out, so every notification is delivered at least once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from server.database import write_transactions
from server.extensions import db
from server.orm import utcnow
from server.push import outbox, reminders
from server.push.outbox import Claimed
from server.push.sender import Outcome, PushMessage, PushSender
from server.push.validation import endpoint_origin

log = logging.getLogger(__name__)
PRUNE_EVERY = timedelta(hours=1)
# Claimed per round: large enough that the database's share per message stays small.
BATCH_PER_THREAD = 64
# Messages a sending thread takes at once; they share one deadline (PushSender.send_many).
WINDOW = 8


@dataclass
class RoundReport:
    reminders: reminders.ScanReport = field(default_factory=reminders.ScanReport)
    sent: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return sum(self.sent.values())


class Worker:
    def __init__(
        self,
        app: Flask,
        sender: PushSender,
        *,
        threads: int | None = None,
        name: str | None = None,
        clock=utcnow,
    ):
        config = app.config
        self.clock = clock
        self.app = app
        self.sender = sender
        self.threads = max(1, threads or config["PUSH_WORKER_THREADS"])
        self.batch = self.threads * BATCH_PER_THREAD
        self.lease = timedelta(seconds=config["PUSH_LEASE_SECONDS"])
        # No window of messages starts once the lease could run out before it ends (a window
        # gives up after twice the timeout; one more for safety).
        self.send_window = config["PUSH_LEASE_SECONDS"] - 3 * config["PUSH_TIMEOUT_SECONDS"]
        self._send_until = 0.0
        self.poll = float(config["PUSH_POLL_SECONDS"])
        self.max_attempts = config["PUSH_MAX_ATTEMPTS"]
        self.retry_base = timedelta(seconds=config["PUSH_RETRY_SECONDS"])
        self.retention = timedelta(days=config["PUSH_RETENTION_DAYS"])
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stopping = threading.Event()
        # A push service that answered 429 with Retry-After is left alone until then.
        self._paused: dict[str, float] = {}
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="push-send")
        self._next_prune = clock()
        self.poll_interval = timedelta(seconds=self.poll)
        self._last_scan: datetime | None = None
        self._full_batch = False

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()

    def run(self) -> None:
        """Work until `stop()`; database trouble is logged and retried, never fatal."""
        log.info("push worker %s: %d threads, lease %s", self.name, self.threads, self.lease)
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    busy = self.round().attempted > 0
            except SQLAlchemyError:
                log.exception("push worker: database error; trying again shortly")
                busy = False
            except Exception:  # noqa: BLE001 - one bad round must not stop reminders for everyone
                log.exception("push worker: unexpected error; trying again shortly")
                busy = False
            if not busy:
                self.stopping.wait(self.poll)
        log.info("push worker %s stopped", self.name)

    def run_until_idle(self) -> RoundReport:
        """Rounds until nothing is due (tests, `flask worker --once`)."""
        total = RoundReport()
        with self.app.app_context():
            while True:
                report = self.round()
                total.reminders.add(report.reminders)
                for result, count in report.sent.items():
                    total.sent[result] = total.sent.get(result, 0) + count
                if report.attempted == 0 or self.stopping.is_set():
                    return total

    def round(self) -> RoundReport:
        """One pass: scan due reminders, then claim, send and record one batch."""
        report = RoundReport()
        try:
            now = self.clock()
            # Reminders are set to the minute: during a busy fan-out, scan once a poll, not
            # every batch (a clock that went back also scans).
            last = self._last_scan
            if last is None or not last <= now < last + self.poll_interval:
                report.reminders = reminders.scan_due(now)
                self._last_scan = now
            batch = []
            # After a full batch there is surely more; otherwise look before taking the lock.
            if self._full_batch or outbox.any_due(now):
                with write_transactions():
                    batch = outbox.claim(self.name, self.batch, self.clock(), self.lease)
            self._full_batch = len(batch) == self.batch
            if batch:
                self._send_until = time.monotonic() + self.send_window
                windows = [batch[i : i + WINDOW] for i in range(0, len(batch), WINDOW)]
                futures = [self._pool.submit(self._send_window, window) for window in windows]
                wait(futures)
                outcomes = [outcome for future in futures for outcome in future.result()]
                results = list(zip(batch, outcomes, strict=True))
                with write_transactions():
                    outbox.record(
                        self.name, results, self.clock(), self.max_attempts, self.retry_base
                    )
                for _, outcome in results:
                    report.sent[outcome.result] = report.sent.get(outcome.result, 0) + 1
            if self.clock() >= self._next_prune:
                with write_transactions():
                    outbox.prune(self.clock(), self.retention)
                self._next_prune = self.clock() + PRUNE_EVERY
        finally:
            db.session.remove()
        return report

    def _send_window(self, rows: list[Claimed]) -> list[Outcome]:
        """Runs in a pool thread (no database here): one window of messages, one deadline."""
        outcomes: list[Outcome | None] = [None] * len(rows)
        messages, positions = [], []
        for index, row in enumerate(rows):
            early = self._before_sending(row)
            if isinstance(early, Outcome):
                outcomes[index] = early
            else:
                messages.append(early)
                positions.append(index)
        for index, outcome in zip(positions, self.sender.send_many(messages), strict=True):
            row = rows[index]
            origin = endpoint_origin(row.endpoint)
            if outcome.status == 429 and outcome.retry_after:
                until = time.time() + outcome.retry_after
                self._paused[origin] = max(self._paused.get(origin, 0.0), until)
            if outcome.result != "delivered":
                log.info("push %s to %s: %s %s", row.id, origin, outcome.result, outcome.reason)
            outcomes[index] = outcome
        return outcomes

    def _before_sending(self, row: Claimed) -> Outcome | PushMessage:
        """The message to send, or why this row is not sent now."""
        if self.stopping.is_set():
            return Outcome("released", "worker stopping")
        if time.monotonic() > self._send_until:
            return Outcome("released", "the batch ran long; left for the next round")
        if row.endpoint is None:
            return Outcome("failed", "the subscription was removed")
        remaining = (row.expires_at - self.clock()).total_seconds()
        if remaining < 1:
            return Outcome("expired", "expired before it could be delivered")
        pause = self._paused.get(endpoint_origin(row.endpoint), 0.0) - time.time()
        if pause > 0:
            return Outcome("deferred", "push service asked us to slow down", retry_after=pause)
        return PushMessage(
            endpoint=row.endpoint, p256dh=row.p256dh, auth=row.auth,
            payload=row.payload.encode(), ttl=int(remaining), urgency=row.urgency,
            topic=row.topic,
        )  # fmt: skip
