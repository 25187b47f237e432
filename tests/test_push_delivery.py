"""The worker delivering the outbox: each push service answer's effect, retries, leases, a worker
killed mid-batch, and several workers sharing the queue on PostgreSQL."""

# ruff: noqa: F811 - the fixtures imported from tests.support.fake_push are redefined as arguments

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Notification, PushSubscription
from server.orm import utcnow
from server.push import outbox
from server.push.setup import make_sender
from server.push.worker import Worker
from tests.support.fake_push import CONTACT, fake_push, push_app, push_make, subscribe  # noqa: F401
from tests.support.log_scan import register_log_file
from tests.support.waiting import wait_for


class Clock:
    """The worker's clock, stopped and moved by the test (leases, backoff and expiry without
    waiting)."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def worker(push_app, clock):
    made = Worker(push_app, make_sender(push_app), threads=4, clock=clock)
    yield made
    made.close()


@pytest.fixture()
def phone(push_make):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    return client, push_make.phone(therapist, client["id"])


def queue(push_app, client_id: int, count: int = 1, now=None) -> list[str]:
    with push_app.app_context():
        ids = [
            outbox.enqueue(
                client_id,
                "nudge",
                title=f"Note {i}",
                body="Keep going",
                now=now or utcnow(),
                timezone="Europe/London",
            )
            for i in range(count)
        ]
        db.session.commit()
        return ids


def rows(push_app) -> list[Notification]:
    with push_app.app_context():
        found = list(db.session.scalars(select(Notification).order_by(Notification.id)))
        db.session.expunge_all()
        return found


def test_201_is_delivered_with_the_payload_the_phone_can_read(
    push_app, fake_push, phone, worker, clock
):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    [message_id] = queue(push_app, client["id"], now=clock.now)
    report = worker.run_until_idle()
    assert report.sent == {"delivered": 1}
    [row] = rows(push_app)
    assert row.status == "delivered" and row.delivered_at is not None and row.attempts == 1
    [payload] = fake_push.delivered(device)
    assert payload["web_push"] == 8030
    assert payload["notification"]["data"]["notification_id"] == message_id
    assert payload["notification"]["navigate"].startswith("https://limber.test/")  # PUBLIC_URL


@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_delete_the_subscription(push_app, fake_push, phone, worker, status, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    queue(push_app, client["id"], 2, now=clock.now)
    fake_push.answer(device, status, status)
    worker.run_until_idle()
    assert {r.status for r in rows(push_app)} == {"failed"}
    assert all(str(status) in r.last_error for r in rows(push_app))
    with push_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    assert handset.get("/api/push/subscriptions").get_json() == []


def test_413_and_other_4xx_fail_with_the_reason(push_app, fake_push, phone, worker, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    queue(push_app, client["id"], 2, now=clock.now)
    fake_push.answer(device, 413, 403)
    worker.run_until_idle()
    failed = rows(push_app)
    assert [r.status for r in failed] == ["failed", "failed"]
    assert sorted(r.last_error.split()[0] for r in failed) == ["403", "413"]
    assert all(r.attempts == 1 for r in failed)
    assert len(handset.get("/api/push/subscriptions").get_json()) == 1


def test_429_waits_for_retry_after_then_delivers(push_app, fake_push, phone, worker, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    queue(push_app, client["id"], now=clock.now)
    fake_push.answer(device, 429, retry_after="600")
    worker.run_until_idle()
    [row] = rows(push_app)
    assert row.status == "queued" and row.attempts == 1 and row.last_error.startswith("429")
    assert row.next_attempt_at == clock.now + timedelta(seconds=600)
    clock.advance(seconds=599)
    assert worker.run_until_idle().sent == {}
    clock.advance(seconds=2)
    worker._paused.clear()  # the per-service pause runs on real time; the test moved its clock
    assert worker.run_until_idle().sent == {"delivered": 1}
    assert rows(push_app)[0].status == "delivered"
    assert len(fake_push.messages(device)) == 2


def test_5xx_backs_off_exponentially_then_dies(push_app, fake_push, phone, worker, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    queue(push_app, client["id"], now=clock.now)
    worker.max_attempts = 4
    fake_push.answer(device, 500, 503, 502, 500)
    delays = []
    for _ in range(4):
        worker.run_until_idle()
        [row] = rows(push_app)
        if row.status != "queued":
            break
        delays.append(row.next_attempt_at - clock.now)
        clock.advance(seconds=delays[-1].total_seconds() + 1)
    assert (
        row.status == "dead"
        and row.attempts == 4
        and "gave up after 4 tries: 500" in row.last_error
    )
    assert len(delays) == 3
    # Jittered between half and all of 30 s, 60 s, 120 s: each ceiling doubles.
    for delay, ceiling in zip(delays, (30, 60, 120), strict=True):
        assert ceiling / 2 <= delay.total_seconds() <= ceiling
    assert len(fake_push.messages(device)) == 4


def test_push_retry_seconds_sets_the_first_wait(push_app, another_app, fake_push, phone, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    queue(push_app, client["id"], now=clock.now)
    quick = another_app(PUSH_ALLOWED_HOSTS="127.0.0.1", PUSH_CONTACT=CONTACT, PUSH_RETRY_SECONDS=4)
    worker = Worker(quick, make_sender(quick), threads=1, clock=clock)
    fake_push.answer(device, 503, 503)
    delays = []
    try:
        for _ in range(2):
            worker.run_until_idle()
            [row] = rows(push_app)
            delays.append((row.next_attempt_at - clock.now).total_seconds())
            clock.advance(seconds=delays[-1] + 1)
        worker.run_until_idle()
    finally:
        worker.close()
    # Between half and all of 4 s, then of 8 s; then delivered.
    assert 2 <= delays[0] <= 4 and 4 <= delays[1] <= 8, delays
    assert rows(push_app)[0].status == "delivered"


def test_a_message_past_its_useful_life_is_never_sent(push_app, fake_push, phone, worker, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    queue(push_app, client["id"], now=clock.now)  # a nudge is worth a day
    clock.advance(days=1, seconds=1)
    worker.run_until_idle()
    [row] = rows(push_app)
    assert row.status == "dead" and "expired" in row.last_error
    assert fake_push.messages() == []


def test_quiet_hours_hold_a_notification_until_they_end(push_app, fake_push, phone, worker, clock):
    client, handset = phone
    subscribe(handset, fake_push.device())
    local_hour = clock.now.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London")).hour
    start, end = f"{local_hour:02d}:00", f"{(local_hour + 2) % 24:02d}:00"
    reminder_time = f"{(local_hour + 3) % 24:02d}:00"
    settings = {
        "enabled": True,
        "time": reminder_time,
        "weekdays": ["mon"],
        "quiet_start": start,
        "quiet_end": end,
    }
    assert handset.put("/api/reminders", json=settings).status_code == 200
    queue(push_app, client["id"], now=clock.now)
    [row] = rows(push_app)
    assert row.next_attempt_at > clock.now + timedelta(minutes=59)
    assert worker.run_until_idle().sent == {}
    clock.now = row.next_attempt_at
    assert worker.run_until_idle().sent == {"delivered": 1}


def test_a_reclaimed_row_is_not_overwritten_by_the_worker_that_lost_it(
    push_app, fake_push, phone, clock
):
    client, handset = phone
    subscribe(handset, fake_push.device())
    queue(push_app, client["id"], now=clock.now)
    with push_app.app_context():
        [first] = outbox.claim("worker-a", 10, clock.now, timedelta(seconds=30))
        second = outbox.claim(
            "worker-b", 10, clock.now + timedelta(seconds=10), timedelta(seconds=30)
        )
        assert second == []  # still leased to worker-a
        [taken_over] = outbox.claim(
            "worker-b", 10, clock.now + timedelta(seconds=31), timedelta(seconds=30)
        )
        assert taken_over.attempts == 2
        from server.push.sender import Outcome

        outbox.record("worker-a", [(first, Outcome("failed", "late"))], clock.now, 8)
        outbox.record("worker-b", [(taken_over, Outcome("delivered"))], clock.now, 8)
    [row] = rows(push_app)
    assert row.status == "delivered" and row.last_error is None


def test_stopping_hands_unsent_messages_back(push_app, fake_push, phone, worker, clock):
    client, handset = phone
    subscribe(handset, fake_push.device())
    queue(push_app, client["id"], 3, now=clock.now)
    worker.stop()
    with push_app.app_context():
        worker.round()
    assert [r.status for r in rows(push_app)] == ["queued"] * 3
    assert all(r.attempts == 0 for r in rows(push_app))
    assert fake_push.messages() == []


def _worker_process(database_url: str, instance, lease: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LIMBER_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "PUSH_ALLOWED_HOSTS": "127.0.0.1",
        "PUSH_CONTACT": CONTACT,
        "PUSH_LEASE_SECONDS": str(lease),
        "PUSH_TIMEOUT_SECONDS": "1",
        "PUSH_WORKER_THREADS": "2",
        "PUSH_POLL_SECONDS": "0.1",
    }
    register_log_file(instance / "worker.log")
    with open(instance / "worker.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "server:create_app", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_a_worker_killed_mid_batch_loses_nothing(
    push_app, fake_push, phone, database_url, tmp_path, clock
):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    message_ids = set(queue(push_app, client["id"], 40, now=clock.now))
    fake_push.delay = 0.05  # so the kill lands while a batch is being sent
    lease = 4
    process = _worker_process(database_url, tmp_path, lease)
    try:
        wait_for(
            lambda: len(fake_push.messages()) >= 5 or process.poll() is not None,
            "the first deliveries",
        )
        assert process.poll() is None, (tmp_path / "worker.log").read_text()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    statuses = [r.status for r in rows(push_app)]
    assert statuses.count("delivered") < len(message_ids), (
        "the worker finished before it was killed"
    )
    fake_push.delay = 0
    # A new worker whose clock is past the dead worker's lease takes the abandoned rows over.
    later = Clock()
    later.advance(seconds=lease + 1)
    survivor = Worker(push_app, make_sender(push_app), threads=4, clock=later)
    try:
        survivor.run_until_idle()
    finally:
        survivor.close()
    assert {r.status for r in rows(push_app)} == {"delivered"}
    received = {
        payload["notification"]["data"]["notification_id"]
        for payload in fake_push.delivered(device)
    }
    assert received == message_ids  # every one at least once (some maybe twice: at-least-once)


def test_flask_worker_stops_gracefully_on_sigterm(
    push_app, fake_push, phone, database_url, tmp_path, clock
):
    client, handset = phone
    subscribe(handset, fake_push.device())
    queue(push_app, client["id"], 3, now=clock.now)
    process = _worker_process(database_url, tmp_path, 30)
    try:
        wait_for(lambda: len(fake_push.messages()) == 3 or process.poll() is not None, "delivery")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert {r.status for r in rows(push_app)} == {"delivered"}


@pytest.mark.skipif(
    not os.environ.get("LIMBER_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several workers share the queue with FOR UPDATE SKIP LOCKED on PostgreSQL only",
)
def test_several_workers_share_the_queue_without_doubles(push_app, fake_push, phone, clock):
    client, handset = phone
    device = fake_push.device()
    subscribe(handset, device)
    message_ids = queue(push_app, client["id"], 120, now=clock.now)
    fake_push.delay = 0.01
    workers = [
        Worker(push_app, make_sender(push_app), threads=1, name=f"w{i}", clock=clock)
        for i in range(3)
    ]
    reports = {}

    def work(w):
        reports[w.name] = w.run_until_idle()

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for w in workers:
        w.close()
    received = [
        payload["notification"]["data"]["notification_id"]
        for payload in fake_push.delivered(device)
    ]
    assert sorted(received) == sorted(message_ids)  # each exactly once: no row claimed twice
    assert sum(r.sent.get("delivered", 0) for r in reports.values()) == len(message_ids)
    assert sum(1 for r in reports.values() if r.attempted) >= 2, reports
