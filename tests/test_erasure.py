"""Erasure: deleting a client (by themself or by their therapist) leaves no row about them.

The check walks the schema rather than a list of tables, so a table added later is covered: no
foreign key to clients may still hold the client's id, and no text or JSON column anywhere may
still hold their name, email or a note they wrote.
"""

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select

from server.models import AuditEvent, Invite, Notification, PushSubscription, Reminder
from tests.conftest import session_upload
from tests.test_push_api import subscription

NAME = "Zebedee Quillfeather"
EMAIL = "zebedee.quillfeather@example.org"
NOTE = "my-left-knee-clicks-xq7"


def client_with_everything(make):
    """A client with two phones, logs, a subscription, a reminder, a queued notification, an
    unused invite and audit rows; and a second client who must keep everything."""
    therapist = make.therapist()
    client = therapist.post(
        "/api/clients", json={"name": NAME, "timezone": "Europe/London", "email": EMAIL}
    ).get_json()
    phone, other_phone = make.phone(therapist, client["id"]), make.phone(therapist, client["id"])
    assignment = make.assignment(therapist, client["id"], note=f"Therapist note for {NAME}")
    for _ in range(2):
        assert (
            phone.post("/api/sessions", json=session_upload(assignment, note=NOTE)).status_code
            == 201
        )
    assert (
        phone.post(
            "/api/push/subscriptions", json=subscription("https://fcm.googleapis.com/fcm/send/zq")
        ).status_code
        == 201
    )
    reminder = {
        "enabled": True,
        "time": "08:30",
        "weekdays": ["mon", "wed"],
        "quiet_start": None,
        "quiet_end": None,
    }
    assert phone.put("/api/reminders", json=reminder).status_code == 200
    assert (
        therapist.post(
            f"/api/clients/{client['id']}/nudge", json={"message": f"Keep going {NAME}"}
        ).status_code
        == 202
    )
    assert therapist.post(f"/api/clients/{client['id']}/invites").status_code == 201
    for path in ("", "/sessions", "/adherence", "/devices", "/assignments"):
        assert therapist.get(f"/api/clients/{client['id']}{path}").status_code == 200
    assert therapist.get("/api/dashboard").status_code == 200

    bystander = make.client_of(therapist, "Bystander")
    bystander_phone = make.phone(therapist, bystander["id"])
    bystander_plan = make.assignment(therapist, bystander["id"])
    assert (
        bystander_phone.post(
            "/api/sessions", json=session_upload(bystander_plan, note="kept")
        ).status_code
        == 201
    )
    return therapist, client, phone, other_phone, bystander


def assert_nothing_left_about(db, client_id: int):
    db.session.expire_all()
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "clients":
                left = db.session.scalar(
                    select(func.count()).select_from(table).where(fk.parent == client_id)
                )
                assert left == 0, f"{table.name}.{fk.parent.name} still refers to the client"
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            for needle in (NAME, EMAIL, NOTE):
                left = db.session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(cast(column, Text).contains(needle))
                )
                assert left == 0, f"{table.name}.{column.name} still holds {needle!r}"
    assert db.session.get(Reminder, client_id) is None


def assert_the_bystander_keeps_everything(therapist, bystander):
    assert therapist.get(f"/api/clients/{bystander['id']}").status_code == 200
    logs = therapist.get(f"/api/clients/{bystander['id']}/sessions").get_json()
    assert [log["note"] for log in logs] == ["kept"]


def test_a_client_deleting_their_account_leaves_no_row_about_them(make, db):
    therapist, client, phone, other_phone, bystander = client_with_everything(make)
    for model in (PushSubscription, Notification, Invite, AuditEvent):
        count = db.session.scalar(
            select(func.count()).select_from(model).where(model.client_id == client["id"])
        )
        assert count > 0, f"the fixture should have made {model.__name__} rows"
    with pytest.raises(AssertionError):  # the check does see the client while they exist
        assert_nothing_left_about(db, client["id"])
    assert phone.delete("/api/me").status_code == 204
    assert_nothing_left_about(db, client["id"])
    assert phone.get("/api/me").status_code == 401
    assert other_phone.get("/api/today").status_code == 401
    assert therapist.get(f"/api/clients/{client['id']}").status_code == 404
    assert_the_bystander_keeps_everything(therapist, bystander)


def test_a_therapist_deleting_a_client_leaves_no_row_about_them(make, db):
    therapist, client, phone, _, bystander = client_with_everything(make)
    assert therapist.delete(f"/api/clients/{client['id']}").status_code == 204
    assert_nothing_left_about(db, client["id"])
    assert phone.get("/api/today").status_code == 401
    assert_the_bystander_keeps_everything(therapist, bystander)


def test_deleting_oneself_needs_the_csrf_header(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    refused = phone.http.delete("/api/me")
    assert refused.status_code == 403
    assert phone.get("/api/today").status_code == 200


@pytest.mark.parametrize("deleted_by", ["client", "therapist"])
def test_the_cookie_is_cleared_only_for_the_person_deleted(make, deleted_by):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    if deleted_by == "client":
        response = phone.delete("/api/me")
        assert "limber_session=;" in response.headers["Set-Cookie"]
    else:
        response = therapist.delete(f"/api/clients/{client['id']}")
        assert "Set-Cookie" not in response.headers
        assert therapist.get("/api/clients").status_code == 200
    assert response.status_code == 204
