"""When reminders fire: local wall-clock times turned into UTC instants with zoneinfo.

Pure functions, no database. The rule that keeps DST days right: walk local calendar days and
fire at most once per local day. A local time that does not exist (the spring-forward gap) is
read with the offset before the change, so 01:30 on that day fires at 02:30, once; a local time
that happens twice (fall back) fires at its first occurrence only. Quiet hours end at the
next reading of their end that is outside them (after a fall back, possibly its second).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOOKAHEAD_DAYS = 8  # a week and a day: any weekday set has a day in it


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (fold=0: the first, or the pre-gap, reading)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_now(now: datetime, zone: ZoneInfo) -> datetime:
    return now.astimezone(zone)


def next_regular(
    zone: ZoneInfo, at: time, weekdays: list[int], after_day: date, not_before: datetime
) -> datetime | None:
    """The first reminder on a listed weekday after `after_day` whose instant is after
    `not_before`; None when no weekday is listed."""
    if not weekdays:
        return None
    day = after_day
    # Days up to a week and a day past `not_before` (which may fall before or after `after_day`).
    last_day = max(after_day, not_before.astimezone(zone).date()) + timedelta(days=LOOKAHEAD_DAYS)
    while day < last_day:
        day += timedelta(days=1)
        if day.weekday() in weekdays:
            instant = local_instant(day, at, zone)
            if instant > not_before:
                return instant
    return None


def in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    """Quiet hours are [start, end); a window like 22:00-07:00 runs over midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(
    instant: datetime, zone: ZoneInfo, start: time | None, end: time | None
) -> datetime:
    """`instant`, or when it falls in quiet hours, the moment they end: the next reading of
    `end` on the local clock that is outside them. After a fall-back that can be the second
    reading of `end` (the first already passed); an `end` in a spring-forward gap is read like
    a reminder time, with the offset before the change; and when that reading lands back in
    quiet hours (both ends in one gap), they end the next day."""
    local = instant.astimezone(zone)
    if not in_quiet_hours(local.time().replace(tzinfo=None), start, end):
        return instant
    day = local.date()
    while True:  # quiet hours last less than a day: this ends by the day after tomorrow
        readings = sorted(
            datetime.combine(day, end, zone).replace(fold=fold).astimezone(UTC) for fold in (0, 1)
        )
        for reading in readings:
            clock = reading.astimezone(zone).time().replace(tzinfo=None)
            if reading > instant and not in_quiet_hours(clock, start, end):
                return reading
        day += timedelta(days=1)


def end_of_local_day(instant: datetime, zone: ZoneInfo) -> datetime:
    return local_instant(instant.astimezone(zone).date() + timedelta(days=1), time(0, 0), zone)


def reschedule(reminder, timezone: str, now: datetime) -> None:
    """Recompute the next regular reminder (after a settings or time zone change)."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    reminder.timezone = timezone
    if reminder.enabled:
        already = reminder.last_sent_on is not None and reminder.last_sent_on >= today
        after = today if already else today - timedelta(days=1)
        reminder.regular_at = next_regular(zone, reminder.local_time, reminder.weekdays, after, now)
    else:
        reminder.regular_at = None
    set_next_fire(reminder)


def set_next_fire(reminder) -> None:
    """The reminder's next moment: its regular time or a snooze, whichever comes first."""
    times = [t for t in (reminder.regular_at, reminder.snoozed_until) if t is not None]
    reminder.next_fire_at = min(times) if times else None
