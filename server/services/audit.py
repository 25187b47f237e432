"""The audit trail: record each time a therapist reads or changes a client's data, and show a
client who accessed their record.

Changes are recorded in the transaction of the change (the caller commits), so a change and its
row exist together or not at all. Reads (actions ending in ".read") are recorded in their own
short write transaction on their own connection, like the session touch in device_sessions: a
GET keeps its read-only transaction, so on SQLite it never has to upgrade to a writer (which
would fail at once with "database is locked" instead of waiting). A read inside a write request
joins that request's transaction instead (its own connection would wait for the lock the request
holds). Reads are audited at the API: a service called directly (a test, a command) records none.
"""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context
from sqlalchemy import and_, false, insert, or_, select, true

from server.database import is_writing, write_transactions
from server.extensions import db
from server.models import AuditEvent, Client, Therapist
from server.orm import utcnow

READ_SUFFIX = ".read"
# Views of all of a therapist's clients at once: one row per view with no client (see the model).
OVERVIEW_ACTIONS = ("dashboard.read", "clients.read")
HANDOVER = "client.handover"
MAX_PAGE = 200

# What each action means, in the words the client's "Who has seen my record" list uses.
DESCRIPTIONS = {
    "client.read": "viewed your details",
    "client.update": "changed your details",
    "clients.read": "viewed their client list, which includes you",
    "dashboard.read": "viewed their dashboard, which includes your progress",
    "assignments.read": "viewed your routines",
    "assignment.create": "gave you a routine",
    "assignment.update": "changed one of your routines",
    "sessions.read": "viewed your session log",
    "adherence.read": "viewed your progress and pain trend",
    "devices.read": "viewed your signed-in devices",
    "device.revoke": "signed one of your devices out",
    "invite.create": "made an invite for your phone",
    "nudge": "sent you a nudge",
    HANDOVER: "handed your record over to another therapist",
    "export.read": "exported their practice's records, yours included",
}


def record(therapist: Therapist, client_id: int | None, action: str) -> None:
    """Note that the therapist did `action` to the client's data (None: to all their clients)."""
    record_each(therapist, [client_id], action)


def record_each(therapist: Therapist, client_ids: list[int | None], action: str) -> None:
    """The same, for several clients at once (one statement)."""
    if action not in DESCRIPTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    now = utcnow()
    rows = [
        {"at": now, "therapist_id": therapist.id, "therapist_name": therapist.name,
         "client_id": client_id, "action": action}
        for client_id in client_ids
    ]  # fmt: skip
    if not rows:
        return
    if not action.endswith(READ_SUFFIX):
        db.session.add_all(AuditEvent(**row) for row in rows)
    elif not has_request_context():
        # A service called directly (a test, a command) is not a person viewing the record.
        return
    elif is_writing():
        db.session.add_all(AuditEvent(**row) for row in rows)
    else:
        with write_transactions(), db.engine.begin() as connection:
            connection.execute(insert(AuditEvent), rows)


def _client_periods(client: Client) -> list[tuple[int | None, datetime, datetime | None]]:
    """(therapist id, from, until) for each therapist the client has had, oldest first.

    A handover row's actor is the therapist who gave the client away at that moment."""
    handovers = db.session.execute(
        select(AuditEvent.at, AuditEvent.therapist_id)
        .where(AuditEvent.client_id == client.id, AuditEvent.action == HANDOVER)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    periods, start = [], client.created_at
    for at, therapist_id in handovers:
        periods.append((therapist_id, start, at))
        start = at
    periods.append((client.therapist_id, start, None))
    return periods


def _about(client: Client):
    """The rows of a client's trail: about them, and overviews that listed them."""
    overviews = [
        and_(
            AuditEvent.therapist_id == therapist_id,
            AuditEvent.at >= start,
            AuditEvent.at < until if until is not None else true(),
        )
        for therapist_id, start, until in _client_periods(client)
        if therapist_id is not None
    ]
    return or_(
        AuditEvent.client_id == client.id,
        and_(
            AuditEvent.client_id.is_(None),
            AuditEvent.action.in_(OVERVIEW_ACTIONS),
            or_(false(), *overviews),
        ),
    )


def client_trail(
    client: Client, before: int | None = None, limit: int | None = None
) -> list[AuditEvent]:
    """The client's audit trail, newest first; `before` is the id of the last row of a page."""
    query = select(AuditEvent).where(_about(client)).order_by(AuditEvent.id.desc())
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))
