"""Seed a benchmark database: 50 therapists, 5,000 clients, 500,000 session logs.

Rows go in with bulk inserts (not the API), so seeding takes about a minute. Known session
tokens are inserted for the dashboard therapist and a set of phones, so the load generator can
sign requests without logging in.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from server.extensions import db
from server.models import Assignment, Client, DeviceSession, Routine, SessionLog, Therapist
from server.orm import utcnow
from server.services import routine_files, routines
from server.services.device_sessions import csrf_token_for
from server.services.secrets import hash_password, hash_token

THERAPISTS = 50
CLIENTS = 5_000
LOGS_PER_CLIENT = 100
DASHBOARD_CLIENTS = 200
PHONES = 200
HISTORY_DAYS = 365
ZONES = ["Europe/London", "America/New_York", "America/Los_Angeles", "Pacific/Auckland", "Australia/Sydney", "Europe/Berlin"]
CHUNK = 20_000


@dataclass
class Seeded:
    dashboard_token: str
    dashboard_csrf: str
    phones: list[tuple[str, str, int]]  # (token, csrf, assignment id)


def _chunks(rows, size=CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(routines_path, rng: random.Random) -> Seeded:
    routine_files.load_library(routines_path)
    templates = list(db.session.scalars(select(Routine).where(Routine.owner_id.is_(None))))
    snapshots = [(t.id, t.name, routines.snapshot(t), routines.routine_minutes(t)) for t in templates]
    now = utcnow()
    password = hash_password("benchmark password")

    db.session.execute(
        insert(Therapist),
        [{"id": i + 1, "email": f"therapist{i}@bench.test", "name": f"Therapist {i}", "password_hash": password, "created_at": now} for i in range(THERAPISTS)],
    )  # fmt: skip
    clients, assignments = [], []
    for i in range(CLIENTS):
        therapist_id = 1 if i < DASHBOARD_CLIENTS else 2 + (i - DASHBOARD_CLIENTS) % (THERAPISTS - 1)
        clients.append({"id": i + 1, "therapist_id": therapist_id, "name": f"Client {i:04d}",
                        "timezone": ZONES[i % len(ZONES)], "created_at": now})  # fmt: skip
        routine_id, name, snapshot, minutes = snapshots[i % len(snapshots)]
        weekly = rng.random() < 0.5
        assignments.append({
            "id": i + 1, "client_id": i + 1, "routine_id": routine_id, "title": name, "routine": snapshot,
            "estimated_minutes": minutes, "weekdays": None if weekly else [0, 2, 4],
            "times_per_week": rng.randint(3, 7) if weekly else None,
            "start_date": (now - timedelta(days=HISTORY_DAYS)).date(), "status": "active", "pauses": [],
            "note": "Keep it gentle this week.", "created_at": now, "updated_at": now,
        })  # fmt: skip
    db.session.execute(insert(Client), clients)
    for rows in _chunks(assignments, 2_000):
        db.session.execute(insert(Assignment), rows)

    stats = []
    for client_rows in _chunks(clients, 500):
        logs = []
        for client in client_rows:
            first_log = len(logs)
            zone = ZoneInfo(client["timezone"])
            # Most clients keep going; some stopped a while ago, so the dashboard has flags to sort.
            stopped = rng.random() < 0.15
            newest = rng.randint(6, 40) if stopped else 0
            for _ in range(LOGS_PER_CLIENT):
                performed = now - timedelta(days=rng.uniform(newest, HISTORY_DAYS), minutes=rng.randint(0, 600))
                logs.append({
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "client_id": client["id"], "assignment_id": client["id"], "performed_at": performed,
                    "local_date": performed.astimezone(zone).date(), "completed_items": [0, 1, 2],
                    "pain_before": rng.randint(2, 7), "pain_after": rng.randint(1, 6),
                    "effort": rng.randint(3, 8), "note": "", "content_hash": "seeded", "received_at": performed,
                })  # fmt: skip
            own = logs[first_log:]
            first_day = min(log["local_date"] for log in own)
            stats.append({"id": client["id"], "first_session_on": first_day,
                          "first_week_ends_on": first_day + timedelta(days=6),
                          "last_session_at": max(log["performed_at"] for log in own)})  # fmt: skip
        db.session.execute(insert(SessionLog), logs)
        db.session.commit()

    db.session.execute(update(Client), stats)
    db.session.commit()

    sessions, phones = [], []
    far = now + timedelta(days=365)
    dashboard_token = "bench-dashboard-therapist-token-000000000000"
    sessions.append({"token_hash": hash_token(dashboard_token), "therapist_id": 1, "label": "bench",
                     "created_at": now, "last_seen_at": now, "expires_at": far})  # fmt: skip
    for i in range(PHONES):
        token = f"bench-phone-token-{i:06d}-{uuid.uuid4().hex}"
        client_id = DASHBOARD_CLIENTS + 1 + i * ((CLIENTS - DASHBOARD_CLIENTS) // PHONES)
        sessions.append({"token_hash": hash_token(token), "client_id": client_id, "label": "bench",
                         "created_at": now, "last_seen_at": now, "expires_at": far})  # fmt: skip
        phones.append((token, csrf_token_for(token), client_id))
    db.session.execute(insert(DeviceSession), sessions)
    db.session.commit()
    return Seeded(dashboard_token, csrf_token_for(dashboard_token), phones)
