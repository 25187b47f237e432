"""Calendar arithmetic for assignments: which days are planned, what is due, streaks.

Pure functions over dates in the client's own time zone; nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ONE_DAY = timedelta(days=1)


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Plan:
    """The schedule part of an assignment, detached from the database row."""

    start: date
    last_day: date | None = None  # inclusive; None while open-ended
    weekdays: frozenset[int] | None = None  # 0 = Monday
    times_per_week: int | None = None
    pauses: tuple[tuple[date, date | None], ...] = field(default=())

    def is_active_on(self, day: date) -> bool:
        if day < self.start or (self.last_day is not None and day > self.last_day):
            return False
        # A pause covers its first day up to, not including, the day it was resumed.
        return not any(begin <= day and (end is None or day < end) for begin, end in self.pauses)

    def is_fixed_day(self, day: date) -> bool:
        return self.weekdays is not None and day.weekday() in self.weekdays

    def active_spans(self, first: date, last: date) -> list[tuple[date, date]]:
        """The parts of [first, last] when the plan runs: its dates minus its pauses."""
        begin = max(first, self.start)
        end = last if self.last_day is None else min(last, self.last_day)
        spans = [(begin, end)] if begin <= end else []
        for pause_from, pause_to in self.pauses:
            resumed = pause_to or date.max
            cut = []
            for span_from, span_to in spans:
                if pause_from > span_from:
                    cut.append((span_from, min(span_to, pause_from - ONE_DAY)))
                if resumed <= span_to:
                    cut.append((max(span_from, resumed), span_to))
            spans = [(a, b) for a, b in cut if a <= b]
        return spans

    def planned(self, first: date, last: date) -> float:
        """Planned sessions between two days inclusive.

        Fixed weekdays count each active listed day. N times a week counts N for every seven
        active days, pro rata, so a part week (a start or a pause) asks for a fair share.
        Counted by arithmetic over spans, not day by day: the dashboard does this for every client.
        """
        spans = self.active_spans(first, last)
        if self.weekdays is None:
            active_days = sum((b - a).days + 1 for a, b in spans)
            return (self.times_per_week or 0) * active_days / 7
        return float(sum(_count_weekdays(a, b, self.weekdays) for a, b in spans))


def _count_weekdays(first: date, last: date, weekdays: frozenset[int]) -> int:
    days = (last - first).days + 1
    full_weeks, remainder = divmod(days, 7)
    extra = sum(1 for offset in range(remainder) if (first.weekday() + offset) % 7 in weekdays)
    return full_weeks * len(weekdays) + extra


def days_between(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def is_due(plan: Plan, today: date, done_days: set[date]) -> bool:
    """Whether the assignment asks for a session today that has not been done yet."""
    if not plan.is_active_on(today) or today in done_days:
        return False
    if plan.weekdays is not None:
        return plan.is_fixed_day(today)
    monday = week_start(today)
    done_this_week = sum(1 for d in done_days if monday <= d <= today)
    return done_this_week < (plan.times_per_week or 0)


def _short_weeks(plans: list[Plan], done_days: set[date], today: date, earliest: date) -> set[date]:
    """Mondays of finished weeks in which an N-times-a-week plan fell short of its N."""
    short: set[date] = set()
    monday = week_start(earliest)
    while monday + timedelta(days=6) < today:
        week = list(days_between(monday, monday + timedelta(days=6)))
        done = sum(1 for d in week if d in done_days)
        for plan in plans:
            if plan.times_per_week is None:
                continue
            active = sum(1 for d in week if plan.is_active_on(d))
            if done < min(plan.times_per_week, active):
                short.add(monday)
        monday += timedelta(days=7)
    return short


def current_streak(plans: list[Plan], done_days: set[date], today: date) -> int:
    """Days done in a row, counting back from today.

    Today not done yet does not break it. A rest day (no fixed weekday planned) neither counts
    nor breaks, so a Monday-Wednesday-Friday client keeps a streak. For N-times-a-week plans a
    missed day breaks the streak only when its finished week fell short of N.
    """
    if not done_days:
        return 0
    earliest = min(min(done_days), min((p.start for p in plans), default=today))
    short = _short_weeks(plans, done_days, today, earliest)
    streak = 0
    day = today
    while day >= earliest:
        if day in done_days:
            streak += 1
        elif day != today and (
            any(p.is_fixed_day(day) and p.is_active_on(day) for p in plans)
            or week_start(day) in short
            or not plans
        ):
            break
        day -= ONE_DAY
    return streak
