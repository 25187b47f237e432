"""Assigning routines, their schedules and lifecycle, and what a client sees today."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import session_upload


def local_today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def test_assign_a_template_with_fixed_days_and_a_note(make):
    therapist = make.therapist()
    client = make.client_of(therapist, tz="America/Los_Angeles")
    template = therapist.get("/api/templates").get_json()[0]
    assignment = make.assignment(
        therapist, client["id"], routine_id=template["id"], weekdays=["fri", "mon"], note="Ease into it"
    )
    assert assignment["weekdays"] == ["mon", "fri"] and assignment["times_per_week"] is None
    assert assignment["title"] == template["name"] and assignment["note"] == "Ease into it"
    assert assignment["status"] == "active"
    assert assignment["start_date"] in {local_today("America/Los_Angeles").isoformat(),
                                        (local_today("America/Los_Angeles") - timedelta(days=1)).isoformat()}
    items = assignment["routine"]["items"]
    assert [i["exercise_id"] for i in items] == [i["exercise"]["id"] for i in template["items"]]
    assert all(i["steps"] and i["dose"] for i in items)
    assert assignment["estimated_minutes"] == template["estimated_minutes"]
    listed = therapist.get(f"/api/clients/{client['id']}/assignments").get_json()
    assert [a["id"] for a in listed] == [assignment["id"]]


def test_default_schedule_comes_from_the_template(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    template = therapist.get("/api/templates").get_json()[0]
    assignment = make.assignment(therapist, client["id"], routine_id=template["id"])
    assert assignment["times_per_week"] == template["frequency_per_week"]
    assert assignment["weekdays"] is None


def test_the_client_keeps_the_routine_they_were_given(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    exercises = therapist.get("/api/exercises").get_json()
    routine = therapist.post(
        "/api/routines", json={"name": "Original", "items": [{"exercise_id": exercises[0]["id"], "note": "v1"}]}
    ).get_json()
    make.assignment(therapist, client["id"], routine_id=routine["id"])
    therapist.put(f"/api/routines/{routine['id']}", json={
        "name": "Changed", "items": [{"exercise_id": exercises[1]["id"], "note": "v2"}],
    })
    phone = make.phone(therapist, client["id"])
    given = phone.get("/api/today").get_json()["items"][0]["assignment"]
    assert given["title"] == "Original"
    assert [(i["exercise_id"], i["note"]) for i in given["routine"]["items"]] == [(exercises[0]["id"], "v1")]
    assert therapist.delete(f"/api/routines/{routine['id']}").status_code == 204
    after_delete = therapist.get(f"/api/clients/{client['id']}/assignments").get_json()[0]
    assert after_delete["routine"] == given["routine"] and after_delete["routine_id"] is None


def test_pause_resume_end(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    assignment = make.assignment(therapist, client["id"], times_per_week=7)
    phone = make.phone(therapist, client["id"])
    path = f"/api/assignments/{assignment['id']}"
    paused = therapist.patch(path, json={"action": "pause"}).get_json()
    assert paused["status"] == "paused"
    assert phone.get("/api/today").get_json()["items"][0]["due"] is False
    assert therapist.patch(path, json={"action": "pause"}).get_json()["status"] == "paused"
    resumed = therapist.patch(path, json={"action": "resume"}).get_json()
    assert resumed["status"] == "active"
    assert phone.get("/api/today").get_json()["items"][0]["due"] is True
    edited = therapist.patch(path, json={"weekdays": ["tue"], "note": "New note", "title": "Hips"}).get_json()
    assert edited["weekdays"] == ["tue"] and edited["times_per_week"] is None and edited["note"] == "New note"
    ended = therapist.patch(path, json={"action": "end"}).get_json()
    assert ended["status"] == "ended" and ended["ended_on"]
    assert phone.get("/api/today").get_json()["items"] == []
    assert therapist.patch(path, json={"action": "end"}).status_code == 200
    assert therapist.patch(path, json={"action": "resume"}).status_code == 409
    assert therapist.patch(path, json={"note": "too late"}).status_code == 409


def test_assignment_input_is_validated(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    template_id = make.template_id(therapist)
    cases = [
        {},
        {"routine_id": template_id, "weekdays": ["mon"], "times_per_week": 3},
        {"routine_id": template_id, "weekdays": ["someday"]},
        {"routine_id": template_id, "weekdays": []},
        {"routine_id": template_id, "times_per_week": 0},
        {"routine_id": template_id, "times_per_week": 8},
        {"routine_id": template_id, "start_date": "2026-02-30"},
        {"routine_id": template_id, "start_date": "2026-03-10", "end_date": "2026-03-01"},
        {"routine_id": template_id, "note": "x" * 2001},
        {"routine_id": "1"},
    ]
    for body in cases:
        response = therapist.post(f"/api/clients/{client['id']}/assignments", json=body)
        assert response.status_code == 422, (body, response.get_json())
    assert therapist.post(f"/api/clients/{client['id']}/assignments", json={"routine_id": 999999}).status_code == 404
    assert therapist.get(f"/api/clients/{client['id']}/assignments").get_json() == []
    assignment = make.assignment(therapist, client["id"])
    for body in ({"action": "explode"}, {"end_date": "2000-01-01"}, {"times_per_week": 9}, {"status": "ended"}):
        response = therapist.patch(f"/api/assignments/{assignment['id']}", json=body)
        assert response.status_code == 422, body
    assert therapist.get(f"/api/clients/{client['id']}/assignments").get_json()[0]["status"] == "active"


def test_today_shows_due_and_done(make):
    therapist = make.therapist()
    client = make.client_of(therapist, tz="Pacific/Auckland")
    daily = make.assignment(therapist, client["id"], times_per_week=7, note="Every day")
    phone = make.phone(therapist, client["id"])
    today = phone.get("/api/today").get_json()
    assert today["timezone"] == "Pacific/Auckland"
    assert today["date"] in {local_today("Pacific/Auckland").isoformat(),
                             (local_today("Pacific/Auckland") - timedelta(days=1)).isoformat()}
    item = today["items"][0]
    assert item["due"] is True and item["done_today"] is False
    assert item["assignment"]["note"] == "Every day"
    assert item["assignment"]["routine"]["items"][0]["illustration_url"].startswith("/illustrations/")
    assert phone.post("/api/sessions", json=session_upload(daily)).status_code == 201
    item = phone.get("/api/today").get_json()["items"][0]
    assert item["due"] is False and item["done_today"] is True and item["done_this_week"] == 1


def test_future_assignments_are_not_shown_yet(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    start = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    make.assignment(therapist, client["id"], start_date=start)
    phone = make.phone(therapist, client["id"])
    assert phone.get("/api/today").get_json()["items"] == []
