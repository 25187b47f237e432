"""The push API: public key, subscriptions and the endpoint allow-list, reminder settings, nudges,
notification actions, and access control on all of them."""

# ruff: noqa: F811 - the fixtures imported from tests.support.fake_push are redefined as arguments

import base64
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from server.models import Notification, PushSubscription, Reminder, SessionLog
from server.orm import utcnow
from tests.support.fake_push import (  # noqa: F401
    fake_push,
    push_app,
    push_make,
    subscribe,
)

GOOD_HOSTS = [
    "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
    "https://web.push.apple.com/QGj3z1x",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",
]
REFUSED = [
    "http://fcm.googleapis.com/fcm/send/x",  # not https
    "https://evil.example/fcm/send/x",
    "https://fcm.googleapis.com.evil.example/x",
    "https://push.apple.com/x",  # the wildcard is for subdomains
    "https://user@fcm.googleapis.com/x",
    "https://fcm.googleapis.com/x#fragment",
    "https://169.254.169.254/latest/meta-data",
    "http://127.0.0.1:8080/push/x",  # loopback, but not listed
    "http://localhost/push/x",
    "file:///etc/passwd",
    "https://fcm.googleapis.com:99999/x",
    "not a url",
    "https://fcm.googleapis.com/" + "x" * 2100,
]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscription(endpoint: str) -> dict:
    return {"endpoint": endpoint, "expirationTime": None, "keys": _any_device_keys()}


def _any_device_keys() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64(raw), "auth": b64(os.urandom(16))}


@pytest.fixture()
def phone_pair(push_make):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    return therapist, client, push_make.phone(therapist, client["id"])


def test_the_public_key_is_public_and_65_bytes(client):
    response = client.get("/api/push/vapid-public-key")
    assert response.status_code == 200
    key = response.get_json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4


def test_known_push_services_are_accepted_by_default(make):
    therapist = make.therapist()
    phone = make.phone(therapist, make.client_of(therapist)["id"])
    for endpoint in GOOD_HOSTS:
        response = phone.post("/api/push/subscriptions", json=subscription(endpoint))
        assert response.status_code == 201, (endpoint, response.get_json())
    assert len(phone.get("/api/push/subscriptions").get_json()) == len(GOOD_HOSTS)


def test_any_other_endpoint_is_refused_with_422(make, db):
    therapist = make.therapist()
    phone = make.phone(therapist, make.client_of(therapist)["id"])
    for endpoint in REFUSED:
        response = phone.post("/api/push/subscriptions", json=subscription(endpoint))
        assert response.status_code == 422, endpoint
        assert response.mimetype == "application/problem+json"
        assert "endpoint" in response.get_json()["errors"], endpoint
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_push_allowed_hosts_replaces_the_list(another_app):
    from tests.conftest import Factory

    make = Factory(
        another_app(PUSH_ALLOWED_HOSTS="127.0.0.1, *.push.example.org, push.example.net:8443")
    )
    therapist = make.therapist()
    phone = make.phone(therapist, make.client_of(therapist)["id"])
    accepted = ["http://127.0.0.1:5123/push/a", "https://eu.push.example.org/x", "https://push.example.net:8443/x",
                "https://127.0.0.1/push/b"]  # fmt: skip
    refused = ["https://fcm.googleapis.com/fcm/send/x", "http://eu.push.example.org/x", "http://localhost:5123/x",
               "https://push.example.net/x", "http://[::1]:5123/x", "https://push.example.org/x"]  # fmt: skip
    for endpoint in accepted:
        assert (
            phone.post("/api/push/subscriptions", json=subscription(endpoint)).status_code == 201
        ), endpoint
    for endpoint in refused:
        assert (
            phone.post("/api/push/subscriptions", json=subscription(endpoint)).status_code == 422
        ), endpoint


def test_keys_must_be_a_p256_point_and_a_16_byte_secret(make):
    therapist = make.therapist()
    phone = make.phone(therapist, make.client_of(therapist)["id"])
    good = _any_device_keys()
    not_on_curve = b64(b"\x04" + b"\x01" * 64)
    compressed = b64(b"\x02" + os.urandom(32))
    for keys in (
        {**good, "p256dh": not_on_curve}, {**good, "p256dh": compressed}, {**good, "p256dh": good["p256dh"][:-4]},
        {**good, "p256dh": "+/+/" * 22}, {**good, "auth": b64(os.urandom(15))}, {**good, "auth": b64(os.urandom(17))},
        {**good, "auth": "!!!!"}, {"p256dh": good["p256dh"]}, {**good, "extra": "x"}, {**good, "auth": 5},
    ):  # fmt: skip
        body = {"endpoint": GOOD_HOSTS[0], "keys": keys}
        response = phone.post("/api/push/subscriptions", json=body)
        assert response.status_code == 422, keys
    for body in ({}, {"endpoint": GOOD_HOSTS[0]}, {"endpoint": 5, "keys": good}, [], "x"):
        assert phone.post("/api/push/subscriptions", json=body).status_code in (400, 422), body


def test_one_row_per_endpoint_refreshed_and_moved_between_clients(push_make, fake_push, push_app):
    therapist = push_make.therapist()
    first = push_make.client_of(therapist, "First")
    second = push_make.client_of(therapist, "Second")
    phone_one = push_make.phone(therapist, first["id"])
    phone_two = push_make.phone(therapist, second["id"])
    device = fake_push.device()
    created = phone_one.post("/api/push/subscriptions", json=device.subscription_json())
    assert created.status_code == 201
    again = phone_one.post("/api/push/subscriptions", json=device.subscription_json())
    assert again.status_code == 200 and again.get_json()["id"] == created.get_json()["id"]
    moved = phone_two.post("/api/push/subscriptions", json=device.subscription_json())
    assert moved.status_code == 200
    assert phone_one.get("/api/push/subscriptions").get_json() == []
    assert [s["endpoint"] for s in phone_two.get("/api/push/subscriptions").get_json()] == [
        device.endpoint
    ]
    # Another client cannot remove it; its own client can, and again is fine.
    assert (
        phone_one.delete("/api/push/subscriptions", json={"endpoint": device.endpoint}).status_code
        == 204
    )
    assert len(phone_two.get("/api/push/subscriptions").get_json()) == 1
    assert (
        phone_two.delete("/api/push/subscriptions", json={"endpoint": device.endpoint}).status_code
        == 204
    )
    assert (
        phone_two.delete("/api/push/subscriptions", json={"endpoint": device.endpoint}).status_code
        == 204
    )
    assert phone_two.get("/api/push/subscriptions").get_json() == []


def test_a_client_keeps_at_most_ten_phones(make):
    therapist = make.therapist()
    phone = make.phone(therapist, make.client_of(therapist)["id"])
    endpoints = [f"https://fcm.googleapis.com/fcm/send/phone-{i}" for i in range(12)]
    for endpoint in endpoints:
        assert phone.post("/api/push/subscriptions", json=subscription(endpoint)).status_code == 201
    kept = {s["endpoint"] for s in phone.get("/api/push/subscriptions").get_json()}
    assert kept == set(endpoints[2:])  # the two seen longest ago were dropped


def test_reminder_settings_default_then_saved(phone_pair, fake_push):
    _, _, phone = phone_pair
    defaults = phone.get("/api/reminders").get_json()
    assert defaults["enabled"] is True and defaults["time"] == "18:00"
    assert defaults["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert defaults["timezone"] == "Europe/London" and defaults["quiet_start"] is None
    body = {
        "enabled": True,
        "time": "07:45",
        "weekdays": ["mon", "wed", "fri"],
        "quiet_start": "22:00",
        "quiet_end": "07:00",
    }
    saved = phone.put("/api/reminders", json=body)
    assert saved.status_code == 200, saved.get_json()
    assert {k: saved.get_json()[k] for k in body} == body
    assert phone.get("/api/reminders").get_json() == saved.get_json()
    off = phone.put("/api/reminders", json={**body, "enabled": False}).get_json()
    assert off["enabled"] is False and off["next_reminder_at"] is None


def test_reminder_settings_are_validated(phone_pair):
    _, _, phone = phone_pair
    base = {"enabled": True, "time": "18:00", "weekdays": ["mon"]}
    for body in (
        {**base, "time": "25:00"}, {**base, "time": "6pm"}, {**base, "time": "18:00:00"}, {**base, "time": 1800},
        {**base, "weekdays": []}, {**base, "weekdays": ["funday"]}, {**base, "quiet_start": "22:00"},
        {**base, "quiet_start": "22:00", "quiet_end": "22:00"},
        {**base, "time": "23:00", "quiet_start": "22:00", "quiet_end": "07:00"},  # inside quiet hours
        {**base, "time": "06:59", "quiet_start": "22:00", "quiet_end": "07:00"},
        {**base, "snooze": True}, {"time": "18:00"},
    ):  # fmt: skip
        response = phone.put("/api/reminders", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["errors"], body
    assert (
        phone.put(
            "/api/reminders",
            json={**base, "time": "07:00", "quiet_start": "22:00", "quiet_end": "07:00"},
        ).status_code
        == 200
    )


def test_reminders_are_for_clients_only(push_make, client):
    therapist = push_make.therapist()
    assert therapist.get("/api/reminders").status_code == 403
    assert client.get("/api/reminders").status_code == 401
    assert client.post("/api/push/subscriptions", json={}).status_code == 401


def test_new_routine_is_queued_in_the_same_transaction(push_make, fake_push, db):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    phone = push_make.phone(therapist, client["id"])
    subscribe(phone, fake_push.device())
    subscribe(phone, fake_push.device())
    assignment = push_make.assignment(therapist, client["id"])
    rows = db.session.scalars(
        select(Notification).where(Notification.client_id == client["id"])
    ).all()
    assert len(rows) == 2 and {r.kind for r in rows} == {"new_routine"}
    assert len({r.message_id for r in rows}) == 1 and rows[0].status == "queued"
    assert assignment["title"] in rows[0].payload["notification"]["body"]
    assert rows[0].topic == f"routine-{client['id']}"
    # A refused assignment (bad routine) leaves no notification behind.
    assert (
        therapist.post(
            f"/api/clients/{client['id']}/assignments", json={"routine_id": 987654}
        ).status_code
        == 404
    )
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_nudge_at_most_once_an_hour(push_make, fake_push, db):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    phone = push_make.phone(therapist, client["id"])
    none_yet = therapist.post(f"/api/clients/{client['id']}/nudge", json={})
    assert none_yet.status_code == 202 and none_yet.get_json()["devices"] == 0
    subscribe(phone, fake_push.device())
    sent = therapist.post(
        f"/api/clients/{client['id']}/nudge", json={"message": "Keep going, Sam!"}
    )
    assert sent.status_code == 202 and sent.get_json()["devices"] == 1
    again = therapist.post(f"/api/clients/{client['id']}/nudge", json={})
    assert again.status_code == 429 and again.mimetype == "application/problem+json"
    assert 3000 < int(again.headers["Retry-After"]) <= 3600
    row = db.session.scalar(select(Notification).where(Notification.kind == "nudge"))
    assert row.payload["notification"]["body"] == "Keep going, Sam!"
    db.session.execute(update(Notification).values(created_at=utcnow() - timedelta(minutes=61)))
    db.session.commit()
    assert therapist.post(f"/api/clients/{client['id']}/nudge", json={}).status_code == 202
    for body in ({"message": "x" * 201}, {"message": 5}, {"other": 1}):
        assert therapist.post(f"/api/clients/{client['id']}/nudge", json=body).status_code == 422


def _reminder_notification(push_app, client_id: int) -> str:
    """Queue a reminder for the client through the real scan; returns its notification id."""
    from server.extensions import db
    from server.push import reminders

    with push_app.app_context():
        now = utcnow()
        db.session.execute(update(Reminder).where(Reminder.client_id == client_id).values(
            regular_at=now - timedelta(seconds=1), next_fire_at=now - timedelta(seconds=1),
            local_time=now.astimezone(ZoneInfo("Europe/London")).time().replace(second=0, microsecond=0),
        ))  # fmt: skip
        db.session.commit()
        reminders.scan_due(now)
        return db.session.scalar(
            select(Notification.message_id).where(
                Notification.client_id == client_id, Notification.kind.in_(["reminder", "missed"])
            )
        )


def test_done_logs_todays_routine_once(push_make, push_app, fake_push, db):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    phone = push_make.phone(therapist, client["id"])
    subscribe(phone, fake_push.device())
    push_make.assignment(
        therapist, client["id"], weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    notification_id = _reminder_notification(push_app, client["id"])
    assert notification_id
    done = phone.post(f"/api/notifications/{notification_id}/actions", json={"action": "done"})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["action"] == "done" and body["already_done"] is False
    session = body["session"]
    again = phone.post(f"/api/notifications/{notification_id}/actions", json={"action": "done"})
    assert again.status_code == 200 and again.get_json()["session"]["id"] == session["id"]
    assert again.get_json()["already_done"] is True
    assert db.session.scalar(select(func.count()).select_from(SessionLog)) == 1
    today = phone.get("/api/today").get_json()
    assert today["items"][0]["done_today"] is True and today["items"][0]["due"] is False


def test_snooze_brings_the_reminder_back_in_an_hour(push_make, push_app, fake_push, db):
    from server.push import reminders

    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    phone = push_make.phone(therapist, client["id"])
    subscribe(phone, fake_push.device())
    push_make.assignment(
        therapist, client["id"], weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    notification_id = _reminder_notification(push_app, client["id"])
    before = utcnow()
    snoozed = phone.post(f"/api/notifications/{notification_id}/actions", json={"action": "snooze"})
    assert snoozed.status_code == 200, snoozed.get_json()
    until = datetime.fromisoformat(snoozed.get_json()["snoozed_until"])
    assert before + timedelta(minutes=59) < until <= utcnow() + timedelta(hours=1)
    assert phone.get("/api/reminders").get_json()["snoozed_until"] is not None
    count = db.session.scalar(select(func.count()).select_from(Notification))
    reminders.scan_due(until - timedelta(seconds=1))
    assert db.session.scalar(select(func.count()).select_from(Notification)) == count
    reminders.scan_due(until + timedelta(seconds=1))
    assert db.session.scalar(select(func.count()).select_from(Notification)) == count + 1
    db.session.remove()
    assert phone.get("/api/reminders").get_json()["snoozed_until"] is None


def test_actions_are_validated_and_scoped(push_make, push_app, fake_push):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    phone = push_make.phone(therapist, client["id"])
    subscribe(phone, fake_push.device())
    push_make.assignment(
        therapist, client["id"], weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    notification_id = _reminder_notification(push_app, client["id"])
    for body in ({"action": "explode"}, {}, {"action": "done", "x": 1}, {"action": 1}):
        assert (
            phone.post(f"/api/notifications/{notification_id}/actions", json=body).status_code
            == 422
        )
    assert (
        phone.post("/api/notifications/not-a-uuid/actions", json={"action": "done"}).status_code
        == 404
    )
    missing = phone.post(
        "/api/notifications/00000000-0000-4000-8000-000000000000/actions", json={"action": "done"}
    )
    assert missing.status_code == 404
    assert (
        therapist.post(
            f"/api/notifications/{notification_id}/actions", json={"action": "done"}
        ).status_code
        == 403
    )


def test_done_with_nothing_planned_is_a_409(push_make, push_app, fake_push, db):
    from server.push import outbox

    therapist = push_make.therapist()
    client = push_make.client_of(therapist)
    phone = push_make.phone(therapist, client["id"])
    subscribe(phone, fake_push.device())
    with push_app.app_context():
        message_id = outbox.enqueue(
            client["id"], "nudge", title="T", body="B", now=utcnow(), timezone="Europe/London"
        )
        db.session.commit()
    response = phone.post(f"/api/notifications/{message_id}/actions", json={"action": "done"})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"


def test_another_therapist_or_client_reaches_nothing(push_make, push_app, fake_push):
    """The access walk for the push routes with ids (listed in test_access_matrix)."""
    owner = push_make.therapist()
    victim = push_make.client_of(owner)
    victim_phone = push_make.phone(owner, victim["id"])
    subscribe(victim_phone, fake_push.device())
    push_make.assignment(
        owner, victim["id"], weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    notification_id = _reminder_notification(push_app, victim["id"])
    attacker = push_make.therapist()
    attacker_client = push_make.client_of(attacker)
    attacker_phone = push_make.phone(attacker, attacker_client["id"])
    foreign = attacker.post(f"/api/clients/{victim['id']}/nudge", json={})
    missing = attacker.post("/api/clients/987654/nudge", json={})
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_data() == missing.get_data()
    foreign = attacker_phone.post(
        f"/api/notifications/{notification_id}/actions", json={"action": "done"}
    )
    missing = attacker_phone.post(
        "/api/notifications/00000000-0000-4000-8000-000000000000/actions", json={"action": "done"}
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_data() == missing.get_data()
    assert attacker_phone.post(f"/api/clients/{victim['id']}/nudge", json={}).status_code == 403
    assert victim_phone.get("/api/today").get_json()["items"][0]["done_today"] is False


def test_push_routes_are_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths["/api/push/vapid-public-key"])
    assert {"get", "post", "delete"} <= set(paths["/api/push/subscriptions"])
    assert {"get", "put"} <= set(paths["/api/reminders"])
    assert "429" in paths["/api/clients/{client_id}/nudge"]["post"]["responses"]
    assert "post" in paths["/api/notifications/{notification_id}/actions"]
