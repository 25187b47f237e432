"""Alembic migrations build the schema the models describe, on SQLite and PostgreSQL, and
upgrading from any earlier revision keeps every row."""

import base64
import os
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import column, inspect, select, table, text

from server import MIGRATIONS_PATH
from server.services.routine_files import load_library
from tests.conftest import session_upload


def test_the_migrated_schema_matches_the_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_the_database_is_at_the_latest_revision(db):
    head = ScriptDirectory(str(MIGRATIONS_PATH)).get_current_head()
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_every_revision_goes_down_and_up_again(db, app):
    tables_before = set(inspect(db.engine).get_table_names())
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert set(inspect(db.engine).get_table_names()) == tables_before
    # The session fixture loaded the library before; put it back for the tests that follow.
    load_library(app.config["ROUTINES_PATH"])


def populate(make) -> None:
    """A little of everything, through the API: people, phones, invites, own exercises and
    routines, assignments of both kinds (one paused, one ended), session logs, push
    subscriptions, reminder settings and queued notifications."""
    for n, zone in enumerate(("Europe/London", "Australia/Lord_Howe")):
        therapist = make.therapist(name=f"Therapist «{n}»")
        exercise = therapist.post("/api/exercises", json={
            "name": f"Zebra crawl {n}", "regions": ["core"], "kind": "strength", "level": 2,
            "equipment": ["mat"], "steps": ["Kneel on all fours.", "Crawl forward slowly."],
            "dose": {"sets": 2, "reps": 8, "rest_seconds": 30},
        })  # fmt: skip
        assert exercise.status_code == 201, exercise.get_json()
        routine = therapist.post("/api/routines", json={
            "name": f"Mine {n}", "items": [{"exercise_id": exercise.get_json()["id"]}],
        })  # fmt: skip
        assert routine.status_code == 201, routine.get_json()
        for name in ("Sam O'Client", "Zoë 🦵"):
            client = make.client_of(therapist, name=name, tz=zone)
            assert therapist.post(f"/api/clients/{client['id']}/invites").status_code == 201
            phone = make.phone(therapist, client["id"])
            for _ in range(2):
                endpoint = f"https://fcm.googleapis.com/fcm/send/{base64_url(os.urandom(12))}"
                subscribed = phone.post("/api/push/subscriptions", json={
                    "endpoint": endpoint, "expirationTime": None, "keys": device_keys(),
                })  # fmt: skip
                assert subscribed.status_code == 201, subscribed.get_json()
            reminder = phone.put("/api/reminders", json={
                "enabled": True, "time": "07:45", "weekdays": ["mon", "wed", "fri"],
                "quiet_start": "22:00", "quiet_end": "07:00",
            })  # fmt: skip
            assert reminder.status_code == 200, reminder.get_json()
            fixed = make.assignment(therapist, client["id"], weekdays=["mon", "thu"],
                                    note="Slowly; stop if it hurts")  # fmt: skip
            weekly = make.assignment(
                therapist, client["id"], routine_id=routine.get_json()["id"], times_per_week=3,
                end_date=(datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            )  # fmt: skip
            for days_ago, assignment in enumerate((fixed, weekly, fixed)):
                performed = datetime.now(UTC) - timedelta(days=days_ago, minutes=5)
                upload = session_upload(
                    assignment, performed_at=performed.isoformat(), pain_after=None,
                    note=f"Day {days_ago}: tight «hips»",
                )  # fmt: skip
                assert phone.post("/api/sessions", json=upload).status_code == 201
            nudged = therapist.post(f"/api/clients/{client['id']}/nudge", json={"message": "Go!"})
            assert nudged.status_code == 202, nudged.get_json()
            for action in ("pause", "end"):
                assignment = fixed if action == "pause" else weekly
                changed = therapist.patch(f"/api/assignments/{assignment['id']}",
                                          json={"action": action})  # fmt: skip
                assert changed.status_code == 200, changed.get_json()


def base64_url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def device_keys() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": base64_url(point), "auth": base64_url(os.urandom(16))}


def snapshot(engine) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every row of every table, ordered by primary key, as the driver returns it (no type
    conversion, so a changed storage format shows too)."""
    inspector = inspect(engine)
    rows = {}
    with engine.connect() as connection:
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            columns = [c["name"] for c in inspector.get_columns(name)]
            key = inspector.get_pk_constraint(name)["constrained_columns"] or columns
            query = (
                select(*map(column, columns)).select_from(table(name)).order_by(*map(column, key))
            )
            rows[name] = (columns, [tuple(row) for row in connection.execute(query)])
    return rows


def test_upgrading_from_every_earlier_revision_keeps_every_row(db, app, make):
    populate(make)
    db.session.remove()
    scripts = ScriptDirectory(str(MIGRATIONS_PATH))
    head = scripts.get_current_head()
    earlier = [script.revision for script in scripts.walk_revisions() if script.revision != head]
    assert earlier, "no earlier revision to upgrade from"
    try:
        for revision in earlier:  # newest first: each step down drops only later tables
            downgrade(revision=revision)
            before = snapshot(db.engine)
            assert sum(len(rows) for _, rows in before.values()) > 0
            upgrade()
            after = snapshot(db.engine)
            for name, (columns, rows) in before.items():
                assert name in after, f"{name} is gone after upgrading from {revision}"
                kept = [after[name][0].index(c) for c in columns]
                after_rows = [tuple(row[i] for i in kept) for row in after[name][1]]
                assert after_rows == rows, f"{name} changed upgrading from {revision}"
    finally:
        upgrade()
        # Downgrades stop at the first revision, so the library's rows stay; loading it again
        # (idempotent) covers a failure half-way, for the tests that follow.
        load_library(app.config["ROUTINES_PATH"])
