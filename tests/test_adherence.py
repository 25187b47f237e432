"""Adherence, pain trends, flags and the dashboard, at fixed instants in the clients' zones."""

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.models import Client, Therapist
from server.schemas.programs import SessionLogInSchema
from server.services import adherence, session_logs


class Practice:
    """A therapist with clients, working at a chosen instant rather than the wall clock."""

    def __init__(self, make, db):
        self.make, self.db = make, db
        self.api = make.therapist()
        self.therapist = db.session.get(Therapist, self.api.me["therapist"]["id"])

    def client(self, name: str, tz: str, start: date, **schedule) -> tuple[Client, dict]:
        client = self.make.client_of(self.api, name, tz)
        assignment = self.make.assignment(self.api, client["id"], start_date=start.isoformat(), **schedule)
        return self.db.session.get(Client, client["id"]), assignment

    def log(self, client: Client, assignment: dict, local: datetime, pain_after: int | None = 3) -> None:
        performed = local.replace(tzinfo=ZoneInfo(client.timezone))
        body = {
            "id": str(uuid.uuid4()),
            "assignment_id": assignment["id"],
            "performed_at": performed.isoformat(),
            "completed_items": [0],
            "pain_after": pain_after,
        }
        _, created = session_logs.record_session(
            client, SessionLogInSchema().load(body), now=performed.astimezone(UTC) + timedelta(hours=1)
        )
        assert created


def at(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def test_done_versus_planned_for_fixed_days(make, db):
    practice = Practice(make, db)
    start = date(2026, 3, 2)  # Monday
    client, assignment = practice.client("Mo", "Europe/London", start, weekdays=["mon", "wed", "fri"])
    for day in (2, 4, 6, 9, 11):  # misses Friday the 13th
        practice.log(client, assignment, datetime(2026, 3, day, 18, 0))
    now = at("Europe/London", 2026, 3, 15, 12, 0)
    summary = adherence.client_adherence(practice.therapist, client.id, now=now)
    assert (summary.last_7.done, summary.last_7.planned) == (2, 3)
    assert summary.last_7.ratio == round(2 / 3, 3)
    assert (summary.last_28.done, summary.last_28.planned) == (5, 6)
    assert summary.streak == 0  # Friday was planned and missed
    assert summary.flags == []
    assert summary.last_session_at == at("Europe/London", 2026, 3, 11, 18, 0)


def test_auckland_and_los_angeles_count_their_own_days(make, db):
    practice = Practice(make, db)
    start = date(2026, 3, 1)
    auckland, a_plan = practice.client("Ana", "Pacific/Auckland", start, times_per_week=7)
    los_angeles, l_plan = practice.client("Lou", "America/Los_Angeles", start, times_per_week=7)
    # The same instant, 2026-03-10 11:30 UTC, is the 11th in Auckland and the 10th in LA.
    instant = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
    practice.log(auckland, a_plan, instant.astimezone(ZoneInfo("Pacific/Auckland")).replace(tzinfo=None))
    practice.log(los_angeles, l_plan, instant.astimezone(ZoneInfo("America/Los_Angeles")).replace(tzinfo=None))
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    a = adherence.client_adherence(practice.therapist, auckland.id, now=now)
    la = adherence.client_adherence(practice.therapist, los_angeles.id, now=now)
    assert a.today == date(2026, 3, 11) and la.today == date(2026, 3, 10)
    assert [p["date"] for p in a.pain_trend] == [date(2026, 3, 11)]
    assert [p["date"] for p in la.pain_trend] == [date(2026, 3, 10)]
    assert a.streak == 1 and la.streak == 1
    # Auckland has had 11 active days, LA 10: daily plans ask for 7 in the last week either way.
    assert a.last_7.planned == la.last_7.planned == 7


def test_dst_change_day_is_one_day(make, db):
    practice = Practice(make, db)
    client, assignment = practice.client("Dee", "America/Los_Angeles", date(2026, 3, 1), times_per_week=7)
    # 01:30 PST and 03:30 PDT on 8 March 2026, either side of the clocks going forward.
    practice.log(client, assignment, datetime(2026, 3, 8, 1, 30))
    practice.log(client, assignment, datetime(2026, 3, 8, 3, 30))
    practice.log(client, assignment, datetime(2026, 3, 7, 23, 30))
    now = at("America/Los_Angeles", 2026, 3, 8, 22, 0)
    summary = adherence.client_adherence(practice.therapist, client.id, now=now)
    assert summary.last_7.done == 2  # the 7th and the 8th
    assert summary.streak == 2
    assert [p["sessions"] for p in summary.pain_trend] == [1, 2]


def test_pain_rising_against_the_first_week(make, db):
    practice = Practice(make, db)
    client, assignment = practice.client("Pat", "Europe/London", date(2026, 3, 2), times_per_week=3)
    for day, pain in ((2, 2), (4, 2), (6, 3)):
        practice.log(client, assignment, datetime(2026, 3, day, 18), pain_after=pain)
    for day, pain in ((16, 4), (18, 5), (20, 5)):
        practice.log(client, assignment, datetime(2026, 3, day, 18), pain_after=pain)
    summary = adherence.client_adherence(practice.therapist, client.id, now=at("Europe/London", 2026, 3, 21, 9))
    assert summary.first_week_pain_after == 2.3
    assert summary.latest_week_pain_after == 4.7
    assert summary.flags == ["pain_rising"]


def test_high_pain_is_flagged_even_without_a_rise(make, db):
    practice = Practice(make, db)
    client, assignment = practice.client("Hi", "Europe/London", date(2026, 3, 2), times_per_week=3)
    practice.log(client, assignment, datetime(2026, 3, 2, 18), pain_after=7)
    summary = adherence.client_adherence(practice.therapist, client.id, now=at("Europe/London", 2026, 3, 3, 9))
    assert "pain_rising" in summary.flags


def test_inactive_and_never_started(make, db):
    practice = Practice(make, db)
    quiet, quiet_plan = practice.client("Quiet", "Europe/London", date(2026, 3, 2), times_per_week=3)
    practice.log(quiet, quiet_plan, datetime(2026, 3, 3, 18))
    practice.client("Never", "Europe/London", date(2026, 3, 2), times_per_week=3)
    busy, busy_plan = practice.client("Busy", "Europe/London", date(2026, 3, 2), times_per_week=3)
    for day in (3, 5, 7, 9):
        practice.log(busy, busy_plan, datetime(2026, 3, day, 18))
    now = at("Europe/London", 2026, 3, 9, 20)
    board = adherence.dashboard(practice.therapist, now=now)
    assert [(s.client.name, s.flags) for s in board] == [
        ("Quiet", ["inactive"]),
        ("Never", ["never_started"]),
        ("Busy", []),
    ]
    # Four days without a session is not yet inactive.
    assert adherence.client_adherence(practice.therapist, quiet.id, now=at("Europe/London", 2026, 3, 7, 20)).flags == []


def test_dashboard_through_the_api_sorts_flagged_first(make):
    therapist = make.therapist()
    fine = make.client_of(therapist, "Fine")
    never = make.client_of(therapist, "Never")
    for client in (fine, never):
        make.assignment(therapist, client["id"], times_per_week=7)
    phone = make.phone(therapist, fine["id"])
    assignment = therapist.get(f"/api/clients/{fine['id']}/assignments").get_json()[0]
    from tests.conftest import session_upload

    assert phone.post("/api/sessions", json=session_upload(assignment)).status_code == 201
    board = therapist.get("/api/dashboard").get_json()["clients"]
    assert [c["client"]["name"] for c in board] == ["Never", "Fine"]
    assert board[0]["flags"] == ["never_started"]
    assert board[1]["last_7"]["done"] == 1
    detail = therapist.get(f"/api/clients/{fine['id']}/adherence").get_json()
    assert detail["streak"] == 1 and detail["pain_trend"][0]["pain_after"] == 3.0


def test_the_dashboard_cache_never_serves_a_stale_answer(make, db):
    practice = Practice(make, db)
    client, assignment = practice.client("Cache", "Europe/London", date(2026, 3, 2), times_per_week=3)
    now = at("Europe/London", 2026, 3, 9, 20)
    first = adherence.dashboard(practice.therapist, now=now)
    assert adherence.dashboard(practice.therapist, now=now) is first  # nothing changed: reused
    assert first[0].flags == ["never_started"]
    practice.log(client, assignment, datetime(2026, 3, 9, 18))
    logged = adherence.dashboard(practice.therapist, now=now)
    assert logged is not first and logged[0].flags == [] and logged[0].last_7.done == 1
    practice.api.patch(f"/api/assignments/{assignment['id']}", json={"action": "pause"})
    paused = adherence.dashboard(practice.therapist, now=now)
    assert paused is not logged and paused[0].active_assignments == 0
    practice.api.patch(f"/api/clients/{client.id}", json={"timezone": "Pacific/Auckland"})
    moved = adherence.dashboard(practice.therapist, now=now)
    assert moved is not paused and moved[0].today == date(2026, 3, 10)
    a_minute_later = adherence.dashboard(practice.therapist, now=now + timedelta(minutes=1))
    assert a_minute_later is not moved
