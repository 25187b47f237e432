"""Properties of the scheduling arithmetic against plain day-by-day reference models.

Any IANA zone the API accepts, with the DST-heavy ones drawn often: London and New York
(1 h), Lord Howe (30 min), Santiago (changes at midnight), Chatham (+12:45/+13:45). Reminder
wall times are drawn near each zone's own transitions as well as anywhere in the day, so gaps
and overlaps come up in most runs. The references read a local time without `fold`: they try
every UTC offset the zone uses around that day and keep the ones whose clock reads it back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.push.reminders import _BatchContext, _Due, _fire
from server.push.schedule import after_quiet_hours, in_quiet_hours, next_regular, reschedule
from server.services.schedule import Plan, current_streak, days_between, is_due, week_start

DST_HEAVY = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
]
# Every zone the API accepts (the schema's own list).
zones = st.sampled_from(DST_HEAVY) | st.sampled_from(sorted(available_timezones()))
days_ = st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 31))
wall_times = st.times().map(lambda t: t.replace(second=0, microsecond=0, fold=0))
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
ONE_DAY = timedelta(days=1)
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


# Reference models for local time: no fold, no astimezone of a local wall time.


def offsets_around(day: date, zone: ZoneInfo) -> set[timedelta]:
    """Every UTC offset the zone uses within two days of this date (sampled hourly)."""
    probe = datetime.combine(day, time(0), tzinfo=UTC) - 2 * ONE_DAY
    return {(probe + timedelta(hours=h)).astimezone(zone).utcoffset() for h in range(5 * 24)}


def readings(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant at which the zone's clocks read `at` on `day`, earliest first: none
    in a gap, two in an overlap."""
    wall = datetime.combine(day, at)
    found = set()
    for offset in offsets_around(day, zone):
        instant = (wall - offset).replace(tzinfo=UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.add(instant)
    return sorted(found)


def offset_before(day: date, at: time, zone: ZoneInfo) -> timedelta:
    """The offset in force a day before this wall time: before the change that made a gap."""
    return (datetime.combine(day, at, tzinfo=UTC) - ONE_DAY).astimezone(zone).utcoffset()


def reminder_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The documented rule: the first reading of the wall time; in a gap, the wall time read
    with the offset before the change (01:30 in London's gap fires at 02:30 BST)."""
    found = readings(day, at, zone)
    if found:
        return found[0]
    return (datetime.combine(day, at) - offset_before(day, at, zone)).replace(tzinfo=UTC)


def clock(instant: datetime, zone: ZoneInfo) -> time:
    return instant.astimezone(zone).time().replace(tzinfo=None)


def changes_in(year: int, zone: ZoneInfo) -> list[datetime]:
    """The zone's offset changes in a year, each as the local wall time just before it."""
    noon = datetime(year, 1, 1, 12, tzinfo=UTC)
    daily = [(noon + n * ONE_DAY).astimezone(zone).utcoffset() for n in range(366)]
    found = []
    for n in range(1, 366):
        if daily[n] != daily[n - 1]:
            instant = noon + (n - 1) * ONE_DAY
            previous = instant.astimezone(zone)
            for _ in range(24 * 4):
                instant += timedelta(minutes=15)
                if instant.astimezone(zone).utcoffset() != previous.utcoffset():
                    found.append(previous.replace(tzinfo=None, fold=0))
                previous = instant.astimezone(zone)
    return found


@st.composite
def scenes(draw, times: int = 1):
    """A zone, a day and wall times on it; often the day of one of the zone's changes, with
    wall times in or next to its gap or overlap."""
    zone = ZoneInfo(draw(zones))
    day = draw(days_)
    changes = changes_in(day.year, zone)
    if not changes or draw(st.integers(0, 3)) == 0:
        return zone, day, *(draw(wall_times) for _ in range(times))
    change = draw(st.sampled_from(changes))
    # Whole ten minutes around the change: wall times often meet (equal ends, same reading).
    near = st.sampled_from(range(-90, 91, 10)).map(lambda m: (change + timedelta(minutes=m)).time())
    return zone, change.date(), *(draw(near | near | wall_times) for _ in range(times))


# Reminders: next_regular.


@PROPERTY_SETTINGS
@given(scenes(), weekday_sets, st.integers(-10 * 24 * 60, 10 * 24 * 60))
def test_next_regular_is_the_first_scheduled_reading_after(start, weekdays, minutes_later):
    zone, after_day, at = start
    not_before = datetime.combine(after_day, time(0), tzinfo=UTC) + timedelta(minutes=minutes_later)
    found = next_regular(zone, at, sorted(weekdays), after_day, not_before)

    day = after_day + ONE_DAY
    while day.weekday() not in weekdays or reminder_instant(day, at, zone) <= not_before:
        day += ONE_DAY
    assert found == reminder_instant(day, at, zone)
    assert found > not_before
    assert found.astimezone(zone).date() == day
    if readings(day, at, zone):
        assert clock(found, zone) == at
    else:  # a gap: the wall time plus the length of the gap, later that same day
        local = found.astimezone(zone)
        shift = local.utcoffset() - offset_before(day, at, zone)
        assert local.replace(tzinfo=None) == datetime.combine(day, at) + shift


def offsets_spread(first: datetime, last: datetime, zone: ZoneInfo) -> timedelta:
    offsets = set()
    instant = first - ONE_DAY
    while instant <= last + ONE_DAY:
        offsets.add(instant.astimezone(zone).utcoffset())
        instant += timedelta(minutes=30)
    return max(offsets) - min(offsets)


@PROPERTY_SETTINGS
@given(scenes(), weekday_sets)
def test_following_reminders_fire_once_on_each_scheduled_day(start, weekdays):
    """The chain the scan follows (each reminder asks for the next after its own day)."""
    zone, first_day, at = start
    not_before = reminder_instant(first_day, at, zone) - timedelta(minutes=1)
    fired = [next_regular(zone, at, sorted(weekdays), first_day - ONE_DAY, not_before)]
    while fired[-1] < not_before + 10 * ONE_DAY:
        latest = fired[-1]
        fired.append(
            next_regular(zone, at, sorted(weekdays), latest.astimezone(zone).date(), latest)
        )

    scheduled = [
        first_day + n * ONE_DAY
        for n in range(30)
        if (first_day + n * ONE_DAY).weekday() in weekdays
    ]
    assert fired == [reminder_instant(day, at, zone) for day in scheduled[: len(fired)]]
    assert [f.astimezone(zone).date() for f in fired] == scheduled[: len(fired)]
    if weekdays == frozenset(range(7)):
        # A day apart, give or take the offset change: 23 to 25 hours around a 1 h change.
        spread = offsets_spread(fired[0], fired[-1], zone)
        for earlier, later in zip(fired, fired[1:], strict=False):
            assert abs(later - earlier - ONE_DAY) <= spread, (earlier, later)
            if spread <= timedelta(hours=1):
                assert timedelta(hours=23) <= later - earlier <= timedelta(hours=25)


# Quiet hours.


@PROPERTY_SETTINGS
@given(scenes(times=3), st.integers(0, 1))
def test_quiet_hours_end_at_the_next_reading_of_their_end(scene, which):
    zone, day, at, quiet_start, quiet_end = scene
    assume(quiet_start != quiet_end)
    # Either reading of a wall time that happens twice (a snooze can come due at either).
    instant = (readings(day, at, zone) or [reminder_instant(day, at, zone)] * 2)[-which]
    held = after_quiet_hours(instant, zone, quiet_start, quiet_end)
    assert held >= instant
    assert not in_quiet_hours(clock(held, zone), quiet_start, quiet_end)
    if not in_quiet_hours(clock(instant, zone), quiet_start, quiet_end):
        assert held == instant
        return
    local_day = instant.astimezone(zone).date()
    ends = []
    for end_day in (local_day, local_day + ONE_DAY, local_day + 2 * ONE_DAY):
        ends += readings(end_day, quiet_end, zone) or [reminder_instant(end_day, quiet_end, zone)]
    outside = [end for end in ends if not in_quiet_hours(clock(end, zone), quiet_start, quiet_end)]
    assert held == min(end for end in outside if end > instant)


# The scan: a punctual worker runs _fire whenever the reminder's next_fire_at comes.


def simulate(zone: ZoneInfo, at: time, weekdays, quiet, first_day: date, days: int):
    """Every regular reminder the scan queues from `first_day` on, with its send time."""
    reminder = _Due(
        client_id=1, enabled=True, local_time=at, weekdays=sorted(weekdays),
        quiet_start=quiet[0], quiet_end=quiet[1], timezone=zone.key, regular_at=None,
        snoozed_until=None, next_fire_at=None, last_sent_on=None, missed_note_on=None,
    )  # fmt: skip
    now = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC) - ONE_DAY
    reschedule(reminder, zone.key, now)
    every_day = SimpleNamespace(
        id=7, title="Hips", estimated_minutes=10, weekdays=list(range(7)), times_per_week=None,
        start_date=first_day - 30 * ONE_DAY, end_date=None, ended_on=None, pauses=[],
    )  # fmt: skip
    context = _BatchContext(
        clients={1: SimpleNamespace(id=1, timezone=zone.key, archived_at=None)},
        assignments={1: [every_day]},
        done_days={},
        subscriptions={1: [(1, "https://limber.test")]},
    )
    end = now + (days + 1) * ONE_DAY
    sent = []
    while reminder.next_fire_at is not None and reminder.next_fire_at < end:
        now = max(now, reminder.next_fire_at)
        for row in _fire(reminder, context, now):
            sent.append((now, row["payload"]["notification"]["timestamp"]))
    return sent


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes(times=3), weekday_sets, st.booleans())
def test_the_scan_reminds_once_a_scheduled_day_never_in_quiet_hours(app, scene, weekdays, quiet):
    zone, day, at, quiet_start, quiet_end = scene
    first_day = day - ONE_DAY
    quiet = (quiet_start, quiet_end) if quiet else (None, None)
    assume(quiet[0] != quiet[1] or quiet[0] is None)
    assume(not in_quiet_hours(at, *quiet))  # the API refuses a reminder time in quiet hours
    with app.app_context():
        sent = simulate(zone, at, weekdays, quiet, first_day, days=6)
    scheduled = [
        d for d in days_between(first_day, first_day + 5 * ONE_DAY) if d.weekday() in weekdays
    ]
    fired_days = [
        now.astimezone(zone).date() for now, _ in sent if now.astimezone(zone).date() in scheduled
    ]
    assert fired_days == scheduled
    for now, timestamp in sent:
        send_at = datetime.fromtimestamp(timestamp / 1000, UTC)
        assert not in_quiet_hours(clock(send_at, zone), *quiet)
        day = now.astimezone(zone).date()
        if day in scheduled:
            assert now == reminder_instant(day, at, zone)


def test_a_reminder_moved_into_quiet_hours_by_a_gap_is_held_not_dropped(app):
    # 01:30 does not exist in London on 29 March 2026; read as 02:30 BST it falls in quiet hours
    # 02:00-06:00. It used to be dropped for the day; it is sent when they end, that morning.
    london = ZoneInfo("Europe/London")
    with app.app_context():
        sent = simulate(london, time(1, 30), range(7), (time(2), time(6)), date(2026, 3, 28), 3)
    send_times = [datetime.fromtimestamp(ms / 1000, UTC).astimezone(london) for _, ms in sent]
    assert [t.replace(tzinfo=None) for t in send_times if t.date() >= date(2026, 3, 28)][:3] == [
        datetime(2026, 3, 28, 1, 30),
        datetime(2026, 3, 29, 6, 0),
        datetime(2026, 3, 30, 1, 30),
    ]


# Streaks, due days and planned counts.

MON = date(2026, 3, 2)


@st.composite
def plans_and_done_days(draw):
    today = MON + timedelta(days=draw(st.integers(0, 13)))
    plans = []
    for _ in range(draw(st.integers(0, 2))):
        start = today - timedelta(days=draw(st.integers(0, 40)))
        last_day = draw(st.none() | st.dates(min_value=start, max_value=start + timedelta(days=60)))
        pauses = []
        if draw(st.booleans()):
            begin = draw(st.dates(min_value=start, max_value=today))
            end = draw(st.none() | st.dates(min_value=begin + ONE_DAY, max_value=today + ONE_DAY))
            pauses.append((begin, end))
        if draw(st.booleans()):
            plans.append(Plan(start, last_day, weekdays=draw(weekday_sets), pauses=tuple(pauses)))
        else:
            plans.append(Plan(start, last_day, times_per_week=draw(st.integers(1, 7)),
                              pauses=tuple(pauses)))  # fmt: skip
    window = list(days_between(today - timedelta(days=42), today))
    done = set(draw(st.lists(st.sampled_from(window), max_size=40)))
    return plans, done, today


def reference_streak(plans: list[Plan], done: set[date], today: date) -> int:
    """Straight from the definition: count done days back from today; a missed day other than
    today breaks the streak when a fixed-day plan asked for it, when its finished week fell
    short of an N-a-week plan's N (or of its active days, in a part week), or when there is no
    plan at all to say it was a rest day."""

    def short_week(plan: Plan, day: date) -> bool:
        week = [week_start(day) + timedelta(days=i) for i in range(7)]
        if week[-1] >= today:
            return False  # not finished yet
        asked = min(plan.times_per_week, sum(1 for d in week if plan.is_active_on(d)))
        return sum(1 for d in week if d in done) < asked

    def breaks(day: date) -> bool:
        if not plans:
            return True
        for plan in plans:
            if plan.weekdays is not None:
                if plan.is_active_on(day) and day.weekday() in plan.weekdays:
                    return True
            elif short_week(plan, day):
                return True
        return False

    streak = 0
    for back in range((today - min(done, default=today)).days + 1):
        day = today - timedelta(days=back)
        if day in done:
            streak += 1
        elif day != today and breaks(day):
            break
    return streak


@PROPERTY_SETTINGS
@given(plans_and_done_days())
def test_streak_matches_its_definition(case):
    plans, done, today = case
    assert current_streak(plans, done, today) == reference_streak(plans, done, today)
    # Doing today's session adds exactly one: today not done yet never breaks it.
    assert (
        current_streak(plans, done | {today}, today)
        == current_streak(plans, done - {today}, today) + 1
    )


@PROPERTY_SETTINGS
@given(plans_and_done_days())
def test_due_today_matches_its_definition(case):
    plans, done, today = case
    for plan in plans:
        if not plan.is_active_on(today) or today in done:
            expected = False
        elif plan.weekdays is not None:
            expected = today.weekday() in plan.weekdays
        else:
            this_week = [d for d in days_between(week_start(today), today) if d in done]
            expected = len(this_week) < plan.times_per_week
        assert is_due(plan, today, done) == expected


@PROPERTY_SETTINGS
@given(plans_and_done_days(), st.integers(0, 60), st.integers(0, 60))
def test_planned_counts_add_up_over_adjoining_ranges(case, before, after):
    plans, _, today = case
    first, last = today - timedelta(days=before), today + timedelta(days=after)
    for plan in plans:
        whole = plan.planned(first, last)
        assert abs(whole - plan.planned(first, today) - plan.planned(today + ONE_DAY, last)) < 1e-9
        per_day = sum(plan.planned(d, d) for d in days_between(first, last))
        assert abs(whole - per_day) < 1e-9
