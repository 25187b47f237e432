"""Calendar arithmetic: planned days, what is due, streaks, local dates across time zones."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.services.schedule import Plan, current_streak, days_between, is_due, local_today

MON = date(2026, 3, 2)  # a Monday


def days(*offsets: int) -> set[date]:
    return {MON + timedelta(days=o) for o in offsets}


def test_fixed_weekdays_count_each_listed_day():
    plan = Plan(start=MON, weekdays=frozenset({0, 2, 4}))
    assert plan.planned(MON, MON + timedelta(days=6)) == 3
    assert plan.planned(MON, MON + timedelta(days=27)) == 12
    assert plan.planned(MON - timedelta(days=7), MON - timedelta(days=1)) == 0


def test_times_per_week_is_pro_rata():
    plan = Plan(start=MON, times_per_week=3)
    assert plan.planned(MON, MON + timedelta(days=6)) == 3
    assert plan.planned(MON, MON + timedelta(days=27)) == 12
    assert plan.planned(MON - timedelta(days=3), MON + timedelta(days=3)) == 3 * 4 / 7


def test_pauses_and_endings_are_not_planned():
    paused = Plan(start=MON, weekdays=frozenset({0, 1, 2, 3, 4, 5, 6}),
                  pauses=((MON + timedelta(days=2), MON + timedelta(days=5)),))
    assert paused.planned(MON, MON + timedelta(days=6)) == 4
    open_pause = Plan(start=MON, times_per_week=7, pauses=((MON + timedelta(days=3), None),))
    assert open_pause.planned(MON, MON + timedelta(days=27)) == 3
    ended = Plan(start=MON, last_day=MON + timedelta(days=1), times_per_week=7)
    assert ended.planned(MON, MON + timedelta(days=6)) == 2


def test_due_today():
    fixed = Plan(start=MON, weekdays=frozenset({0, 2}))
    assert is_due(fixed, MON, set())
    assert not is_due(fixed, MON, {MON})
    assert not is_due(fixed, MON + timedelta(days=1), set())
    weekly = Plan(start=MON, times_per_week=2)
    thursday = MON + timedelta(days=3)
    assert is_due(weekly, thursday, days(0))
    assert not is_due(weekly, thursday, days(0, 1))
    assert is_due(weekly, MON + timedelta(days=7), days(0, 1))  # a new week
    assert not is_due(Plan(start=thursday, times_per_week=2), MON, set())


def test_streak_skips_rest_days_and_breaks_on_missed_days():
    plan = Plan(start=MON - timedelta(days=28), weekdays=frozenset({0, 2, 4}))
    done = days(-7, -5, -3, 0, 2)  # Mon Wed Fri of last week, then Mon Wed
    assert current_streak([plan], done, MON + timedelta(days=2)) == 5
    # Thursday (a rest day) not done: still 5. Friday not done yet: today does not break it.
    assert current_streak([plan], done, MON + timedelta(days=4)) == 5
    # The following Monday, Friday was missed: the streak is over.
    assert current_streak([plan], done, MON + timedelta(days=7)) == 0
    assert current_streak([plan], set(), MON) == 0


def test_streak_for_times_a_week_breaks_only_on_a_short_week():
    plan = Plan(start=MON - timedelta(days=14), times_per_week=2)
    done = days(-13, -10, -6, -2, 1)
    assert current_streak([plan], done, MON + timedelta(days=2)) == 5
    short = days(-13, -6, -2, 1)  # the week before last had only one session
    assert current_streak([plan], short, MON + timedelta(days=2)) == 3


def test_streak_without_any_plan_counts_consecutive_days():
    assert current_streak([], days(-2, -1, 0), MON) == 3
    assert current_streak([], days(-3, -1), MON) == 1


def test_local_today_in_auckland_and_los_angeles():
    instant = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)
    assert local_today("Pacific/Auckland", instant) == date(2026, 3, 11)
    assert local_today("America/Los_Angeles", instant) == date(2026, 3, 10)
    assert local_today("America/Los_Angeles", datetime(2026, 3, 10, 6, 59, tzinfo=UTC)) == date(2026, 3, 9)


def test_local_today_on_dst_change_days():
    # Los Angeles springs forward at 02:00 on 8 March 2026: 01:30 PST and 03:30 PDT are one day.
    before = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
    after = datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert local_today("America/Los_Angeles", before) == local_today("America/Los_Angeles", after) == date(2026, 3, 8)
    # London falls back on 25 October 2026; 23:30 UTC is still the 25th locally (GMT).
    assert local_today("Europe/London", datetime(2026, 10, 25, 23, 30, tzinfo=UTC)) == date(2026, 10, 25)
    assert local_today("Europe/London", datetime(2026, 10, 24, 23, 30, tzinfo=UTC)) == date(2026, 10, 25)


# Property: the arithmetic in Plan.planned agrees with counting day by day, for any plan.

DAY = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def plans(draw):
    start = draw(DAY)
    last_day = draw(st.none() | st.dates(min_value=start, max_value=start + timedelta(days=400)))
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        begin = draw(st.dates(min_value=start, max_value=start + timedelta(days=300)))
        end = draw(st.none() | st.dates(min_value=begin, max_value=begin + timedelta(days=60)))
        pauses.append((begin, end))
    if draw(st.booleans()):
        weekdays = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
        return Plan(start=start, last_day=last_day, weekdays=weekdays, pauses=tuple(pauses))
    return Plan(start=start, last_day=last_day, times_per_week=draw(st.integers(1, 7)), pauses=tuple(pauses))


@given(plans(), DAY, st.integers(0, 60))
def test_planned_matches_counting_day_by_day(plan, first, length):
    last = first + timedelta(days=length)
    active = [d for d in days_between(first, last) if plan.is_active_on(d)]
    if plan.weekdays is not None:
        expected = float(sum(1 for d in active if d.weekday() in plan.weekdays))
    else:
        expected = plan.times_per_week * len(active) / 7
    assert abs(plan.planned(first, last) - expected) < 1e-9
