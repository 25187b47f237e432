"""No session log is lost or stored twice while the server is hurt (issue 6).

Limber runs under real gunicorn (server/gunicorn_conf.py, 4 sync workers) on SQLite, then on
PostgreSQL. 50 simulated phones, 20 at a time, upload 40 session logs each (2,000 distinct logs,
each with its own UUID and content). Like the web app's outbox, a phone resends an upload until it
gets a 2xx: after a dropped connection, a timeout or a 5xx. On top of that, at random, a phone
resends a log at once although it got its answer (the answer was "lost"), sends a log twice at the
same moment, or replays it a few seconds later. A third of the way through, a gunicorn worker
that is serving an upload at that moment is killed with SIGKILL (no cleanup: whatever it was
writing is cut off; the master starts a new worker). On PostgreSQL the database server is also restarted once (immediate mode,
like a crash), which cuts every connection; meanwhile the API must answer 503 problem+json with
Retry-After, never 500. Embedded SQLite has no server whose connection could be cut, so there
the worker killed mid-write is the fault: WAL rolls back its unfinished transaction and the
operating system frees its lock.

Afterwards the database holds exactly the 2,000 logs, each equal to what its phone sent, every
client's session count is 40 (no upload counted twice), each log was answered 201 at most once,
every phone got a 2xx for each of its logs, no answer was a 500, and no answer said "database is
locked" (SQLite: WAL, a busy timeout and short BEGIN IMMEDIATE write transactions). The figures
go to test-artifacts/fault-uploads-<database>.json.

Run alone: .venv/bin/python -m pytest -m fault -s tests/fault/test_upload_faults.py
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import urllib3
from flask_migrate import upgrade
from sqlalchemy import select

from server import create_app
from server.config import PROJECT_ROOT
from server.extensions import db
from server.models import Client, SessionLog
from server.services import routine_files
from tests.support.gunicorn import running_gunicorn
from tests.support.log_scan import register_log_file, register_secret

pytestmark = pytest.mark.fault

PHONES = 50
LOGS_PER_PHONE = 40
TOTAL_LOGS = PHONES * LOGS_PER_PHONE
WORKERS = 4
PHONES_AT_ONCE = 20
# Chances, per log, of the extra sends a real phone makes.
ANSWER_LOST = 0.1  # resent at once after a 2xx
TWICE_AT_ONCE = 0.1  # two sends at the same moment
REPLAY_LATER = 0.1  # resent 0.5 to 3 seconds later
# Far above a run on a busy 2-core machine (about 2 minutes); only a hang gets here.
DEADLINE_SECONDS = 480
# SQLite's busy timeout is 15 s; a request may wait that long for the write lock.
REQUEST_TIMEOUT = urllib3.Timeout(connect=5, read=40)
SECRET = "fault-test-secret-key"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


class DeadlinePassed(Exception):
    pass


class Figures:
    """Counters the phone threads share, and the problems they saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.connection_errors: Counter[str] = Counter()
        self.created: Counter[str] = Counter()  # 201s per log id
        self.delivered: set[str] = set()  # logs whose first upload ended in a 2xx
        self.problems: list[str] = []

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.counts[name] += amount

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)
            self.counts["problems"] += 1


@dataclass
class Phone:
    client_id: int
    assignment_id: int
    cookie: str
    csrf: str
    logs: list[dict] = field(default_factory=list)


class Api:
    """JSON over loopback with urllib3; no retries of its own (the phones decide)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = urllib3.PoolManager(
            maxsize=2 * PHONES_AT_ONCE, retries=False, timeout=REQUEST_TIMEOUT
        )

    def call(self, method: str, path: str, body=None, *, cookie: str = "", csrf: str = ""):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if cookie:
            headers["Cookie"] = cookie
        if csrf:
            headers["X-CSRF-Token"] = csrf
        data = None if body is None else json.dumps(body).encode()
        return self.http.request(method, self.base_url + path, body=data, headers=headers)

    def expect(self, status: int, method: str, path: str, body=None, **auth):
        response = self.call(method, path, body, **auth)
        assert response.status == status, (method, path, response.status, response.data[:500])
        return response


def session_cookie(response) -> str:
    cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    assert cookie.startswith("limber_session="), cookie
    return cookie


def sign_up_phones(api: Api, rng: random.Random) -> list[Phone]:
    """One therapist, 50 clients each with an assignment and a claimed phone, through the API."""
    registered = api.expect(201, "POST", "/api/auth/register", {
        "email": "fault-therapist@example.org", "password": "correct horse battery staple",
        "name": "Fault Therapist",
    })  # fmt: skip
    therapist = {"cookie": session_cookie(registered), "csrf": registered.json()["csrf_token"]}
    register_secret(session_cookie(registered).split("=", 1)[1], "session token")
    template_id = api.expect(200, "GET", "/api/templates", **therapist).json()[0]["id"]

    def sign_up(number: int) -> Phone:
        new_client = {"name": f"Client {number}", "timezone": "Europe/London"}
        client = api.expect(201, "POST", "/api/clients", new_client, **therapist).json()
        assigned = f"/api/clients/{client['id']}/assignments"
        assignment = api.expect(201, "POST", assigned, {"routine_id": template_id}, **therapist)
        invite = api.expect(201, "POST", f"/api/clients/{client['id']}/invites", **therapist)
        claimed = api.expect(200, "POST", "/api/invites/claim", {"code": invite.json()["code"]})
        # These pass outside the in-process apps, so the run's log scan is told about them.
        register_secret(invite.json()["code"], "invite code")
        register_secret(session_cookie(claimed).split("=", 1)[1], "session token")
        register_secret(claimed.json()["csrf_token"], "CSRF token")
        phone = Phone(
            client["id"],
            assignment.json()["id"],
            session_cookie(claimed),
            claimed.json()["csrf_token"],
        )
        item_count = len(assignment.json()["routine"]["items"])
        phone_rng = random.Random(rng.random())
        phone.logs = [
            session_body(phone, item_count, number, index, phone_rng)
            for index in range(LOGS_PER_PHONE)
        ]
        for log in phone.logs:
            register_secret(log["note"], "note")
        return phone

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(sign_up, range(PHONES)))


def session_body(
    phone: Phone, item_count: int, number: int, index: int, rng: random.Random
) -> dict:
    """Distinct content per log; times spelled in several offsets (the server keeps the instant)."""
    offset = timezone(timedelta(hours=rng.choice([-5, 0, 1, 2, 9])))
    performed_at = (
        datetime.now(UTC)
        - timedelta(days=20)
        + timedelta(minutes=number * 500 + index * 11, microseconds=rng.randrange(10**6))
    )
    done = sorted(rng.sample(range(item_count), rng.randint(0, item_count)))
    return {
        "id": str(uuid.uuid4()),
        "assignment_id": phone.assignment_id,
        "performed_at": performed_at.astimezone(offset).isoformat(),
        "completed_items": done,
        "pain_before": rng.randint(0, 10),
        "pain_after": rng.choice([None, *range(11)]),
        "effort": rng.choice([None, *range(11)]),
        "note": rng.choice(["", f"phone {number} log {index}: easier", f"phone {number} log {index}: did it twice ✓"]),
    }  # fmt: skip


def same_content(sent: dict, stored: dict) -> bool:
    """What the server answered or stored equals what the phone sent."""
    return (
        stored["id"] == sent["id"]
        and stored["assignment_id"] == sent["assignment_id"]
        and stored["performed_at"] == datetime.fromisoformat(sent["performed_at"])
        and stored["completed_items"] == sent["completed_items"]
        and all(
            stored[name] == sent[name] for name in ("pain_before", "pain_after", "effort", "note")
        )
    )


class Phones:
    """What the phones do: send until a 2xx, plus the extra sends real phones make."""

    def __init__(self, api: Api, figures: Figures, deadline: float, seed: int):
        self.api = api
        self.figures = figures
        self.deadline = deadline
        self.seed = seed
        self.stop = threading.Event()

    def run(self, phone: Phone, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        replays: list[tuple[float, dict]] = []
        for body in phone.logs:
            self._replay_due(phone, replays, time.monotonic())
            if rng.random() < TWICE_AT_ONCE:
                stored = self._send_twice_at_once(phone, body)
            else:
                stored = self._deliver(phone, body, rng)
            if stored:
                with self.figures.lock:
                    self.figures.delivered.add(body["id"])
            if rng.random() < ANSWER_LOST:
                self.figures.add("answers_lost_resent_at_once")
                self._deliver(phone, body, rng, expect=200)
            if rng.random() < REPLAY_LATER:
                replays.append((time.monotonic() + rng.uniform(0.5, 3), body))
        for due, _ in sorted(replays, key=lambda replay: replay[0]):
            time.sleep(max(0.0, due - time.monotonic()))
            self._replay_due(phone, replays, due)

    def _replay_due(self, phone: Phone, replays: list, now: float) -> None:
        for replay in [replay for replay in replays if replay[0] <= now]:
            replays.remove(replay)
            self.figures.add("replays_after_delay")
            self._deliver(phone, replay[1], random.Random(), expect=200)

    def _send_twice_at_once(self, phone: Phone, body: dict) -> bool:
        """Both sends must end in a 2xx (one 201, one 200, whichever wins)."""
        self.figures.add("duplicates_sent_concurrently")
        start = threading.Barrier(2)
        results = []

        def send():
            start.wait(timeout=10)
            results.append(self._deliver(phone, body, random.Random()))

        twin = threading.Thread(target=send)
        twin.start()
        try:
            send()
        finally:
            twin.join()
        return results == [True, True]

    def _deliver(
        self,
        phone: Phone,
        body: dict,
        rng: random.Random,
        *,
        expect: int | None = None,
    ) -> bool:
        """Send until a 2xx (True), as the outbox does; any other answer but a 5xx is a problem."""
        figures = self.figures
        for attempt in range(10_000):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                figures.problem(f"log {body['id']}: no 2xx before the deadline")
                raise DeadlinePassed(body["id"])
            figures.add("requests_sent")
            if attempt:
                figures.add("retries")
            try:
                response = self.api.call(
                    "POST", "/api/sessions", body, cookie=phone.cookie, csrf=phone.csrf
                )
            except urllib3.exceptions.HTTPError as error:
                with figures.lock:
                    figures.connection_errors[type(error).__name__] += 1
                time.sleep(rng.uniform(0.05, 0.3))
                continue
            text = response.data.decode("utf-8", "replace")
            with figures.lock:
                figures.statuses[str(response.status)] += 1
                if response.status == 201:
                    figures.created[body["id"]] += 1
            if "database is locked" in text.lower():
                figures.problem(
                    f"log {body['id']}: {response.status} said database is locked: {text[:200]}"
                )
            if 200 <= response.status < 300:
                answer = response.json()
                answer["performed_at"] = datetime.fromisoformat(answer["performed_at"])
                if not same_content(body, answer):
                    figures.problem(f"log {body['id']}: answered with other content {text[:300]}")
                if expect is not None and response.status != expect:
                    figures.problem(
                        f"log {body['id']}: a resend of a stored log got {response.status}"
                    )
                return True
            if response.status >= 500:
                self._check_unavailable(body, response, text)
                retry_after = response.headers.get("Retry-After", "")
                # At most a second, to keep the test short; a phone would wait the whole time.
                pause = min(float(retry_after), 1.0) if retry_after.isdigit() else 0.2
                time.sleep(pause * rng.uniform(0.5, 1.5))
                continue
            figures.problem(f"log {body['id']}: refused with {response.status}: {text[:300]}")
            return False
        figures.problem(f"log {body['id']}: gave up after 10,000 attempts")
        return False

    def _check_unavailable(self, body: dict, response, text: str) -> None:
        if response.status != 503:
            self.figures.problem(f"log {body['id']}: {response.status}: {text[:300]}")
        elif (
            response.headers.get("Content-Type") != "application/problem+json"
            or "Retry-After" not in response.headers
        ):
            self.figures.problem(
                f"log {body['id']}: 503 without problem+json and Retry-After: {response.headers} {text[:200]}"
            )


def prepare_database(url: str, instance: Path):
    """Migrate and load the library in this process, as `make run` does before gunicorn starts."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": instance}
    )
    with app.app_context():
        upgrade()
        routine_files.load_library(app.config["ROUTINES_PATH"])
        db.engine.dispose()
    return app


def stored_state(app) -> tuple[dict[str, dict], dict[int, int]]:
    """Every stored log by id, and every client's session count."""
    with app.app_context():
        logs = {
            log.id: {
                "id": log.id, "client_id": log.client_id, "assignment_id": log.assignment_id,
                "performed_at": log.performed_at, "completed_items": log.completed_items,
                "pain_before": log.pain_before, "pain_after": log.pain_after,
                "effort": log.effort, "note": log.note,
            }
            for log in db.session.scalars(select(SessionLog))
        }  # fmt: skip
        counts = dict(db.session.execute(select(Client.id, Client.session_count)).all())
        db.session.remove()
        db.engine.dispose()
    return logs, counts


def wait_for(condition, deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise DeadlinePassed(f"waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_log_is_stored_once_through_worker_kills_and_a_database_restart(
    database, request, tmp_path
):
    postgres = request.getfixturevalue("own_postgres") if database == "postgresql" else None
    if postgres:
        url = postgres.create_database("fault_uploads", synchronous_commit="on")
    else:
        url = f"sqlite:///{tmp_path / 'limber.sqlite3'}"
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    app = prepare_database(url, tmp_path / "instance")
    env = {
        "DATABASE_URL": url, "SECRET_KEY": SECRET, "LIMBER_INSTANCE_PATH": str(tmp_path / "instance"),
        # 50 invite claims from one address would trip the claim limit; it is not under test here.
        "RATELIMIT_ENABLED": "false",
    }  # fmt: skip
    figures = Figures()
    faults: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"fault-uploads-{database}-gunicorn.log"
    log_path.unlink(missing_ok=True)
    register_log_file(log_path)
    with running_gunicorn("wsgi:app", env, workers=WORKERS, log=log_path) as server:
        server.wait_ready("/healthz")
        server.wait_workers(WORKERS)
        api = Api(server.url)
        phones = sign_up_phones(api, rng)
        uploads_started = time.monotonic()
        runner = Phones(api, figures, deadline, seed)
        pool = ThreadPoolExecutor(PHONES_AT_ONCE, thread_name_prefix="phone")
        try:
            uploads = [
                pool.submit(runner.run, phone, number) for number, phone in enumerate(phones)
            ]
            wait_for(
                lambda: len(figures.delivered) >= TOTAL_LOGS // 3, deadline, "a third of the logs"
            )
            killed = server.kill_worker(rng)
            faults["worker_sigkills"] += 1
            if postgres:
                wait_for(
                    lambda: len(figures.delivered) >= 2 * TOTAL_LOGS // 3,
                    deadline,
                    "two thirds of the logs",
                )
                postgres.restart()
                faults["database_restarts"] += 1
            for upload in uploads:
                upload.result(timeout=max(1.0, deadline - time.monotonic()))
            # The master replaced the killed worker.
            server.wait_workers(WORKERS, without=killed)
            upload_seconds = time.monotonic() - uploads_started
        finally:
            runner.stop.set()
            pool.shutdown(wait=True)
    seconds = time.monotonic() - started

    stored, session_counts = stored_state(app)
    sent = {body["id"]: (phone, body) for phone in phones for body in phone.logs}
    wrong = [
        log_id for log_id, (phone, body) in sent.items()
        if log_id in stored and not (same_content(body, stored[log_id]) and stored[log_id]["client_id"] == phone.client_id)
    ]  # fmt: skip
    summary = {
        "database": database,
        "seed": seed,
        "gunicorn_workers": WORKERS,
        "phones": PHONES,
        "phones_at_once": PHONES_AT_ONCE,
        "logs_attempted": TOTAL_LOGS,
        "requests_sent": figures.counts["requests_sent"],
        "retries": figures.counts["retries"],
        "duplicates_sent_concurrently": figures.counts["duplicates_sent_concurrently"],
        "answers_lost_resent_at_once": figures.counts["answers_lost_resent_at_once"],
        "replays_after_delay": figures.counts["replays_after_delay"],
        "connection_errors": dict(figures.connection_errors),
        "answers_by_status": dict(sorted(figures.statuses.items())),
        "faults_injected": dict(faults),
        "logs_with_a_2xx": len(figures.delivered),
        "logs_stored": len(stored),
        "logs_lost": len(set(sent) - set(stored)),
        "logs_stored_but_never_sent": len(set(stored) - set(sent)),
        "logs_stored_with_other_content": len(wrong),
        "logs_answered_201_more_than_once": sum(
            1 for count in figures.created.values() if count > 1
        ),
        "clients_whose_session_count_is_not_40": sum(
            1 for count in session_counts.values() if count != LOGS_PER_PHONE
        ),
        "problems": figures.counts["problems"],
        "upload_seconds": round(upload_seconds, 1),
        "total_seconds": round(seconds, 1),
    }
    report = json.dumps(summary, indent=2)
    (ARTIFACTS / f"fault-uploads-{database}.json").write_text(report + "\n")
    print(f"\nfault uploads on {database}:\n{report}")
    context = f"\n{report}\nfirst problems: {figures.problems[:10]}\ngunicorn log: {log_path}"

    assert figures.problems == [], context
    assert len(figures.delivered) == TOTAL_LOGS, context
    assert set(stored) == set(sent), context
    assert wrong == [], context
    assert summary["logs_answered_201_more_than_once"] == 0, context
    assert set(session_counts.values()) == {LOGS_PER_PHONE}, context
    assert "500" not in figures.statuses, context
    if postgres:
        # The restart was seen by the phones as 503s (never 500s); they retried until stored.
        assert figures.statuses["503"] > 0, context
    else:
        # SQLite's lock waits are short; nothing here may be answered "busy".
        assert set(figures.statuses) <= {"200", "201"}, context
