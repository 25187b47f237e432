"""Notifications for people: phones' push subscriptions, reminder settings, a therapist's nudge,
and what a client does from a notification ("Done", "Snooze")."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from server.errors import Conflict, Invalid, LimberError, NotFound
from server.extensions import db
from server.models import Client, Notification, PushSubscription, Reminder, SessionLog, Therapist
from server.orm import utcnow
from server.push import outbox, reminders
from server.push.schedule import in_quiet_hours
from server.push.setup import push_settings
from server.services import session_logs
from server.services.assignments import today_for_client
from server.services.clients import load_client

NUDGE_INTERVAL = timedelta(hours=1)
# Phones per client; past this the least recently seen subscription is dropped (a client
# reinstalling the app many times must not grow the table, or every fan-out, without end).
MAX_SUBSCRIPTIONS = 10
# "Done" from a notification makes the session log id from the notification id, so pressing it
# twice, or on two phones, or a retried request, is one log.
DONE_NAMESPACE = uuid.UUID("6f1d8a52-3f1c-4f0e-9a57-3c0f5b7d2e41")


class TooSoon(LimberError):
    status = HTTPStatus.TOO_MANY_REQUESTS


def vapid_public_key() -> str:
    return push_settings().keys.application_server_key


def subscribe(
    client: Client, data: dict, user_agent: str, origin: str, now: datetime | None = None
) -> tuple[PushSubscription, bool]:
    """Store or refresh this phone's subscription (one row per endpoint). Returns (row, created).

    The phone re-sends it on every app open. An endpoint last used by another client moves to
    this one: it is the same browser, now signed in as someone else.
    """
    now = now or utcnow()
    problem = push_settings().policy.problem(data["endpoint"])
    if problem:
        raise Invalid("endpoint", problem)
    values = {
        "client_id": client.id,
        "p256dh": data["keys"]["p256dh"],
        "auth": data["keys"]["auth"],
        "user_agent": user_agent[:120],
        "app_origin": origin[:255],
        "last_seen_at": now,
    }
    subscription = db.session.scalar(
        select(PushSubscription)
        .where(PushSubscription.endpoint == data["endpoint"])
        .with_for_update()
    )
    created = subscription is None
    if created:
        subscription = PushSubscription(endpoint=data["endpoint"], created_at=now, **values)
        db.session.add(subscription)
    else:
        for field, value in values.items():
            setattr(subscription, field, value)
    if db.session.get(Reminder, client.id) is None:
        db.session.add(reminders.default_reminder(client, now))
    try:
        db.session.flush()
        _drop_stale_subscriptions(client.id)
        db.session.commit()
    except IntegrityError:
        # The same phone subscribed twice at once (PostgreSQL): the other request stored it.
        db.session.rollback()
        return subscribe(client, data, user_agent, origin, now)
    return subscription, created


def _drop_stale_subscriptions(client_id: int) -> None:
    stale = db.session.scalars(
        select(PushSubscription.id)
        .where(PushSubscription.client_id == client_id)
        .order_by(PushSubscription.last_seen_at.desc(), PushSubscription.id.desc())
        .offset(MAX_SUBSCRIPTIONS)
    ).all()
    if stale:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(stale)))


def unsubscribe(client: Client, endpoint: str) -> None:
    """Forget this phone's subscription (notifications turned off, or signing out)."""
    db.session.execute(
        delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.client_id == client.id
        )
    )
    db.session.commit()


def list_subscriptions(client: Client) -> list[PushSubscription]:
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.client_id == client.id)
            .order_by(PushSubscription.last_seen_at.desc())
        )
    )


def reminder_settings(client: Client, now: datetime | None = None) -> Reminder:
    """The client's reminder; the defaults (unsaved) when they never turned notifications on."""
    reminder = db.session.get(Reminder, client.id)
    if reminder is None:
        reminder = reminders.default_reminder(client, now or utcnow())
    return reminder


def update_reminder_settings(client: Client, data: dict, now: datetime | None = None) -> Reminder:
    """Change the reminder's time, days, quiet hours or switch it off."""
    now = now or utcnow()
    quiet_start, quiet_end = data["quiet_start"], data["quiet_end"]
    if in_quiet_hours(data["time"], quiet_start, quiet_end):
        raise Invalid("time", "The reminder time falls inside your quiet hours.")
    reminder = db.session.get(Reminder, client.id)
    if reminder is None:
        reminder = reminders.default_reminder(client, now)
        db.session.add(reminder)
    reminder.enabled = data["enabled"]
    reminder.local_time = data["time"]
    reminder.weekdays = sorted(set(data["weekdays"]))
    reminder.quiet_start, reminder.quiet_end = quiet_start, quiet_end
    reminders.reschedule(reminder, client.timezone, now)
    db.session.commit()
    return reminder


@dataclass(frozen=True)
class NudgeResult:
    devices: int
    notification_id: str | None
    next_nudge_at: datetime | None


def nudge(
    therapist: Therapist, client_id: int, message: str, now: datetime | None = None
) -> NudgeResult:
    """Send the client a word of encouragement; at most one an hour per client."""
    now = now or utcnow()
    client = load_client(therapist, client_id, "nudge")
    if client.archived_at is not None:
        raise Invalid("client", "This client is archived; restore them first.")
    # Serialises two nudges for one client (PostgreSQL row lock; SQLite's write lock already).
    db.session.execute(select(Client.id).where(Client.id == client.id).with_for_update())
    last = db.session.scalar(
        select(func.max(Notification.created_at)).where(
            Notification.client_id == client.id, Notification.kind == "nudge"
        )
    )
    if last is not None and now - last < NUDGE_INTERVAL:
        wait = NUDGE_INTERVAL - (now - last)
        seconds = max(1, math.ceil(wait.total_seconds()))
        raise TooSoon(
            f"{client.name} was nudged less than an hour ago; try again in {reminders.minutes(math.ceil(seconds / 60))}.",
            headers={"Retry-After": str(seconds)},
        )
    message_id = outbox.enqueue(
        client.id,
        "nudge",
        title=f"A nudge from {therapist.name}",
        body=message or "A few minutes of your routine today keeps the progress going.",
        now=now,
        timezone=client.timezone,
    )
    db.session.commit()
    if message_id is None:
        return NudgeResult(0, None, None)
    devices = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.message_id == message_id)
    )
    return NudgeResult(devices, message_id, now + NUDGE_INTERVAL)


def act_on_notification(
    client: Client, notification_id: str, action: str, now: datetime | None = None
) -> dict:
    """Act on a notification: done logs today's due routine (once per notification), snooze
    reminds again in an hour."""
    now = now or utcnow()
    known = db.session.scalar(
        select(Notification.id)
        .where(Notification.message_id == notification_id, Notification.client_id == client.id)
        .limit(1)
    )
    if known is None:
        raise NotFound("No such notification.")
    if action == "snooze":
        reminder = db.session.get(Reminder, client.id)
        if reminder is None:
            reminder = reminders.default_reminder(client, now)
            db.session.add(reminder)
        at = reminders.snooze(reminder, client.timezone, now)
        db.session.commit()
        return {"action": "snooze", "snoozed_until": at, "session": None, "already_done": False}
    return _done(client, notification_id, now)


def _done(client: Client, notification_id: str, now: datetime) -> dict:
    log_id = str(uuid.uuid5(DONE_NAMESPACE, notification_id))
    existing = db.session.get(SessionLog, log_id)
    if existing is not None and existing.client_id == client.id:
        return {"action": "done", "session": existing, "snoozed_until": None, "already_done": True}
    today = today_for_client(client, now)
    due = [item for item in today.items if item.due]
    if not due:
        if any(item.done_today for item in today.items):
            return {"action": "done", "session": None, "snoozed_until": None, "already_done": True}
        raise Conflict("Nothing is planned for today.")
    assignment = due[0].assignment
    data = {
        "id": log_id,
        "assignment_id": assignment.id,
        "performed_at": now,
        "completed_items": list(range(len(assignment.routine["items"]))),
        "pain_before": None,
        "pain_after": None,
        "effort": None,
        "note": "",
    }
    try:
        log, created = session_logs.record_session(client, data, now)
    except Conflict:
        # Pressed on two phones at the same moment: the other press stored it first.
        db.session.rollback()
        log, created = db.session.get(SessionLog, log_id), False
    return {"action": "done", "session": log, "snoozed_until": None, "already_done": not created}
