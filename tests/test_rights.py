"""The audit trail a client sees, data exports, handing a client over, and deleting accounts."""

import csv
import io
import json

from sqlalchemy import func, select

from server.models import AuditEvent, Exercise, Routine, Therapist
from tests.conftest import session_upload
from tests.test_push_api import subscription


def actions(phone) -> list[tuple[str, str]]:
    events = phone.get("/api/me/audit?limit=200").get_json()["events"]
    return [(e["therapist_name"], e["action"]) for e in events]


def test_each_read_and_change_by_the_therapist_is_in_the_clients_trail(make):
    therapist = make.therapist("Dana Reed")
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    before = actions(phone)
    assert before == [("Dana Reed", "invite.create")]
    c = client["id"]
    therapist.get(f"/api/clients/{c}")
    therapist.get(f"/api/clients/{c}/sessions")
    therapist.patch(f"/api/clients/{c}", json={"name": "Sam C."})
    assignment = make.assignment(therapist, c)
    therapist.patch(f"/api/assignments/{assignment['id']}", json={"action": "pause"})
    therapist.get("/api/dashboard")
    therapist.get("/api/clients")
    assert actions(phone)[:7] == [
        ("Dana Reed", "clients.read"),
        ("Dana Reed", "dashboard.read"),
        ("Dana Reed", "assignment.update"),
        ("Dana Reed", "assignment.create"),
        ("Dana Reed", "client.update"),
        ("Dana Reed", "sessions.read"),
        ("Dana Reed", "client.read"),
    ]
    event = phone.get("/api/me/audit").get_json()["events"][0]
    assert event["description"] == "viewed their client list, which includes you"
    assert set(event) == {"id", "at", "therapist_name", "action", "description"}


def test_a_refused_change_leaves_no_audit_row(make, db):
    therapist = make.therapist()
    client = make.client_of(therapist)
    bad = therapist.patch(f"/api/clients/{client['id']}", json={"timezone": "Nowhere/Else"})
    assert bad.status_code == 422
    ended = make.assignment(therapist, client["id"])
    therapist.patch(f"/api/assignments/{ended['id']}", json={"action": "end"})

    def count():
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "assignment.update")
        )

    assert count() == 1
    assert (
        therapist.patch(f"/api/assignments/{ended['id']}", json={"title": "x"}).status_code == 409
    )
    assert count() == 1


def test_another_therapists_overviews_and_foreign_reads_are_not_in_the_trail(make):
    therapist, other = make.therapist("Mine"), make.therapist("Other")
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    other.get("/api/dashboard")
    other.get(f"/api/clients/{client['id']}")  # 404: not theirs
    assert [name for name, _ in actions(phone)] == ["Mine"]


def test_the_trail_is_paged_newest_first(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    for _ in range(5):
        therapist.get(f"/api/clients/{client['id']}")
    first = phone.get("/api/me/audit?limit=4").get_json()
    assert len(first["events"]) == 4 and first["next_before"] == first["events"][-1]["id"]
    second = phone.get(f"/api/me/audit?limit=4&before={first['next_before']}").get_json()
    assert len(second["events"]) == 2 and second["next_before"] is None
    ids = [e["id"] for e in first["events"] + second["events"]]
    assert ids == sorted(ids, reverse=True)
    for bad in ("limit=0", "limit=201", "before=0", "before=x"):
        assert phone.get(f"/api/me/audit?{bad}").status_code == 422, bad


def test_each_role_reaches_only_its_own_endpoints(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    for path in ("/api/me/audit", "/api/me/export"):
        assert therapist.get(path).status_code == 403, path
    assert phone.get("/api/practice/export").status_code == 403
    assert (
        phone.post(
            f"/api/clients/{client['id']}/handover", json={"therapist_email": "x@example.org"}
        ).status_code
        == 403
    )
    anonymous = make.app.test_client()
    for path in ("/api/me/audit", "/api/me/export", "/api/practice/export"):
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.delete("/api/me").status_code == 401


def test_a_client_downloads_everything_held_about_them(make):
    therapist = make.therapist("Dana Reed")
    client = make.client_of(therapist, "Sam Client")
    phone = make.phone(therapist, client["id"])
    assignment = make.assignment(therapist, client["id"], note="Gentle first week")
    phone.post("/api/sessions", json=session_upload(assignment, note='=HYPERLINK("http://evil")'))
    phone.post(
        "/api/sessions", json=session_upload(assignment, note='plain, with "quotes"\nand a line')
    )
    phone.post(
        "/api/push/subscriptions",
        json=subscription("https://fcm.googleapis.com/fcm/send/secret-part"),
    )
    phone.put(
        "/api/reminders",
        json={
            "enabled": True,
            "time": "07:45",
            "weekdays": ["tue"],
            "quiet_start": None,
            "quiet_end": None,
        },
    )
    therapist.post(f"/api/clients/{client['id']}/nudge", json={"message": "Keep it up"})

    response = phone.get("/api/me/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="limber-my-data-'
    )
    data = json.loads(response.get_data())
    assert (
        data["profile"]["name"] == "Sam Client"
        and data["profile"]["therapist"]["name"] == "Dana Reed"
    )
    assert [a["note"] for a in data["assignments"]] == ["Gentle first week"]
    assert data["assignments"][0]["routine"]["items"]
    assert len(data["sessions"]) == 2
    assert data["reminder"]["time"] == "07:45"
    assert [d["label"] for d in data["devices"]] and "token_hash" not in data["devices"][0]
    assert data["push_subscriptions"] == [
        {**data["push_subscriptions"][0], "push_service": "fcm.googleapis.com"}
    ]
    assert data["notifications"][-1]["body"] == "Keep it up"
    assert len(data["invites"]) == 1 and "code_hash" not in data["invites"][0]
    assert {"nudge", "invite.create"} <= {e["action"] for e in data["audit_trail"]}
    raw = response.get_data(as_text=True)
    for secret in ("secret-part", "p256dh", "token_hash", "code_hash", "password"):
        assert secret not in raw, secret


def test_the_logs_as_csv_cannot_run_as_formulas(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    assignment = make.assignment(therapist, client["id"], title="-Hips first")
    notes = ["=1+1", "+SUM(A1)", "-2", "@cmd", 'plain, with "quotes"\nand a line']
    for note in notes:
        phone.post("/api/sessions", json=session_upload(assignment, note=note))
    response = phone.get("/api/me/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(row["note"] for row in rows) == sorted(
        ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", notes[-1]]
    )
    assert {row["routine"] for row in rows} == {"'-Hips first"}
    assert all(row["pain_before"] == "4" for row in rows)
    assert phone.get("/api/me/export?format=xml").status_code == 422


def test_a_therapist_exports_the_whole_practice(make):
    therapist = make.therapist()
    exercise = therapist.post("/api/exercises", json={
        "name": "Own move", "regions": ["hips"], "kind": "mobility", "steps": ["Move."], "dose": {"sets": 1, "reps": 5},
    }).get_json()  # fmt: skip
    routine = therapist.post(
        "/api/routines", json={"name": "Mine", "items": [{"exercise_id": exercise["id"]}]}
    ).get_json()
    for name in ("Ann", "Bo"):
        client = make.client_of(therapist, name)
        phone = make.phone(therapist, client["id"])
        assignment = make.assignment(therapist, client["id"], routine_id=routine["id"])
        phone.post("/api/sessions", json=session_upload(assignment, note=f"{name}'s note"))
    other = make.therapist()
    make.client_of(other, "Not mine")
    response = therapist.get("/api/practice/export")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data())
    assert [c["name"] for c in data["clients"]] == ["Ann", "Bo"]
    assert [e["name"] for e in data["exercises"]] == ["Own move"]
    assert [r["name"] for r in data["routines"]] == ["Mine"]
    assert len(data["assignments"]) == 2 and len(data["sessions"]) == 2
    rows = list(
        csv.DictReader(
            io.StringIO(therapist.get("/api/practice/export?format=csv").get_data(as_text=True))
        )
    )
    assert [(r["client_name"], r["note"]) for r in rows] == [
        ("Ann", "Ann's note"),
        ("Bo", "Bo's note"),
    ]


def test_an_export_is_in_every_clients_trail(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    therapist.get("/api/practice/export")
    assert actions(phone)[0][1] == "export.read"


def test_handover_moves_the_client_with_their_history(make):
    giver, receiver = make.therapist("Giver"), make.therapist("Receiver")
    routine = giver.post("/api/routines", json={"copy_of": make.template_id(giver)}).get_json()
    client = make.client_of(giver)
    phone = make.phone(giver, client["id"])
    assignment = make.assignment(giver, client["id"], routine_id=routine["id"])
    phone.post("/api/sessions", json=session_upload(assignment))
    giver.get("/api/dashboard")
    email = receiver.me["therapist"]["email"]
    assert (
        giver.post(
            f"/api/clients/{client['id']}/handover", json={"therapist_email": email.upper()}
        ).status_code
        == 204
    )
    assert giver.get(f"/api/clients/{client['id']}").status_code == 404
    assert [c["id"] for c in receiver.get("/api/clients").get_json()] == [client["id"]]
    kept = receiver.get(f"/api/clients/{client['id']}/assignments").get_json()
    assert [a["id"] for a in kept] == [assignment["id"]] and kept[0]["routine_id"] is None
    assert kept[0]["routine"] == assignment["routine"]
    assert len(receiver.get(f"/api/clients/{client['id']}/sessions").get_json()) == 1
    assert phone.get("/api/me").get_json()["client"]["therapist_name"] == "Receiver"
    giver.get("/api/dashboard")  # after the handover: not about this client any more
    trail = actions(phone)
    assert ("Giver", "client.handover") in trail
    assert trail.count(("Giver", "dashboard.read")) == 1
    assert trail[0][0] == "Receiver"


def test_handover_needs_a_real_other_therapist(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    own = therapist.me["therapist"]["email"]
    for body in (
        {"therapist_email": "nobody@example.org"},
        {"therapist_email": own},
        {},
        {"therapist_email": ""},
    ):
        response = therapist.post(f"/api/clients/{client['id']}/handover", json=body)
        assert response.status_code == 422, body
    assert therapist.get(f"/api/clients/{client['id']}").status_code == 200


def test_a_therapist_deletes_their_account_once_no_client_is_left(make, db):
    therapist = make.therapist("Leaving")
    therapist_id = therapist.me["therapist"]["id"]
    exercise = therapist.post("/api/exercises", json={
        "name": "Own move", "regions": ["hips"], "kind": "mobility", "steps": ["Move."], "dose": {"sets": 1, "reps": 5},
    }).get_json()  # fmt: skip
    therapist.post(
        "/api/routines", json={"name": "Mine", "items": [{"exercise_id": exercise["id"]}]}
    )
    client = make.client_of(therapist)
    make.phone(therapist, client["id"])
    therapist.patch(f"/api/clients/{client['id']}", json={"archived": True})
    password = "correct horse battery staple"
    assert therapist.delete("/api/me", json={"password": "wrong one"}).status_code == 422
    assert therapist.delete("/api/me").status_code == 422
    refused = therapist.delete("/api/me", json={"password": password})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "archived ones included" in refused.get_json()["detail"]
    assert therapist.delete(f"/api/clients/{client['id']}").status_code == 204
    therapist.get("/api/dashboard")
    deleted = therapist.delete("/api/me", json={"password": password})
    assert deleted.status_code == 204
    assert therapist.get("/api/me").status_code == 401
    assert db.session.get(Therapist, therapist_id) is None
    for model in (Exercise, Routine):
        assert (
            db.session.scalar(
                select(func.count()).select_from(model).where(model.owner_id == therapist_id)
            )
            == 0
        )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.therapist_name == "Leaving")
        )
        == 0
    )
    assert make.template_id(make.therapist())  # the library is untouched


def test_a_handed_over_clients_trail_keeps_the_deleted_therapists_name(make):
    giver, receiver = make.therapist("Former"), make.therapist("Current")
    client = make.client_of(giver)
    phone = make.phone(giver, client["id"])
    giver.get(f"/api/clients/{client['id']}")
    giver.post(
        f"/api/clients/{client['id']}/handover",
        json={"therapist_email": receiver.me["therapist"]["email"]},
    )
    assert (
        giver.delete("/api/me", json={"password": "correct horse battery staple"}).status_code
        == 204
    )
    trail = actions(phone)
    assert ("Former", "client.read") in trail and ("Former", "client.handover") in trail


def test_wrong_passwords_for_deletion_share_the_password_change_lockout(make, app):
    """Deleting the account checks the password like changing it: both count against one
    per-account limit, so neither can be used to guess beside the other."""
    therapist = make.therapist()
    limit = int(app.config["PASSWORD_RATE_LIMIT"].split()[0])
    wrong_change = {"current_password": "wrong", "new_password": "another long passphrase"}
    assert therapist.post("/api/auth/password", json=wrong_change).status_code == 422
    answers = [
        therapist.delete("/api/me", json={"password": "wrong"}).status_code
        for _ in range(limit)
    ]
    assert answers[: limit - 1] == [422] * (limit - 1) and answers[-1] == 429
    locked = therapist.delete("/api/me", json={"password": "correct horse battery staple"})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert therapist.get("/api/me").status_code == 200


def test_a_missing_password_is_not_counted_as_a_guess(make, app):
    therapist = make.therapist()
    limit = int(app.config["PASSWORD_RATE_LIMIT"].split()[0])
    assert [therapist.delete("/api/me", json={}).status_code for _ in range(limit + 1)] == [
        422
    ] * (limit + 1)
    assert therapist.delete("/api/me", json={"password": "wrong"}).status_code == 422


def test_reads_audited_beside_concurrent_writes_never_hit_a_locked_database(make, app, db):
    """GETs write their audit row in a transaction of their own while phones upload and the
    therapist changes things: every request succeeds and every read leaves exactly one row."""
    from concurrent.futures import ThreadPoolExecutor

    therapist = make.therapist()
    client = make.client_of(therapist)
    phone = make.phone(therapist, client["id"])
    assignment = make.assignment(therapist, client["id"])
    cookie = therapist.http.get_cookie("limber_session").value
    phone_cookie = phone.http.get_cookie("limber_session").value
    reads, rounds = ("", "/sessions", "/adherence", "/assignments"), 5

    def browse(_):
        browser = app.test_client()
        browser.set_cookie("limber_session", cookie)
        return [browser.get(f"/api/clients/{client['id']}{p}").status_code for p in reads * rounds]

    def upload(_):
        browser = app.test_client()
        browser.set_cookie("limber_session", phone_cookie)
        headers = {"X-CSRF-Token": phone.csrf}
        return [
            browser.post(
                "/api/sessions", json=session_upload(assignment), headers=headers
            ).status_code
            for _ in range(rounds)
        ]

    with ThreadPoolExecutor(max_workers=6) as pool:
        browsing = [pool.submit(browse, i) for i in range(3)]
        uploading = [pool.submit(upload, i) for i in range(3)]
        statuses = [s for f in browsing for s in f.result()]
        uploads = [s for f in uploading for s in f.result()]
    assert set(statuses) == {200} and set(uploads) == {201}
    read_rows = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("%.read"))
    )
    assert read_rows == len(statuses)
