"""The exercise library, routines and templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.orm import UTCDateTime, utcnow
from server.services.dosing import dose_of


def library_slug_index(table: str) -> Index:
    """Slugs are unique among library entries (owner_id NULL): the loader's key. Therapists'
    own exercises and routines have no slug."""
    return Index(
        f"uq_{table}_library_slug",
        "slug",
        unique=True,
        sqlite_where=db.text("owner_id IS NULL"),
        postgresql_where=db.text("owner_id IS NULL"),
    )


class Exercise(db.Model):
    """One exercise. `owner_id` is NULL for the shipped library, else the therapist who wrote it."""

    __tablename__ = "exercises"
    __table_args__ = (library_slug_index("exercises"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(200), default="")
    # Small closed vocabularies, kept as JSON lists; see services/library.py for how they are searched.
    regions: Mapped[list[str]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    equipment: Mapped[list[str]] = mapped_column(JSON)
    steps: Mapped[list[str]] = mapped_column(JSON)
    cues: Mapped[list[str]] = mapped_column(JSON)
    cautions: Mapped[list[str]] = mapped_column(JSON)
    sets: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int | None] = mapped_column(Integer)
    hold_seconds: Mapped[int | None] = mapped_column(Integer)
    sides: Mapped[int] = mapped_column(Integer)
    rest_seconds: Mapped[int] = mapped_column(Integer)
    illustration: Mapped[str | None] = mapped_column(String(120))
    # A library exercise dropped from routines/ but still used by a routine is retired, not deleted.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def dose(self) -> dict:
        return dose_of(self)


class Routine(db.Model):
    """An ordered list of exercises with doses. Templates are routines to start from.

    `owner_id` NULL means a library template loaded from routines/templates.
    """

    __tablename__ = "routines"
    __table_args__ = (library_slug_index("routines"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapists.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    is_template: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose: Mapped[str] = mapped_column(Text, default="")
    suits: Mapped[str] = mapped_column(Text, default="")
    frequency: Mapped[str] = mapped_column(String(120), default="")
    frequency_per_week: Mapped[int | None] = mapped_column(Integer)
    progression: Mapped[str] = mapped_column(Text, default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[RoutineItem]] = relationship(
        order_by="RoutineItem.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class RoutineItem(db.Model):
    __tablename__ = "routine_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    routine_id: Mapped[int] = mapped_column(ForeignKey("routines.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # No cascade: an exercise in use cannot disappear from under a routine. Checked at commit, so
    # deleting a therapist removes their routines and their own exercises in one statement
    # whatever order the database's cascades run in.
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", deferrable=True, initially="DEFERRED"), index=True
    )
    sets: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int | None] = mapped_column(Integer)
    hold_seconds: Mapped[int | None] = mapped_column(Integer)
    sides: Mapped[int] = mapped_column(Integer)
    rest_seconds: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")

    exercise: Mapped[Exercise] = relationship(lazy="joined", innerjoin=True)

    @property
    def dose(self) -> dict:
        return dose_of(self)
