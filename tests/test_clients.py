"""Clients, invites, QR codes and client devices."""

import math
import re
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

from sqlalchemy import func, select, update

from server.models import Client, DeviceSession, Invite, SessionLog
from server.orm import utcnow
from server.services.secrets import INVITE_ALPHABET, INVITE_LENGTH
from tests.conftest import session_upload


def test_add_list_update_a_client(make):
    therapist = make.therapist()
    created = therapist.post(
        "/api/clients", json={"name": "  Alex Moss ", "timezone": "America/Los_Angeles", "email": "alex@example.org"}
    )
    assert created.status_code == 201
    client = created.get_json()
    assert client["name"] == "Alex Moss" and client["timezone"] == "America/Los_Angeles"
    assert [c["id"] for c in therapist.get("/api/clients").get_json()] == [client["id"]]
    renamed = therapist.patch(f"/api/clients/{client['id']}", json={"name": "Alex M.", "timezone": "Pacific/Auckland"})
    assert renamed.status_code == 200
    assert therapist.get(f"/api/clients/{client['id']}").get_json()["timezone"] == "Pacific/Auckland"


def test_client_input_is_validated(make):
    therapist = make.therapist()
    cases = [
        {"name": "A"},
        {"timezone": "Europe/London"},
        {"name": "", "timezone": "Europe/London"},
        {"name": "   ", "timezone": "Europe/London"},
        {"name": "A", "timezone": "Europe/Atlantis"},
        {"name": "A", "timezone": "../../etc/passwd"},
        {"name": "A", "timezone": "Europe/London", "email": "not-an-email"},
        {"name": 5, "timezone": "Europe/London"},
        {"name": "A", "timezone": "Europe/London", "is_admin": True},
        {"name": "A" * 121, "timezone": "Europe/London"},
    ]
    for body in cases:
        response = therapist.post("/api/clients", json=body)
        assert response.status_code == 422, body
        assert response.get_json()["errors"], body
    assert therapist.get("/api/clients").get_json() == []
    client = make.client_of(therapist)
    bad_patch = therapist.patch(f"/api/clients/{client['id']}", json={"timezone": "Nowhere/Else"})
    assert bad_patch.status_code == 422
    assert therapist.get(f"/api/clients/{client['id']}").get_json()["timezone"] == "Europe/London"


def test_archive_hides_the_client_and_signs_out_their_phone(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    archived = therapist.patch(f"/api/clients/{client['id']}", json={"archived": True})
    assert archived.get_json()["archived"] is True
    assert therapist.get("/api/clients").get_json() == []
    assert len(therapist.get("/api/clients?include_archived=true").get_json()) == 1
    assert phone.get("/api/today").status_code == 401
    restored = therapist.patch(f"/api/clients/{client['id']}", json={"archived": False})
    assert restored.get_json()["archived"] is False


def test_deleting_a_client_removes_everything_about_them(make, db):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    assignment = make.assignment(therapist, client["id"])
    assert phone.post("/api/sessions", json=session_upload(assignment)).status_code == 201
    assert therapist.delete(f"/api/clients/{client['id']}").status_code == 204
    assert therapist.get(f"/api/clients/{client['id']}").status_code == 404
    assert phone.get("/api/today").status_code == 401
    for model, column in ((Client, Client.id), (SessionLog, SessionLog.client_id),
                          (DeviceSession, DeviceSession.client_id), (Invite, Invite.client_id)):
        count = db.session.scalar(select(func.count()).select_from(model).where(column == client["id"]))
        assert count == 0, model.__name__


def test_invite_codes_are_short_unambiguous_and_strong(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    invite = therapist.post(f"/api/clients/{client['id']}/invites").get_json()
    code = invite["code"]
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code)
    assert set(code.replace("-", "")) <= set(INVITE_ALPHABET)
    assert not set("01ILOUV") & set(INVITE_ALPHABET)
    assert INVITE_LENGTH * math.log2(len(INVITE_ALPHABET)) >= 40
    assert invite["url"] == f"https://limber.test/join/{code}"
    assert invite["expires_at"]


def test_invite_is_stored_hashed_and_expires_in_14_days(make, db):
    therapist = make.therapist()
    client = make.client_of(therapist)
    code = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    invite = db.session.scalar(select(Invite))
    assert code.replace("-", "") not in invite.code_hash and code not in invite.code_hash
    lifetime = invite.expires_at - invite.created_at
    assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)


def test_claiming_signs_the_phone_in_once(make, app):
    therapist = make.therapist("Robin Hands")
    client = make.client_of(therapist, "Kim")
    code = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    phone = app.test_client()
    claimed = phone.post("/api/invites/claim", json={"code": code.lower().replace("-", " ")})
    assert claimed.status_code == 200
    me = claimed.get_json()
    assert me["role"] == "client" and me["client"]["name"] == "Kim"
    assert me["client"]["therapist_name"] == "Robin Hands"
    assert phone.get("/api/today").status_code == 200
    again = app.test_client().post("/api/invites/claim", json={"code": code})
    assert again.status_code == 422


def test_used_expired_unknown_and_malformed_codes_answer_alike(make, db, app):
    therapist = make.therapist()
    client = make.client_of(therapist)
    used = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    assert app.test_client().post("/api/invites/claim", json={"code": used}).status_code == 200
    expired = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    db.session.execute(update(Invite).where(Invite.used_at.is_(None)).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    answers = [
        app.test_client().post("/api/invites/claim", json={"code": code})
        for code in (used, expired, "ABCDE-FGHJK", "0000", "x" * 64)
    ]
    assert {a.status_code for a in answers} == {422}
    assert len({a.get_data() for a in answers}) == 1


def test_a_new_invite_replaces_the_open_one(make, app):
    therapist = make.therapist()
    client = make.client_of(therapist)
    first = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    second = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    assert app.test_client().post("/api/invites/claim", json={"code": first}).status_code == 422
    assert app.test_client().post("/api/invites/claim", json={"code": second}).status_code == 200


def test_qr_code_is_an_svg_of_the_join_link_for_the_therapist_only(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    invite = therapist.post(f"/api/clients/{client['id']}/invites").get_json()
    response = therapist.get(invite["qr_svg_url"])
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    svg = ElementTree.fromstring(response.data)
    assert svg.tag.endswith("svg")
    other = make.therapist()
    assert other.get(invite["qr_svg_url"]).status_code == 404
    assert make.app.test_client().get(invite["qr_svg_url"]).status_code == 401
    assert therapist.get("/api/invites/NOPE/qr.svg").status_code == 404


def test_therapist_sees_and_revokes_client_devices(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    devices = therapist.get(f"/api/clients/{client['id']}/devices").get_json()
    assert len(devices) == 1
    assert therapist.delete(f"/api/clients/{client['id']}/devices/{devices[0]['id']}").status_code == 204
    assert phone.get("/api/today").status_code == 401
    assert therapist.delete(f"/api/clients/{client['id']}/devices/{devices[0]['id']}").status_code == 404


def test_archived_client_cannot_be_invited_or_claimed(make, app):
    therapist = make.therapist()
    client = make.client_of(therapist)
    code = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    therapist.patch(f"/api/clients/{client['id']}", json={"archived": True})
    assert app.test_client().post("/api/invites/claim", json={"code": code}).status_code == 422
    assert therapist.post(f"/api/clients/{client['id']}/invites").status_code == 422
