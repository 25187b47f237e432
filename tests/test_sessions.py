"""Session logs: idempotent uploads, conflicts, time limits and history."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select

from server.models import Client, SessionLog
from server.schemas.programs import SessionLogInSchema
from server.services import session_logs
from tests.conftest import session_upload


def setup_client(make, tz="Europe/London"):
    therapist = make.therapist()
    client = make.client_of(therapist, tz=tz)
    assignment = make.assignment(therapist, client["id"], times_per_week=7)
    return therapist, client, assignment, make.phone(therapist, client["id"])


def test_the_same_upload_twice_is_one_record(make, db):
    _, client, assignment, phone = setup_client(make)
    body = session_upload(assignment)
    first = phone.post("/api/sessions", json=body)
    second = phone.post("/api/sessions", json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json() == second.get_json()
    respelled = {**body, "id": body["id"].upper(),
                 "performed_at": datetime.fromisoformat(body["performed_at"]).astimezone(
                     timezone(timedelta(hours=5))).isoformat()}
    assert phone.post("/api/sessions", json=respelled).status_code == 200
    count = db.session.scalar(select(func.count()).select_from(SessionLog).where(SessionLog.client_id == client["id"]))
    assert count == 1


def test_same_id_with_different_content_is_a_conflict(make):
    _, _, assignment, phone = setup_client(make)
    body = session_upload(assignment)
    assert phone.post("/api/sessions", json=body).status_code == 201
    changed = phone.post("/api/sessions", json={**body, "pain_after": 9})
    assert changed.status_code == 409
    assert changed.mimetype == "application/problem+json"
    stored = phone.get("/api/sessions").get_json()
    assert [s["pain_after"] for s in stored] == [3]


def test_another_clients_id_is_a_conflict_not_a_leak(make):
    _, _, assignment, phone = setup_client(make)
    _, _, other_assignment, other_phone = setup_client(make)
    body = session_upload(assignment)
    assert phone.post("/api/sessions", json=body).status_code == 201
    stolen = other_phone.post("/api/sessions", json={**body, "assignment_id": other_assignment["id"]})
    assert stolen.status_code == 409
    assert "pain" not in stolen.get_data(as_text=True)


def test_time_limits(make):
    _, _, assignment, phone = setup_client(make)
    now = datetime.now(UTC)
    late = phone.post("/api/sessions", json=session_upload(assignment, performed_at=(now - timedelta(days=29)).isoformat()))
    assert late.status_code == 201
    too_late = phone.post("/api/sessions", json=session_upload(assignment, performed_at=(now - timedelta(days=31)).isoformat()))
    assert too_late.status_code == 422 and "performed_at" in too_late.get_json()["errors"]
    skewed = phone.post("/api/sessions", json=session_upload(assignment, performed_at=(now + timedelta(minutes=3)).isoformat()))
    assert skewed.status_code == 201
    future = phone.post("/api/sessions", json=session_upload(assignment, performed_at=(now + timedelta(minutes=6)).isoformat()))
    assert future.status_code == 422
    naive = phone.post("/api/sessions", json=session_upload(assignment, performed_at=now.replace(tzinfo=None).isoformat()))
    assert naive.status_code == 422


def test_a_replay_after_the_window_still_gets_its_record(make, db):
    _, client, assignment, phone = setup_client(make)
    body = session_upload(assignment, performed_at=(datetime.now(UTC) - timedelta(days=29)).isoformat())
    assert phone.post("/api/sessions", json=body).status_code == 201
    # Days later the phone retries the same upload: it must hear "stored", not "too old".
    days_later = datetime.now(UTC) + timedelta(days=5)
    log, created = session_logs.record_session(
        db.session.get(Client, client["id"]), SessionLogInSchema().load(body), now=days_later
    )
    assert created is False and log.id == body["id"]


def test_session_input_is_validated(make):
    _, _, assignment, phone = setup_client(make)
    _, _, foreign_assignment, _ = setup_client(make)
    cases = [
        ({"id": "not-a-uuid"}, "id"),
        ({"assignment_id": foreign_assignment["id"]}, "assignment_id"),
        ({"assignment_id": 999999}, "assignment_id"),
        ({"pain_before": 11}, "pain_before"),
        ({"pain_after": -1}, "pain_after"),
        ({"effort": 5.5}, "effort"),
        ({"pain_after": "3"}, "pain_after"),
        ({"note": "x" * 2001}, "note"),
        ({"completed_items": [99]}, "completed_items"),
        ({"completed_items": "all"}, "completed_items"),
        ({"performed_at": "yesterday"}, "performed_at"),
        ({"mood": "great"}, "mood"),
    ]
    for change, field in cases:
        response = phone.post("/api/sessions", json=session_upload(assignment, **change))
        assert response.status_code == 422, (change, response.get_json())
        assert field in response.get_json()["errors"], (change, response.get_json())
    missing = session_upload(assignment)
    del missing["performed_at"]
    assert phone.post("/api/sessions", json=missing).status_code == 422
    assert phone.get("/api/sessions").get_json() == []


def test_history_between_dates(make):
    therapist, client, assignment, phone = setup_client(make)
    now = datetime.now(UTC)
    ids = []
    for days_ago in (20, 10, 1):
        body = session_upload(assignment, performed_at=(now - timedelta(days=days_ago)).isoformat())
        ids.append(body["id"])
        assert phone.post("/api/sessions", json=body).status_code == 201
    everything = phone.get("/api/sessions").get_json()
    assert [s["id"] for s in everything] == list(reversed(ids))
    first = (now - timedelta(days=15)).date().isoformat()
    last = (now - timedelta(days=5)).date().isoformat()
    window = phone.get(f"/api/sessions?from={first}&to={last}").get_json()
    assert [s["id"] for s in window] == [ids[1]]
    seen_by_therapist = therapist.get(f"/api/clients/{client['id']}/sessions?from={first}").get_json()
    assert [s["id"] for s in seen_by_therapist] == [ids[2], ids[1]]
    assert phone.get(f"/api/sessions?from={last}&to={first}").status_code == 422
    assert phone.get("/api/sessions?from=someday").status_code == 422


def test_local_date_follows_the_clients_time_zone(make):
    _, _, assignment, phone = setup_client(make, tz="Pacific/Auckland")
    # 11:30 UTC is already the next day in Auckland (UTC+12 or +13).
    now = datetime.now(UTC)
    instant = (now - timedelta(days=1)).replace(hour=11, minute=30, second=0, microsecond=0)
    body = session_upload(assignment, performed_at=instant.isoformat(), id=str(uuid.uuid4()))
    stored = phone.post("/api/sessions", json=body).get_json()
    assert stored["local_date"] == (instant.date() + timedelta(days=1)).isoformat()
