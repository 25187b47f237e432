"""The hand-built answers of the hot paths equal what their documented schemas would dump."""

from datetime import UTC, date, datetime, timedelta

from server.models import Assignment, Client, Therapist
from server.schemas.programs import (
    AdherenceSummarySchema,
    AssignmentSchema,
    TodaySchema,
    adherence_summary_json,
    assignment_json,
    today_json,
)
from server.services import adherence, assignments
from tests.conftest import session_upload


def test_today_json_equals_the_schema_dump(make, db):
    therapist = make.therapist()
    client = make.client_of(therapist, tz="Pacific/Auckland")
    fixed = make.assignment(therapist, client["id"], weekdays=["mon", "thu"], note="Fixed days")
    weekly = make.assignment(therapist, client["id"], times_per_week=7,
                             end_date=(date.today() + timedelta(days=30)).isoformat())
    phone = make.phone(therapist, client["id"])
    phone.post("/api/sessions", json=session_upload(weekly))
    today = assignments.today_for_client(db.session.get(Client, client["id"]))
    assert len(today.items) == 2
    assert today_json(today) == TodaySchema().dump(today)
    assert phone.get("/api/today").get_json() == TodaySchema().dump(today)
    stored = db.session.get(Assignment, fixed["id"])
    assert assignment_json(stored) == AssignmentSchema().dump(stored)


def test_dashboard_json_equals_the_schema_dump(make, db):
    therapist = make.therapist()
    for name in ("Ann", "Bo", "Cy"):
        client = make.client_of(therapist, name)
        assignment = make.assignment(therapist, client["id"], times_per_week=3)
        if name != "Cy":
            make.phone(therapist, client["id"]).post("/api/sessions", json=session_upload(assignment, pain_after=8))
    summaries = adherence.dashboard(db.session.get(Therapist, therapist.me["therapist"]["id"]))
    assert len(summaries) == 3 and any(s.flags for s in summaries)
    for summary in summaries:
        assert adherence_summary_json(summary) == AdherenceSummarySchema().dump(summary)
    api = therapist.get("/api/dashboard").get_json()["clients"]
    assert api == [AdherenceSummarySchema().dump(s) for s in summaries]


def test_empty_values_match_too(make, db):
    therapist = make.therapist()
    make.client_of(therapist, "Empty")
    summary = adherence.dashboard(db.session.get(Therapist, therapist.me["therapist"]["id"]),
                                  now=datetime.now(UTC))[0]
    assert summary.last_session_at is None and summary.last_7.ratio is None
    assert adherence_summary_json(summary) == AdherenceSummarySchema().dump(summary)
