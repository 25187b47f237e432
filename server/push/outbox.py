"""The transactional outbox: notifications are written in the transaction that causes them and
delivered later by `flask worker`, at least once.

Claiming sets a lease: the row becomes `sending`, owned by one worker, and `next_attempt_at`
moves to when the lease runs out. A worker that dies leaves its rows to be claimed again once
that time passes, so one index, (status, next_attempt_at), finds both queued and abandoned rows.
On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED, so workers never wait on or take each
other's rows; SQLite ignores the clause and serialises claims with BEGIN IMMEDIATE.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Text, and_, bindparam, cast, delete, insert, select, update

from server.extensions import db
from server.models import Notification, PushSubscription, Reminder
from server.push import payloads
from server.push.schedule import after_quiet_hours
from server.push.sender import Outcome

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
FINISHED = ("delivered", "failed", "dead")
_table = Notification.__table__


def app_origin(subscription_origin: str) -> str:
    """Links in notifications: PUBLIC_URL when configured, else the origin the phone used."""
    return current_app.config["PUBLIC_URL"] or subscription_origin or "/"


def enqueue(
    client_id: int,
    kind: str,
    *,
    title: str,
    body: str,
    now: datetime,
    timezone: str,
    life: timedelta | None = None,
) -> str | None:
    """Add one notification for each of the client's phones to the current transaction.

    The caller commits, so the notification exists exactly when the change that caused it
    does. Returns the message id, or None when the client has no phone to notify.
    """
    subscriptions = [
        (row.id, row.app_origin)
        for row in db.session.execute(
            select(PushSubscription.id, PushSubscription.app_origin).where(
                PushSubscription.client_id == client_id
            )
        )
    ]
    rows = notification_rows(
        client_id, kind, title=title, body=body, now=now, timezone=timezone, life=life,
        reminder=db.session.get(Reminder, client_id), subscriptions=subscriptions,
    )  # fmt: skip
    insert_rows(rows)
    return rows[0]["message_id"] if rows else None


def notification_rows(
    client_id: int,
    kind: str,
    *,
    title: str,
    body: str,
    now: datetime,
    timezone: str,
    life: timedelta | None,
    reminder: Reminder | None,
    subscriptions: list[tuple[int, str]],
) -> list[dict]:
    """The outbox rows for one notification to each of these phones.

    Held until the client's quiet hours end, when they have any.
    """
    if not subscriptions:
        return []
    send_at = now
    if reminder is not None:
        send_at = after_quiet_hours(
            now, ZoneInfo(timezone), reminder.quiet_start, reminder.quiet_end
        )
    rules = payloads.KINDS[kind]
    life = life or rules.life
    message_id = str(uuid.uuid4())
    return [
        {
            "message_id": message_id,
            "client_id": client_id,
            "subscription_id": subscription_id,
            "kind": kind,
            "payload": payloads.build_payload(
                kind=kind, message_id=message_id, origin=app_origin(origin),
                title=title, body=body, now=send_at,
            ),
            "topic": payloads.topic_for(kind, client_id),
            "urgency": rules.urgency,
            "ttl": int(life.total_seconds()),
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": send_at,
            "expires_at": send_at + life,
            "created_at": now,
        }
        for subscription_id, origin in subscriptions
    ]  # fmt: skip


def insert_rows(rows: list[dict]) -> None:
    """One multi-row INSERT. A Core statement: it does not flush the session's pending changes,
    so a batch of reminders is written in one go at commit."""
    if rows:
        db.session.execute(insert(_table), rows)


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    client_id: int
    attempts: int
    payload: str  # the stored JSON text, sent as it is
    topic: str
    urgency: str
    expires_at: datetime
    subscription_id: int | None
    endpoint: str | None
    p256dh: str | None
    auth: str | None


def _due(now: datetime):
    return and_(_table.c.status.in_(("queued", "sending")), _table.c.next_attempt_at <= now)


def any_due(now: datetime) -> bool:
    """A plain read, so an idle worker does not take SQLite's write lock every poll."""
    found = db.session.scalar(select(_table.c.id).where(_due(now)).limit(1))
    db.session.rollback()
    return found is not None


def claim(worker: str, limit: int, now: datetime, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due rows (queued, or abandoned by a worker whose lease ran out)."""
    due = _due(now)
    ids = list(
        db.session.scalars(
            select(_table.c.id)
            .where(due)
            .order_by(_table.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        db.session.commit()
        return []
    db.session.execute(
        update(_table)
        .where(_table.c.id.in_(ids))
        .values(
            status="sending",
            claimed_by=worker,
            claimed_at=now,
            next_attempt_at=now + lease,
            attempts=_table.c.attempts + 1,
        )
    )
    subscriptions = PushSubscription.__table__
    rows = db.session.execute(
        select(
            _table.c.id, _table.c.message_id, _table.c.client_id, _table.c.attempts,
            cast(_table.c.payload, Text), _table.c.topic, _table.c.urgency, _table.c.expires_at,
            _table.c.subscription_id, subscriptions.c.endpoint, subscriptions.c.p256dh,
            subscriptions.c.auth,
        )
        .select_from(_table.outerjoin(subscriptions, subscriptions.c.id == _table.c.subscription_id))
        .where(_table.c.id.in_(ids))
    ).all()  # fmt: skip
    db.session.commit()
    return [Claimed(*row) for row in rows]


def backoff(attempts: int, base: timedelta = BACKOFF_BASE) -> timedelta:
    """Exponential with jitter: 30 s, 1 min, 2 min ... (from `base`, PUSH_RETRY_SECONDS) up to
    an hour, each times 0.5 to 1."""
    ceiling = min(BACKOFF_CAP, base * (2 ** max(0, attempts - 1)))
    return ceiling * random.uniform(0.5, 1.0)


def _finish(
    row: Claimed, outcome: Outcome, now: datetime, max_attempts: int, retry_base: timedelta
) -> dict:
    """The row's new state after an attempt that did not deliver it."""
    values = {"status": "queued", "attempts": row.attempts, "last_error": None,
              "next_attempt_at": now, "delivered_at": None}  # fmt: skip
    if outcome.result in ("gone", "failed", "expired"):
        values.update(
            status="dead" if outcome.result == "expired" else "failed", last_error=outcome.reason
        )
    elif outcome.result in ("released", "deferred"):
        # Never sent: the try does not count.
        values.update(attempts=row.attempts - 1, last_error=outcome.reason or None)
        if outcome.retry_after:
            values["next_attempt_at"] = now + timedelta(seconds=outcome.retry_after)
    else:
        delay = backoff(row.attempts, retry_base)
        if outcome.retry_after is not None:
            delay = max(delay, timedelta(seconds=outcome.retry_after))
        values.update(last_error=outcome.reason, next_attempt_at=now + delay)
        if row.attempts >= max_attempts:
            values.update(
                status="dead", last_error=f"gave up after {row.attempts} tries: {outcome.reason}"
            )
        elif now + delay >= row.expires_at:
            values.update(status="dead", last_error=f"expired while retrying: {outcome.reason}")
    values["last_error"] = values["last_error"][:1000] if values["last_error"] else None
    return values


def record(
    worker: str,
    results: list[tuple[Claimed, Outcome]],
    now: datetime,
    max_attempts: int,
    retry_base: timedelta = BACKOFF_BASE,
) -> None:
    """Store what happened to a batch, in one transaction.

    Only rows this worker still holds are written: if its lease ran out and another worker took
    a row over, that worker's result is the one that counts.
    """
    if not results:
        return
    held = (_table.c.claimed_by == worker, _table.c.status == "sending")
    delivered = [row.id for row, outcome in results if outcome.result == "delivered"]
    if delivered:
        # The usual case, in one statement.
        db.session.execute(
            update(_table)
            .where(_table.c.id.in_(delivered), *held)
            .values(
                status="delivered",
                delivered_at=now,
                next_attempt_at=now,
                last_error=None,
                claimed_by=None,
            )
        )
    # Bound names differ from the column names: SQLAlchemy reserves those for its own use.
    updates = [
        {
            "b_id": row.id,
            "b_worker": worker,
            **{
                f"v_{k}": v for k, v in _finish(row, outcome, now, max_attempts, retry_base).items()
            },
        }
        for row, outcome in results
        if outcome.result != "delivered"
    ]
    if updates:
        db.session.execute(
            update(_table)
            .where(
                _table.c.id == bindparam("b_id"),
                _table.c.claimed_by == bindparam("b_worker"),
                _table.c.status == "sending",
            )
            .values(
                status=bindparam("v_status"),
                attempts=bindparam("v_attempts"),
                last_error=bindparam("v_last_error"),
                next_attempt_at=bindparam("v_next_attempt_at"),
                delivered_at=bindparam("v_delivered_at"),
                claimed_by=None,
            ),
            updates,
        )
    gone = {
        row.subscription_id
        for row, outcome in results
        if outcome.result == "gone" and row.subscription_id
    }
    if gone:
        # The browser unsubscribed or the subscription expired: stop sending to it for good.
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    db.session.commit()


def prune(now: datetime, retention: timedelta) -> int:
    """Delete finished notifications older than the retention period."""
    result = db.session.execute(
        delete(_table).where(
            _table.c.status.in_(FINISHED), _table.c.next_attempt_at < now - retention
        )
    )
    db.session.commit()
    return result.rowcount or 0
