"""Reminders: local times across DST changes and time zone moves, skipped when done, no pile-up
after a week offline, quiet hours, the gentle note after two missed days, and a scan that reads
only what is due."""

# ruff: noqa: F811 - the fixtures imported from tests.support.fake_push are redefined as arguments

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from server.extensions import db
from server.models import Client, Notification, Reminder
from server.orm import utcnow
from server.push import reminders
from server.push.schedule import after_quiet_hours, in_quiet_hours, local_instant, next_regular
from server.push.setup import make_sender
from server.push.worker import Worker
from server.services import push as push_service
from tests.conftest import session_upload
from tests.support.fake_push import fake_push, push_app, push_make, subscribe  # noqa: F401

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
UTC = ZoneInfo("UTC")


def transitions(zone_name: str) -> tuple[date, date]:
    """The next spring-forward and fall-back days of a zone, whatever today is."""
    zone = ZoneInfo(zone_name)
    spring = autumn = None
    day = utcnow().date() + timedelta(days=3)
    while spring is None or autumn is None:
        before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        if after > before and spring is None:
            spring = day
        if after < before and autumn is None:
            autumn = day
        day += timedelta(days=1)
    return spring, autumn


def client_with_phone(
    push_make, fake_push, tz: str, *, weekdays=EVERY_DAY, start: date | None = None
):
    therapist = push_make.therapist()
    client = push_make.client_of(therapist, tz=tz)
    phone = push_make.phone(therapist, client["id"])
    device = fake_push.device()
    subscribe(phone, device)
    fields = {"weekdays": weekdays}
    if start is not None:
        fields["start_date"] = start.isoformat()
    push_make.assignment(therapist, client["id"], **fields)
    return therapist, client, phone, device


def set_reminder(push_app, client_id: int, at: str, now: datetime, **settings) -> None:
    hours, minutes = map(int, at.split(":"))
    data = {"enabled": True, "time": time(hours, minutes), "weekdays": list(range(7)),
            "quiet_start": None, "quiet_end": None, **settings}  # fmt: skip
    with push_app.app_context():
        push_service.update_reminder_settings(db.session.get(Client, client_id), data, now)


def scan_between(push_app, start: datetime, end: datetime, step: timedelta) -> None:
    with push_app.app_context():
        now = start
        while now < end:
            reminders.scan_due(now)
            now += step


def sent(push_app, client_id: int, kinds=("reminder", "missed")) -> list[Notification]:
    with push_app.app_context():
        found = list(
            db.session.scalars(
                select(Notification)
                .where(Notification.client_id == client_id, Notification.kind.in_(kinds))
                .order_by(Notification.created_at)
            )
        )
        db.session.expunge_all()
        return found


@pytest.mark.parametrize("zone_name", ["Europe/London", "America/New_York"])
def test_next_regular_is_once_a_day_across_dst_changes(zone_name):
    zone = ZoneInfo(zone_name)
    for change in transitions(zone_name):
        for at in (time(0, 30), time(1, 30), time(2, 30), time(3, 0), time(18, 0)):
            fired, instant, day = (
                [],
                datetime.combine(change - timedelta(days=2), time(12), tzinfo=zone),
                None,
            )
            after = change - timedelta(days=2)
            for _ in range(4):
                instant = next_regular(zone, at, list(range(7)), after, instant)
                fired.append(instant)
                after = instant.astimezone(zone).date()
            days = [f.astimezone(zone).date() for f in fired]
            assert days == [change - timedelta(days=1) + timedelta(days=i) for i in range(4)], (
                change,
                at,
            )
            for instant, day in zip(fired, days, strict=True):
                local = instant.astimezone(zone)
                # The chosen wall-clock time, or just after a gap (spring forward) on that day only.
                assert local.time().replace(tzinfo=None) == at or (
                    day == change and local.hour == at.hour + 1
                )


@pytest.mark.parametrize("zone_name", ["Europe/London", "America/New_York"])
def test_reminders_fire_once_each_day_around_dst_changes(push_app, push_make, fake_push, zone_name):
    zone = ZoneInfo(zone_name)
    step = timedelta(minutes=10)
    for change in transitions(zone_name):
        clients = {}
        for at in ("01:30", "02:30", "18:00"):
            _, client, _, _ = client_with_phone(
                push_make, fake_push, zone_name, start=change - timedelta(days=3)
            )
            clients[at] = client["id"]
            set_reminder(
                push_app, client["id"], at, local_instant(change - timedelta(days=1), time(0), zone)
            )
        start = local_instant(change - timedelta(days=1), time(0), zone)
        end = local_instant(change + timedelta(days=2), time(0), zone)
        scan_between(push_app, start, end, step)
        for at, client_id in clients.items():
            rows = sent(push_app, client_id)
            days = Counter(row.created_at.astimezone(zone).date() for row in rows)
            expected_days = [change - timedelta(days=1), change, change + timedelta(days=1)]
            assert days == Counter(expected_days), (zone_name, change, at, days)
            hours, minutes = map(int, at.split(":"))
            for row, day in zip(rows, expected_days, strict=True):
                due_at = local_instant(day, time(hours, minutes), zone)
                assert due_at <= row.created_at < due_at + step, (at, day, row.created_at)


def test_moving_time_zone_moves_the_reminder(push_make, fake_push, push_app):
    therapist, client, phone, _ = client_with_phone(push_make, fake_push, "Europe/London")
    before = phone.get("/api/reminders").get_json()
    assert before["timezone"] == "Europe/London"
    assert (
        therapist.patch(
            f"/api/clients/{client['id']}", json={"timezone": "Pacific/Auckland"}
        ).status_code
        == 200
    )
    after = phone.get("/api/reminders").get_json()
    assert after["timezone"] == "Pacific/Auckland"
    next_at = datetime.fromisoformat(after["next_reminder_at"])
    local = next_at.astimezone(ZoneInfo("Pacific/Auckland"))
    assert local.time().replace(tzinfo=None) == time(18, 0)
    assert utcnow() < next_at <= utcnow() + timedelta(days=1)


def test_moving_east_gets_the_reminder_at_the_new_local_time(push_make, fake_push, push_app):
    therapist, client, phone, _ = client_with_phone(push_make, fake_push, "Europe/London")
    assert (
        therapist.patch(f"/api/clients/{client['id']}", json={"timezone": "Asia/Tokyo"}).status_code
        == 200
    )
    next_at = datetime.fromisoformat(phone.get("/api/reminders").get_json()["next_reminder_at"])
    scan_between(
        push_app,
        next_at - timedelta(minutes=30),
        next_at + timedelta(minutes=30),
        timedelta(minutes=10),
    )
    [row] = sent(push_app, client["id"])
    tokyo = row.created_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert time(18, 0) <= tokyo.time().replace(tzinfo=None) < time(18, 10)


def test_a_zone_changed_behind_the_orms_back_is_noticed_by_the_scan(push_make, fake_push, push_app):
    """The scan itself checks the zone: London's 18:00 comes, it moves to New York's 18:00."""
    _, client, _, _ = client_with_phone(push_make, fake_push, "Europe/London")
    london, new_york = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
    day = utcnow().astimezone(london).date() + timedelta(days=1)
    set_reminder(push_app, client["id"], "18:00", local_instant(day, time(0), london))
    with push_app.app_context():
        db.session.execute(
            text("UPDATE clients SET timezone = 'America/New_York' WHERE id = :id"),
            {"id": client["id"]},
        )
        db.session.commit()
    scan_between(
        push_app,
        local_instant(day, time(17), london),
        local_instant(day, time(19), new_york),
        timedelta(minutes=10),
    )
    [row] = sent(push_app, client["id"])
    local = row.created_at.astimezone(new_york)
    assert local.date() == day and time(18) <= local.time().replace(tzinfo=None) < time(18, 10)


def test_no_reminder_when_todays_routine_is_done(push_make, fake_push, push_app):
    london = ZoneInfo("Europe/London")
    today = utcnow().astimezone(london).date()
    midnight = local_instant(today, time(0), london)
    _, done_client, done_phone, _ = client_with_phone(push_make, fake_push, "Europe/London")
    _, other_client, _, _ = client_with_phone(push_make, fake_push, "Europe/London")
    assignment = done_phone.get("/api/today").get_json()["items"][0]["assignment"]
    assert done_phone.post("/api/sessions", json=session_upload(assignment)).status_code == 201
    for client in (done_client, other_client):
        set_reminder(push_app, client["id"], "12:00", midnight)
    scan_between(
        push_app,
        local_instant(today, time(12), london),
        local_instant(today, time(12, 30), london),
        timedelta(minutes=5),
    )
    assert sent(push_app, done_client["id"]) == []
    assert len(sent(push_app, other_client["id"])) == 1


def test_no_reminder_on_days_with_nothing_planned_or_when_switched_off(
    push_make, fake_push, push_app
):
    london = ZoneInfo("Europe/London")
    monday = utcnow().astimezone(london).date() + timedelta(
        days=7 - utcnow().astimezone(london).weekday()
    )
    _, client, _, _ = client_with_phone(push_make, fake_push, "Europe/London", weekdays=["mon"])
    _, off_client, _, _ = client_with_phone(push_make, fake_push, "Europe/London")
    set_reminder(push_app, client["id"], "18:00", local_instant(monday, time(0), london))
    set_reminder(
        push_app, off_client["id"], "18:00", local_instant(monday, time(0), london), enabled=False
    )
    scan_between(
        push_app,
        local_instant(monday, time(17), london),
        local_instant(monday + timedelta(days=3), time(0), london),
        timedelta(minutes=30),
    )
    assert [r.created_at.astimezone(london).date() for r in sent(push_app, client["id"])] == [
        monday
    ]
    assert sent(push_app, off_client["id"]) == []


def test_a_phone_offline_for_a_week_gets_one_reminder(push_make, fake_push, push_app):
    london = ZoneInfo("Europe/London")
    _, client, _, device = client_with_phone(push_make, fake_push, "Europe/London")
    first_day = utcnow().astimezone(london).date() + timedelta(days=1)
    start = local_instant(first_day, time(0), london)
    set_reminder(push_app, client["id"], "18:00", start)
    fake_push.offline.add(device.token)
    clock = [start]
    worker = Worker(push_app, make_sender(push_app), threads=2, clock=lambda: clock[0])
    try:
        while clock[0] < start + timedelta(days=7):
            worker.run_until_idle()
            clock[0] += timedelta(hours=1)
    finally:
        worker.close()
    topic = f"reminder-{client['id']}"
    accepted = [r for r in fake_push.messages(device) if r.headers["topic"] == topic]
    assert len(accepted) == 7  # one a day was handed to the push service...
    for record in accepted:  # ...each worth only until the end of its day
        assert int(record.headers["ttl"]) <= 6 * 3600 + 60
    held = [r for r in fake_push.come_online(device) if r.headers["topic"] == topic]
    assert len(held) == 1  # ...and the phone, back after a week, is shown one
    assert held[0].payload["notification"]["title"].startswith("Time for your")


def test_after_a_week_without_a_worker_one_reminder_not_seven(push_make, fake_push, push_app):
    london = ZoneInfo("Europe/London")
    _, client, _, _ = client_with_phone(push_make, fake_push, "Europe/London")
    first_day = utcnow().astimezone(london).date() + timedelta(days=1)
    set_reminder(push_app, client["id"], "18:00", local_instant(first_day, time(0), london))
    back = first_day + timedelta(days=7)
    scan_between(
        push_app,
        local_instant(back, time(10), london),
        local_instant(back, time(11), london),
        timedelta(minutes=30),
    )
    assert sent(push_app, client["id"]) == []  # earlier days are dropped, today's is still ahead
    scan_between(
        push_app,
        local_instant(back, time(19), london),
        local_instant(back, time(20), london),
        timedelta(minutes=30),
    )
    [row] = sent(push_app, client["id"])  # the worker came back after 18:00: today's, late, once
    assert row.created_at.astimezone(london).date() == back


def test_quiet_hours_hold_a_snooze(push_make, fake_push, push_app):
    london = ZoneInfo("Europe/London")
    _, client, _, _ = client_with_phone(push_make, fake_push, "Europe/London")
    day = utcnow().astimezone(london).date() + timedelta(days=1)
    set_reminder(push_app, client["id"], "21:30", local_instant(day, time(0), london),
                 quiet_start=time(22), quiet_end=time(7))  # fmt: skip
    with push_app.app_context():
        reminder = db.session.get(Reminder, client["id"])
        until = reminders.snooze(
            reminder, "Europe/London", local_instant(day, time(21, 40), london)
        )
        db.session.commit()
    assert until == local_instant(day + timedelta(days=1), time(7), london)


def test_quiet_hours_arithmetic():
    assert in_quiet_hours(time(23), time(22), time(7)) and in_quiet_hours(
        time(6, 59), time(22), time(7)
    )
    assert not in_quiet_hours(time(7), time(22), time(7)) and not in_quiet_hours(
        time(12), time(22), time(7)
    )
    assert in_quiet_hours(time(13), time(12), time(14)) and not in_quiet_hours(
        time(14), time(12), time(14)
    )
    assert not in_quiet_hours(time(3), None, None)
    zone = ZoneInfo("America/New_York")
    late = local_instant(date(2030, 1, 10), time(23, 15), zone)
    assert after_quiet_hours(late, zone, time(22), time(7)) == local_instant(
        date(2030, 1, 11), time(7), zone
    )
    early = local_instant(date(2030, 1, 10), time(5), zone)
    assert after_quiet_hours(early, zone, time(22), time(7)) == local_instant(
        date(2030, 1, 10), time(7), zone
    )
    assert after_quiet_hours(early, zone, None, None) == early


def test_quiet_hours_end_at_the_second_reading_after_a_fall_back():
    # London falls back at 02:00 BST on 25 October 2026: 01:00-02:00 happens twice. At 01:15
    # GMT (the second pass) quiet hours until 01:30 end at 01:30 GMT; 01:30 BST has passed.
    london = ZoneInfo("Europe/London")
    second_pass = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    held = after_quiet_hours(second_pass, london, time(22), time(1, 30))
    assert held == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_quiet_hours_ending_in_a_gap_end_after_it():
    # Lord Howe springs forward 02:00 -> 02:30 on 27 August 2000. Quiet hours 02:15-02:05 have
    # no end that night (02:05 reads as 02:35, inside them again): they end at 02:05 next day.
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    night = local_instant(date(2000, 8, 27), time(0, 15), lord_howe)
    held = after_quiet_hours(night, lord_howe, time(2, 15), time(2, 5))
    assert held == local_instant(date(2000, 8, 28), time(2, 5), lord_howe)


def test_next_regular_looks_a_week_past_an_early_not_before():
    london = ZoneInfo("Europe/London")
    monday = date(2026, 3, 2)
    found = next_regular(london, time(18), [0], monday, datetime(2026, 2, 1, tzinfo=UTC))
    assert found == local_instant(monday + timedelta(days=7), time(18), london)


def test_a_gentle_note_after_two_missed_planned_days(push_make, fake_push, push_app):
    london = ZoneInfo("Europe/London")
    today = utcnow().astimezone(london).date()
    friday = today + timedelta(days=7 + (4 - today.weekday()) % 7)
    _, client, phone, _ = client_with_phone(push_make, fake_push, "Europe/London", weekdays=["mon", "wed", "fri"],
                                            start=friday - timedelta(days=14))  # fmt: skip
    assignment_id = phone.get("/api/today").get_json()["items"][0]["assignment"]["id"]
    set_reminder(
        push_app, client["id"], "18:00", local_instant(friday - timedelta(days=1), time(0), london)
    )
    planned_days = [friday + timedelta(days=d) for d in (0, 3, 5, 7, 10, 12)]
    for day in planned_days:
        if day == friday + timedelta(days=7):
            _session_on(
                push_app, client["id"], assignment_id, day - timedelta(days=1)
            )  # done on Thursday
        scan_between(
            push_app,
            local_instant(day, time(18), london),
            local_instant(day, time(18, 30), london),
            timedelta(minutes=10),
        )
    kinds = [row.kind for row in sent(push_app, client["id"])]
    # Wednesday and Monday missed before the first Friday: a note, then reminders while the lapse
    # goes on. A session on Thursday, then Friday and Monday missed: a note again.
    assert kinds == ["missed", "reminder", "reminder", "reminder", "reminder", "missed"]
    note = sent(push_app, client["id"])[0]
    assert note.urgency == "low" and "slipped" in note.payload["notification"]["body"]


def _session_on(push_app, client_id: int, assignment_id: int, day: date) -> None:
    from server.models import SessionLog

    with push_app.app_context():
        db.session.add(SessionLog(
            id=str(__import__("uuid").uuid4()), client_id=client_id, assignment_id=assignment_id,
            performed_at=local_instant(day, time(9), ZoneInfo("Europe/London")), local_date=day,
            completed_items=[0], note="", content_hash="x" * 64,
        ))  # fmt: skip
        db.session.commit()


def test_archived_clients_get_no_reminders(push_make, fake_push, push_app):
    therapist, client, _, _ = client_with_phone(push_make, fake_push, "Europe/London")
    london = ZoneInfo("Europe/London")
    day = utcnow().astimezone(london).date() + timedelta(days=1)
    set_reminder(push_app, client["id"], "18:00", local_instant(day, time(0), london))
    assert (
        therapist.patch(f"/api/clients/{client['id']}", json={"archived": True}).status_code == 200
    )
    scan_between(
        push_app,
        local_instant(day, time(18), london),
        local_instant(day, time(19), london),
        timedelta(minutes=15),
    )
    assert sent(push_app, client["id"]) == []


def test_the_scan_reads_the_due_range_of_an_index(push_app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan is checked on SQLite; PostgreSQL picks plans by table size")
    with push_app.app_context():
        statement = (
            select(Reminder)
            .where(Reminder.next_fire_at <= utcnow())
            .order_by(Reminder.next_fire_at)
            .limit(500)
        )
        compiled = statement.compile(db.engine)
        params = compiled.construct_params()
        values = [params[name] for name in compiled.positiontup]
        values = [
            v.replace(tzinfo=None).isoformat(sep=" ") if isinstance(v, datetime) else v
            for v in values
        ]
        plan = (
            db.session.connection()
            .exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(values))
            .all()
        )
        detail = " ".join(str(row[-1]) for row in plan)
        assert "USING INDEX ix_reminders_next_fire_at" in detail, detail
        assert "SCAN reminders" not in detail.replace("USING INDEX", "")


def test_durations_read_naturally():
    assert reminders.minutes(1) == "1 minute"
    assert reminders.minutes(8) == "8 minutes"
