"""The audit trail: one row each time a therapist reads or changes a client's data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.orm import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """Who (the therapist), what (a short action name such as "sessions.read") and when.

    `client_id` is NULL for views of many clients at once (the dashboard, the client list): one
    row per view instead of one per client shown; a client's trail includes those rows of their
    therapist while they were that therapist's client. A client's erasure removes their rows.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_client_at", "client_id", "at"),
        Index("ix_audit_events_therapist_at", "therapist_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The actor. Their name is kept too, so a client's trail still says who looked after that
    # therapist's account is deleted (their overview rows go with the account: see accounts).
    therapist_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="SET NULL")
    )
    therapist_name: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
