"""Push benchmark: outbox fan-out and the reminder scan.

    python -m tests.bench.bench_push

1. Fan-out: 10,000 notifications (1,000 clients, 10 each) go from the outbox through
   `flask worker`'s code (claim, encrypt, sign, POST, record) to the fake push service, which
   runs in its own process, and back to "delivered". The rate is printed as notifications per
   second and as a ratio to the raw rate of the `webpush` package measured in this run, both
   its `get()` (encrypt and sign one message) and its bare encryption.
2. Reminder scan: 100,000 clients with reminders; the time to find and enqueue the 10,000 due
   now, and the 1,000 due now, and nothing due: it follows the number due, not the clients.

SQLite, as `make run` serves. Bounded: every phase has a deadline. Nothing here asserts on time.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import func, insert, select, update

from server import create_app
from server.extensions import db
from server.models import Assignment, Client, Notification, PushSubscription, Reminder, Therapist
from server.orm import utcnow
from server.push import outbox, reminders
from server.push.payloads import encode
from server.push.setup import make_sender, push_settings
from server.push.worker import WINDOW, Worker

NOTIFICATIONS = int(os.environ.get("BENCH_PUSH_NOTIFICATIONS", "10000"))
DEVICES = 1_000
SCAN_CLIENTS = int(os.environ.get("BENCH_SCAN_CLIENTS", "100000"))
SCAN_DUE = (10_000, 1_000, 0)
WORKER_THREADS = int(os.environ.get("BENCH_PUSH_THREADS") or 0) or None  # None: PUSH_WORKER_THREADS
RAW_SAMPLES = 2_000
DEADLINE_SECONDS = 600
# The fake verifies every header and VAPID token, and decrypts 1 body in this many: it stands
# for a push service on other machines, so its own cost should not set the pace here.
VERIFY_EVERY = 10
CONTACT = "mailto:bench@limber.test"
ZONE = "Europe/London"
TARGET_RATIO = 0.6


def _fake_service(connection, devices: int, verify_every: int) -> None:
    """Child process: the fake push service; sends back its devices, then its tally."""
    from tests.support.fake_push import FakePushService

    with FakePushService(CONTACT, verify_every=verify_every, fast=True) as service:
        connection.send(
            (service.origin, [service.device().subscription_json() for _ in range(devices)])
        )
        started = resource.getrusage(resource.RUSAGE_SELF)
        connection.recv()  # told to stop
        ended = resource.getrusage(resource.RUSAGE_SELF)
        cpu = ended.ru_utime - started.ru_utime + ended.ru_stime - started.ru_stime
        statuses: dict[int, int] = {}
        for record in service.messages():
            statuses[record.status] = statuses.get(record.status, 0) + 1
        decrypted = sum(1 for record in service.messages() if record.payload is not None)
        connection.send(
            {
                "statuses": statuses,
                "decrypted": decrypted,
                "problems": service.problems[:5],
                "cpu": cpu,
            }
        )


def _app(workdir: Path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'push-bench.sqlite3'}",
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "benchmark-secret-key",
            "PUSH_ALLOWED_HOSTS": "127.0.0.1",
            "PUSH_CONTACT": CONTACT,
            "PUBLIC_URL": "https://limber.bench",
        }
    )
    with app.app_context():
        upgrade()
    return app


def _therapist() -> int:
    therapist = Therapist(
        email=f"bench-{random.random()}@bench.test", name="Bench Therapist", password_hash="x"
    )
    db.session.add(therapist)
    db.session.flush()
    return therapist.id


def raw_webpush_rates(app, subscription: dict, payload: bytes) -> tuple[float, float]:
    """The `webpush` package alone, single thread: get() (encrypt + sign) and bare encryption."""
    from webpush import WebPush
    from webpush.types import WebPushSubscription

    keys = push_settings().keys
    package = WebPush(
        private_key=keys.private_pem(),
        public_key=keys.public_pem(),
        subscriber="bench@limber.test",
        ttl=3600,
    )
    parsed = WebPushSubscription(**subscription)
    rates = []
    for call in (lambda: package.get(payload, parsed), lambda: package._encrypt(payload, parsed)):
        call()
        started = time.perf_counter()
        for _ in range(RAW_SAMPLES):
            call()
        rates.append(RAW_SAMPLES / (time.perf_counter() - started))
    return rates[0], rates[1]


def bench_fanout(workdir: Path) -> dict:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_fake_service, args=(child, DEVICES, VERIFY_EVERY), daemon=True
    )
    process.start()
    origin, devices = parent.recv()
    app = _app(workdir)
    with app.app_context():
        therapist_id = _therapist()
        now = utcnow()
        db.session.execute(
            insert(Client),
            [{"therapist_id": therapist_id, "name": f"Client {i}", "timezone": ZONE, "created_at": now} for i in range(DEVICES)],
        )  # fmt: skip
        client_ids = list(db.session.scalars(select(Client.id).order_by(Client.id)))
        db.session.execute(
            insert(PushSubscription),
            [
                {"client_id": cid, "endpoint": d["endpoint"], "p256dh": d["keys"]["p256dh"], "auth": d["keys"]["auth"],
                 "user_agent": "Bench", "app_origin": "", "created_at": now, "last_seen_at": now}
                for cid, d in zip(client_ids, devices, strict=True)
            ],
        )  # fmt: skip
        per_client = NOTIFICATIONS // DEVICES
        for round_ in range(per_client):
            for cid in client_ids:
                outbox.enqueue(cid, "nudge", title="A nudge from your therapist",
                               body=f"Keep going: day {round_} of your hip routine, about 8 minutes.",
                               now=now, timezone=ZONE)  # fmt: skip
        db.session.commit()
        queued = db.session.scalar(select(func.count()).select_from(Notification))
        sample = db.session.scalar(select(Notification.payload).limit(1))
        raw_get, raw_encrypt = raw_webpush_rates(app, devices[0], encode(sample))

    worker = Worker(app, make_sender(app), threads=WORKER_THREADS)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    deadline = time.monotonic() + DEADLINE_SECONDS
    attempted = 0
    try:
        with app.app_context():
            while time.monotonic() < deadline:
                report = worker.round()
                attempted += report.attempted
                if report.attempted == 0:
                    break
    finally:
        elapsed = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        worker.close()
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    with app.app_context():
        delivered = db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status == "delivered")
        )
    parent.send("stop")
    tally = parent.recv()
    process.join(timeout=10)
    return {
        "queued": queued, "delivered": delivered, "attempted": attempted, "seconds": elapsed,
        "rate": delivered / elapsed, "raw_get": raw_get, "raw_encrypt": raw_encrypt, "tally": tally,
        "origin": origin, "payload_bytes": len(encode(sample)), "cpu": cpu, "threads": worker.threads,
    }  # fmt: skip


def _seed_scan(clients: int, now: datetime) -> list[int]:
    """Clients with a daily routine, a phone and a reminder, none due yet (spread over a day)."""
    therapist_id = _therapist()
    zone = ZoneInfo(ZONE)
    today = now.astimezone(zone).date()
    routine = {"name": "Hips", "items": [{"position": 0, "name": "Bridge", "dose": {}}]}
    rng = random.Random(7)
    chunk = 20_000
    ids: list[int] = []
    for start in range(0, clients, chunk):
        count = min(chunk, clients - start)
        db.session.execute(
            insert(Client),
            [{"therapist_id": therapist_id, "name": f"Client {start + i}", "timezone": ZONE, "created_at": now} for i in range(count)],
        )  # fmt: skip
    ids = list(
        db.session.scalars(
            select(Client.id).where(Client.therapist_id == therapist_id).order_by(Client.id)
        )
    )
    for start in range(0, clients, chunk):
        part = ids[start : start + chunk]
        db.session.execute(
            insert(Assignment),
            [{"client_id": cid, "title": "hip routine", "routine": routine, "estimated_minutes": 8,
              "weekdays": list(range(7)), "start_date": today - timedelta(days=30), "status": "active",
              "pauses": [], "note": "", "created_at": now, "updated_at": now} for cid in part],
        )  # fmt: skip
        db.session.execute(
            insert(PushSubscription),
            [{"client_id": cid, "endpoint": f"https://fcm.googleapis.com/fcm/send/bench-{cid}",
              "p256dh": "x", "auth": "x", "user_agent": "Bench", "app_origin": "", "created_at": now,
              "last_seen_at": now} for cid in part],
        )  # fmt: skip
        rows = []
        for cid in part:
            later = now + timedelta(minutes=rng.randint(10, 23 * 60))
            rows.append({"client_id": cid, "enabled": True, "local_time": later.astimezone(zone).time().replace(second=0, microsecond=0),
                         "weekdays": list(range(7)), "timezone": ZONE, "regular_at": later, "next_fire_at": later,
                         "updated_at": now})  # fmt: skip
        db.session.execute(insert(Reminder), rows)
    db.session.commit()
    return ids


def _make_due(client_ids: list[int], now: datetime) -> None:
    zone = ZoneInfo(ZONE)
    at = now - timedelta(minutes=1)
    for start in range(0, len(client_ids), 5_000):
        db.session.execute(
            update(Reminder)
            .where(Reminder.client_id.in_(client_ids[start : start + 5_000]))
            .values(regular_at=at, next_fire_at=at, last_sent_on=None,
                    local_time=at.astimezone(zone).time().replace(second=0, microsecond=0))
        )  # fmt: skip
    db.session.commit()


def bench_scan(workdir: Path) -> list[tuple[int, float, int]]:
    app = _app(workdir)
    results = []
    with app.app_context():
        zone = ZoneInfo(ZONE)
        # Mid-afternoon local time, so "due one minute ago" is today and outside any quiet hours.
        now = datetime.combine(
            date.today() + timedelta(days=1), datetime.min.time().replace(hour=15), tzinfo=zone
        )
        started = time.perf_counter()
        ids = _seed_scan(SCAN_CLIENTS, now)
        print(
            f"  seeded {len(ids):,} clients with reminders in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        rng = random.Random(11)
        for due in SCAN_DUE:
            db.session.execute(Notification.__table__.delete())
            db.session.commit()
            chosen = rng.sample(ids, due)
            _make_due(chosen, now)
            db.session.remove()
            # Each scan starts from the same state: earlier writes checkpointed out of the WAL.
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            started = time.perf_counter()
            report = reminders.scan_due(now)
            elapsed = time.perf_counter() - started
            enqueued = db.session.scalar(select(func.count()).select_from(Notification))
            results.append((due, elapsed, enqueued))
            assert report.due == due, (report, due)
            now += timedelta(seconds=1)
    return results


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="limber-push-bench-"))
    try:
        print(f"push fan-out: {NOTIFICATIONS:,} notifications to {DEVICES:,} phones, fake push service "
              f"in its own process, {os.cpu_count()} CPUs", flush=True)  # fmt: skip
        fan = bench_fanout(workdir / "fanout")
        tally = fan["tally"]
        print(f"  worker: {fan['threads']} sending threads, {WINDOW} messages per window")
        print(f"  delivered {fan['delivered']:,} of {fan['queued']:,} in {fan['seconds']:.2f} s: "
              f"{fan['rate']:,.0f} notifications/s ({fan['payload_bytes']} byte payloads)")  # fmt: skip
        print(f"  worker process CPU: {fan['cpu']:.2f} s, {fan['cpu'] / max(fan['delivered'], 1) * 1e6:,.0f} us "
              f"per notification (encrypt, sign, HTTP, database)")  # fmt: skip
        print(f"  push service answers: {tally['statuses']}; bodies decrypted and checked: "
              f"{tally['decrypted']:,}; problems: {tally['problems'] or 'none'}; its CPU: "
              f"{tally['cpu'] / max(fan['delivered'], 1) * 1e6:,.0f} us per request")  # fmt: skip
        print(f"  webpush alone, one thread, this run: get() {fan['raw_get']:,.0f}/s, "
              f"bare _encrypt() {fan['raw_encrypt']:,.0f}/s")  # fmt: skip
        ratio_get = fan["rate"] / fan["raw_get"]
        ratio_encrypt = fan["rate"] / fan["raw_encrypt"]
        print(f"  ratio to webpush get():      {ratio_get:.2f}  (target >= {TARGET_RATIO})"
              f"{'' if ratio_get >= TARGET_RATIO else '  MISSED'}")  # fmt: skip
        print(f"  ratio to bare encryption:    {ratio_encrypt:.2f}")
        print(
            f"\nreminder scan: {SCAN_CLIENTS:,} clients with a daily reminder, SQLite", flush=True
        )
        for due, elapsed, enqueued in bench_scan(workdir / "scan"):
            per = f"{elapsed / due * 1e6:,.0f} us per due reminder" if due else "index probe only"
            print(
                f"  {due:>6,} due now: found and enqueued {enqueued:,} in {elapsed * 1000:,.0f} ms ({per})"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
