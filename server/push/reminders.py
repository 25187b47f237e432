"""Daily reminders: turning due reminder rows into outbox notifications.

The scan reads only reminders whose `next_fire_at` has passed (an index range), in batches,
with the few queries each batch needs, so its cost follows the number due, not the number of
clients. A regular reminder fires at most once per local day and only on that day: after a
worker outage, yesterday's reminder is skipped rather than sent late, and a phone that was off
for a week is handed one reminder (the Topic replaces older ones at the push service).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update

from server.database import write_transactions
from server.extensions import db
from server.models import Assignment, Client, PushSubscription, Reminder, SessionLog
from server.push import outbox
from server.push.schedule import (
    after_quiet_hours,
    end_of_local_day,
    in_quiet_hours,
    next_regular,
    reschedule,
    set_next_fire,
)
from server.services.assignments import plan_of
from server.services.schedule import is_due

DEFAULT_TIME = time(18, 0)


def minutes(count: int) -> str:
    return "1 minute" if count == 1 else f"{count} minutes"


ALL_DAYS = [0, 1, 2, 3, 4, 5, 6]
SNOOZE = timedelta(hours=1)
MISSED_LOOKBACK = timedelta(days=15)
BATCH = 500


def default_reminder(client: Client, now: datetime) -> Reminder:
    """Every day at 18:00 local; days with nothing due are skipped, so in effect the
    assignment's own days."""
    reminder = Reminder(
        client_id=client.id, enabled=True, local_time=DEFAULT_TIME, weekdays=list(ALL_DAYS),
        quiet_start=None, quiet_end=None,
    )  # fmt: skip
    reschedule(reminder, client.timezone, now)
    return reminder


def snooze(reminder: Reminder, timezone: str, now: datetime) -> datetime:
    """The reminder again in an hour (or when quiet hours end). The caller commits."""
    at = after_quiet_hours(
        now + SNOOZE, ZoneInfo(timezone), reminder.quiet_start, reminder.quiet_end
    )
    reminder.snoozed_until = at
    set_next_fire(reminder)
    return at


@dataclass
class ScanReport:
    due: int = 0
    sent: int = 0
    skipped: int = 0

    def add(self, other: ScanReport) -> None:
        self.due += other.due
        self.sent += other.sent
        self.skipped += other.skipped


def scan_due(now: datetime, batch: int = BATCH) -> ScanReport:
    """Turn every reminder due at `now` into notifications, a batch per transaction."""
    report = ScanReport()
    # A plain read first: an idle worker must not take SQLite's write lock every poll.
    if not _any_due(now):
        return report
    while True:
        with write_transactions():
            part = _scan_batch(now, batch)
            db.session.commit()
        report.add(part)
        if part.due < batch:
            return report


def _any_due(now: datetime) -> bool:
    found = db.session.scalar(
        select(Reminder.client_id).where(Reminder.next_fire_at <= now).limit(1)
    )
    db.session.rollback()
    return found is not None


@dataclass
class _Due:
    """A due reminder as the scan reads and rewrites it: plain values, because the scan handles
    thousands at once and ORM objects would cost more than the rules themselves."""

    client_id: int
    enabled: bool
    local_time: time
    weekdays: list[int]
    quiet_start: time | None
    quiet_end: time | None
    timezone: str
    regular_at: datetime | None
    snoozed_until: datetime | None
    next_fire_at: datetime | None
    last_sent_on: date | None
    missed_note_on: date | None


_DUE_COLUMNS = [Reminder.__table__.c[f.name] for f in fields(_Due)]
_WRITTEN = (
    "timezone",
    "regular_at",
    "snoozed_until",
    "next_fire_at",
    "last_sent_on",
    "missed_note_on",
)


def _scan_batch(now: datetime, limit: int) -> ScanReport:
    table = Reminder.__table__
    due = [
        _Due(*row)
        for row in db.session.execute(
            select(*_DUE_COLUMNS)
            .where(table.c.next_fire_at <= now)
            .order_by(table.c.next_fire_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ]
    report = ScanReport(due=len(due))
    if not due:
        return report
    context = _BatchContext.load([r.client_id for r in due], now)
    rows: list[dict] = []
    for reminder in due:
        queued = _fire(reminder, context, now)
        rows.extend(queued)
        if queued:
            report.sent += 1
        else:
            report.skipped += 1
    # Bound names differ from the column names: SQLAlchemy reserves those for its own use.
    db.session.execute(
        update(table)
        .where(table.c.client_id == bindparam("b_client"))
        .values(updated_at=now, **{name: bindparam(f"v_{name}") for name in _WRITTEN}),
        [{"b_client": r.client_id, **{f"v_{n}": getattr(r, n) for n in _WRITTEN}} for r in due],
    )
    outbox.insert_rows(rows)
    return report


@dataclass
class _BatchContext:
    """Everything a batch of reminders needs, read with one query per table."""

    clients: dict[int, tuple]
    assignments: dict[int, list]
    done_days: dict[int, dict[int | None, set[date]]]
    subscriptions: dict[int, list[tuple[int, str]]]

    @classmethod
    def load(cls, client_ids: list[int], now: datetime) -> _BatchContext:
        clients = {
            row.id: row
            for row in db.session.execute(
                select(Client.id, Client.timezone, Client.archived_at).where(
                    Client.id.in_(client_ids)
                )
            )
        }
        assignments: dict[int, list] = defaultdict(list)
        for row in db.session.execute(
            select(
                Assignment.id, Assignment.client_id, Assignment.title, Assignment.estimated_minutes,
                Assignment.weekdays, Assignment.times_per_week, Assignment.start_date,
                Assignment.end_date, Assignment.ended_on, Assignment.pauses,
            )
            .where(Assignment.client_id.in_(client_ids), Assignment.status != "ended")
            .order_by(Assignment.created_at, Assignment.id)
        ):  # fmt: skip
            assignments[row.client_id].append(row)
        done: dict[int, dict[int | None, set[date]]] = defaultdict(lambda: defaultdict(set))
        for client_id, assignment_id, day in db.session.execute(
            select(SessionLog.client_id, SessionLog.assignment_id, SessionLog.local_date).where(
                SessionLog.client_id.in_(client_ids),
                SessionLog.local_date >= (now - MISSED_LOOKBACK).date(),
            )
        ):
            done[client_id][assignment_id].add(day)
        subscriptions: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for sub_id, client_id, origin in db.session.execute(
            select(
                PushSubscription.id, PushSubscription.client_id, PushSubscription.app_origin
            ).where(PushSubscription.client_id.in_(client_ids))
        ):
            subscriptions[client_id].append((sub_id, origin))
        return cls(clients, assignments, done, subscriptions)


def _fire(reminder: _Due, context: _BatchContext, now: datetime) -> list[dict]:
    """Handle one due reminder and schedule its next one; returns the notifications to queue."""
    client = context.clients.get(reminder.client_id)
    if client is None:
        return []
    if reminder.timezone != client.timezone:
        reschedule(reminder, client.timezone, now)
        if reminder.next_fire_at is None or reminder.next_fire_at > now:
            return []
    zone = ZoneInfo(client.timezone)
    local = now.astimezone(zone)
    today = local.date()
    quiet = in_quiet_hours(
        local.time().replace(tzinfo=None), reminder.quiet_start, reminder.quiet_end
    )
    wanted = regular = False
    if reminder.snoozed_until is not None and reminder.snoozed_until <= now:
        if quiet:
            reminder.snoozed_until = after_quiet_hours(
                now, zone, reminder.quiet_start, reminder.quiet_end
            )
        else:
            reminder.snoozed_until = None
            wanted = True
    if reminder.regular_at is not None and reminder.regular_at <= now:
        # The latest occurrence that has passed: after an outage, today's still counts (late),
        # earlier days' are dropped rather than piled up.
        latest, following = reminder.regular_at, None
        while reminder.enabled:
            following = next_regular(
                zone, reminder.local_time, reminder.weekdays, latest.astimezone(zone).date(), latest
            )
            if following is None or following > now:
                break
            latest = following
        day = latest.astimezone(zone).date()
        # The API keeps the reminder time out of quiet hours, but a spring-forward gap can move
        # it into them (01:30 read as 02:30 with quiet hours from 02:00): that one is still
        # sent, held in the outbox until they end. A reminder late into quiet hours (after an
        # outage) is dropped like any other late one.
        moved_into_quiet = in_quiet_hours(
            latest.astimezone(zone).time().replace(tzinfo=None),
            reminder.quiet_start,
            reminder.quiet_end,
        )
        if (
            reminder.enabled
            and day == today
            and (moved_into_quiet or not quiet)
            and reminder.last_sent_on != today
        ):
            wanted = regular = True
            reminder.last_sent_on = today
        reminder.regular_at = following
    set_next_fire(reminder)
    if not wanted or client.archived_at is not None:
        return []
    client_done = context.done_days.get(client.id, {})
    due = [
        a
        for a in context.assignments.get(client.id, [])
        if is_due(plan_of(a), today, client_done.get(a.id, set()))
    ]
    if not due:
        return []  # nothing planned today, or today's routine is already done
    subscriptions = context.subscriptions.get(client.id)
    if not subscriptions:
        return []
    first = due[0]
    kind, title, body = "reminder", f"Time for your {first.title}", _reminder_body(first, len(due))
    if regular and _missed_two(
        reminder, context.assignments.get(client.id, []), client_done, today
    ):
        reminder.missed_note_on = today
        kind = "missed"
        title = "Shall we pick it back up?"
        body = (
            f"The last two {first.title} days slipped by, which happens to everyone. "
            f"About {minutes(first.estimated_minutes)} today gets you back on track."
        )
    return outbox.notification_rows(
        client.id, kind, title=title, body=body, now=now, timezone=client.timezone,
        life=end_of_local_day(now, zone) - now, reminder=reminder, subscriptions=subscriptions,
    )  # fmt: skip


def _reminder_body(assignment, count: int) -> str:
    body = f"About {minutes(assignment.estimated_minutes)}."
    if count > 1:
        body += f" Plus {count - 1} more routine{'s' if count > 2 else ''} today."
    return body


def _missed_two(reminder: _Due, assignments: list, done: dict, today: date) -> bool:
    """The last two planned days (fixed weekdays) before today passed with no session at all.

    One note per lapse: not again until the client has done a session since the last note.
    """
    any_day = set().union(*done.values()) if done else set()
    last_session = max(any_day, default=None)
    if reminder.missed_note_on is not None and (
        last_session is None or last_session <= reminder.missed_note_on
    ):
        return False
    for assignment in assignments:
        plan = plan_of(assignment)
        if plan.weekdays is None:
            continue  # "N times a week" has no planned days to miss
        planned = []
        day = today - timedelta(days=1)
        while len(planned) < 2 and today - day < MISSED_LOOKBACK:
            if plan.is_active_on(day) and plan.is_fixed_day(day):
                planned.append(day)
            day -= timedelta(days=1)
        if len(planned) == 2 and (last_session is None or last_session < planned[-1]):
            return True
    return False
