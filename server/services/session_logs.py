"""Session logs: what clients did, uploaded idempotently from phones that may be offline for weeks."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.errors import Conflict, Invalid
from server.extensions import db
from server.models import Assignment, Client, SessionLog, Therapist
from server.orm import utcnow
from server.services.clients import load_client
from server.services.schedule import local_today

MAX_LATENESS = timedelta(days=30)
MAX_CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_HISTORY = timedelta(days=365)
CONTENT_FIELDS = (
    "assignment_id",
    "performed_at",
    "completed_items",
    "pain_before",
    "pain_after",
    "effort",
    "note",
)
DIFFERENT_CONTENT = "A different session was already saved with this id; make a new id for a new session."


def _content_hash(data: dict) -> str:
    content = {field: data.get(field) for field in CONTENT_FIELDS}
    # The instant, not its spelling: 10:00+01:00 and 09:00Z are the same upload.
    content["performed_at"] = data["performed_at"].timestamp()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_upload(existing: SessionLog, client: Client, content_hash: str) -> SessionLog:
    if existing.client_id != client.id or existing.content_hash != content_hash:
        raise Conflict(DIFFERENT_CONTENT)
    return existing


def record_session(client: Client, data: dict, now: datetime | None = None) -> tuple[SessionLog, bool]:
    """Store a session once. Returns the log and whether it was new.

    The phone's UUID is the idempotency key: the same id with the same content is the stored
    record again (a retry), the same id with other content is a conflict.
    """
    now = now or utcnow()
    content_hash = _content_hash(data)
    existing = db.session.get(SessionLog, data["id"])
    if existing is not None:
        return _same_upload(existing, client, content_hash), False
    performed_at = data["performed_at"]
    if performed_at > now + MAX_CLOCK_SKEW:
        raise Invalid("performed_at", "This time is in the future; check the phone's clock.")
    if performed_at < now - MAX_LATENESS:
        raise Invalid("performed_at", "Sessions older than 30 days can no longer be uploaded.")
    assignment = db.session.get(Assignment, data["assignment_id"])
    if assignment is None or assignment.client_id != client.id:
        raise Invalid("assignment_id", "No such assignment.")
    item_count = len(assignment.routine["items"])
    if any(position >= item_count for position in data["completed_items"]):
        raise Invalid("completed_items", f"This routine has items 0 to {item_count - 1}.")
    log = SessionLog(
        id=data["id"],
        client_id=client.id,
        assignment_id=assignment.id,
        performed_at=performed_at,
        local_date=local_today(client.timezone, performed_at),
        completed_items=sorted(set(data["completed_items"])),
        pain_before=data.get("pain_before"),
        pain_after=data.get("pain_after"),
        effort=data.get("effort"),
        note=data.get("note", ""),
        content_hash=content_hash,
        received_at=now,
    )
    db.session.add(log)
    try:
        # The INSERT runs here, before the client's figures change: on PostgreSQL the same
        # upload racing in on another connection waits for that one and then fails here.
        db.session.flush()
        _note_on_client(client, log.local_date, performed_at)
        db.session.commit()
    except IntegrityError:
        # The same upload raced in on another connection (PostgreSQL): the first one won.
        db.session.rollback()
        existing = db.session.get(SessionLog, data["id"])
        if existing is None:
            raise
        return _same_upload(existing, client, content_hash), False
    return log, True


_CLIENTS = Client.__table__.c
_EARLIER = or_(_CLIENTS.first_session_on.is_(None), _CLIENTS.first_session_on > bindparam("day"))
_LATER = or_(_CLIENTS.last_session_at.is_(None), _CLIENTS.last_session_at < bindparam("at"))
# One conditional UPDATE (built once; every upload runs it), so two uploads at once cannot
# overwrite each other's figures.
_NOTE_ON_CLIENT = (
    update(Client.__table__)
    .where(_CLIENTS.id == bindparam("client_id"))
    .values(
        first_session_on=case((_EARLIER, bindparam("day")), else_=_CLIENTS.first_session_on),
        first_week_ends_on=case(
            (_EARLIER, bindparam("week_end")), else_=_CLIENTS.first_week_ends_on
        ),
        last_session_at=case(
            (_LATER, bindparam("at", type_=_CLIENTS.last_session_at.type)),
            else_=_CLIENTS.last_session_at,
        ),
        session_count=_CLIENTS.session_count + 1,
        updated_at=bindparam("now", type_=_CLIENTS.updated_at.type),
    )
)


def _note_on_client(client: Client, local_date: date, performed_at: datetime) -> None:
    """Keep the client's first week, latest session and session count current, in the same
    transaction as the log."""
    db.session.execute(
        _NOTE_ON_CLIENT,
        {
            "client_id": client.id,
            "day": local_date,
            "week_end": local_date + timedelta(days=6),
            "at": performed_at,
            "now": utcnow(),
        },
    )
    db.session.expire(
        client, ["first_session_on", "first_week_ends_on", "last_session_at", "session_count"]
    )


def _history(client_id: int, first: date, last: date) -> list[SessionLog]:
    return list(
        db.session.scalars(
            select(SessionLog)
            .where(
                SessionLog.client_id == client_id,
                SessionLog.local_date >= first,
                SessionLog.local_date <= last,
            )
            .order_by(SessionLog.performed_at.desc(), SessionLog.id)
        )
    )


def _window(client: Client, first: date | None, last: date | None) -> tuple[date, date]:
    last = last or local_today(client.timezone, utcnow())
    first = first or last - DEFAULT_HISTORY
    if first > last:
        raise Invalid("from", "`from` must be on or before `to`.")
    return first, last


def list_own_sessions(client: Client, first: date | None, last: date | None) -> list[SessionLog]:
    """The client's sessions between two local dates inclusive (default: the last year)."""
    return _history(client.id, *_window(client, first, last))


def list_client_sessions(
    therapist: Therapist, client_id: int, first: date | None, last: date | None
) -> list[SessionLog]:
    client = load_client(therapist, client_id, "sessions.read")
    return _history(client.id, *_window(client, first, last))
