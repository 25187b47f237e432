"""Web Push: the phones a client receives notifications on, their reminder settings, and the
outbox of notifications waiting to be delivered."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import UTCDateTime, utcnow

NOTIFICATION_STATUSES = ("queued", "sending", "delivered", "failed", "dead")
URGENCIES = ("very-low", "low", "normal", "high")


class PushSubscription(db.Model):
    """One browser's push subscription (PushSubscription.toJSON() on the phone).

    The endpoint identifies the browser, so it is unique: when another client signs in on the
    same phone, the row moves to them instead of notifying both people.
    """

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    user_agent: Mapped[str] = mapped_column(String(120), default="")
    # The web app's origin as the phone saw it: notification links must be absolute URLs.
    app_origin: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(db.Model):
    """A client's daily reminder: local time, weekdays and quiet hours, in the client's zone.

    `next_fire_at` is the earlier of the next regular reminder and a snooze, in UTC and indexed,
    so the worker's scan reads only the reminders that are due.
    """

    __tablename__ = "reminders"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    local_time: Mapped[time] = mapped_column(Time)
    weekdays: Mapped[list[int]] = mapped_column(JSON)  # 0 = Monday
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    # The zone `regular_at` was computed in; the client's own zone is the truth.
    timezone: Mapped[str] = mapped_column(String(64))
    regular_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Local dates, so a reminder is sent at most once a day whatever DST does to the clock.
    last_sent_on: Mapped[date | None] = mapped_column(Date)
    missed_note_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Notification(db.Model):
    """The outbox: one push message to one subscription, written in the transaction that caused it.

    `message_id` is shared by the copies of one notification sent to a client's several phones;
    it is the id the phone acts on ("Done", "Snooze"). While a worker holds a row (`sending`),
    `next_attempt_at` is when its lease runs out and another worker may claim it again.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_client_kind", "client_id", "kind", "created_at"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in NOTIFICATION_STATUSES) + ")", name="status"
        ),
        CheckConstraint(
            "urgency IN (" + ", ".join(f"'{u}'" for u in URGENCIES) + ")", name="urgency"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict] = mapped_column(JSON)
    topic: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    ttl: Mapped[int] = mapped_column(Integer)  # seconds of useful life, from next_attempt_at
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Past this the message is useless (a reminder for a day that is over): never sent late.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
