"""What a client was given (assignments) and what they did (session logs)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import UTCDateTime, utcnow


class Assignment(db.Model):
    """A routine given to a client with a schedule.

    The routine is copied into `routine` (a JSON snapshot with each exercise's steps and dose), so
    later edits to the routine or the library never rewrite what the client was given.
    """

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    routine_id: Mapped[int | None] = mapped_column(ForeignKey("routines.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(120))
    routine: Mapped[dict] = mapped_column(JSON)
    estimated_minutes: Mapped[int] = mapped_column(Integer)
    # Either fixed weekdays (0 = Monday ... 6 = Sunday) or a number of sessions a week.
    weekdays: Mapped[list[int] | None] = mapped_column(JSON)
    times_per_week: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Closed and open pauses as [{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD" | null}]; paused days
    # are not planned days, so a pause never counts against adherence.
    pauses: Mapped[list[dict]] = mapped_column(JSON, default=list)
    ended_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SessionLog(db.Model):
    """One routine done by a client. The id is a UUID made on the phone: the idempotency key."""

    __tablename__ = "session_logs"
    __table_args__ = (Index("ix_session_logs_client_day", "client_id", "local_date"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL"), index=True
    )
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The calendar day in the client's time zone when it was done; adherence counts these.
    local_date: Mapped[date] = mapped_column(Date)
    completed_items: Mapped[list[int]] = mapped_column(JSON)
    pain_before: Mapped[int | None] = mapped_column(Integer)
    pain_after: Mapped[int | None] = mapped_column(Integer)
    effort: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    # Hash of the uploaded content: a replay with the same id must carry the same content.
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
