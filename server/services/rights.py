"""People's rights over their data: exports, handing a client over, and deleting accounts."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update

from server.errors import Conflict, Invalid, WrongPassword
from server.extensions import db
from server.models import (
    Assignment,
    AuditEvent,
    Client,
    DeviceSession,
    Exercise,
    Invite,
    Notification,
    PushSubscription,
    Reminder,
    Routine,
    SessionLog,
    Therapist,
)
from server.orm import utcnow
from server.services import audit, clients
from server.services.accounts import find_by_email
from server.services.secrets import verify_password

LOG_COLUMNS = (
    "id", "performed_at", "local_date", "assignment_id", "routine", "completed_items",
    "pain_before", "pain_after", "effort", "note", "received_at",
)  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _own_rows(model, client_id: int, order) -> list:
    return list(
        db.session.scalars(select(model).where(model.client_id == client_id).order_by(*order))
    )


def client_export(client: Client) -> dict:
    """Everything Limber holds about the client, for GET /api/me/export."""
    now = utcnow()
    subscriptions = _own_rows(PushSubscription, client.id, [PushSubscription.created_at])
    notifications = _own_rows(Notification, client.id, [Notification.created_at, Notification.id])
    return {
        "format": "limber-client-export/1",
        "exported_at": now,
        "profile": {
            "id": client.id,
            "name": client.name,
            "email": client.email,
            "timezone": client.timezone,
            "created_at": client.created_at,
            "therapist": client.therapist,
        },  # fmt: skip
        "assignments": _own_rows(Assignment, client.id, [Assignment.created_at, Assignment.id]),
        "sessions": _own_rows(SessionLog, client.id, [SessionLog.performed_at, SessionLog.id]),
        "reminder": db.session.get(Reminder, client.id),
        "devices": _own_rows(DeviceSession, client.id, [DeviceSession.created_at]),
        "push_subscriptions": [
            {
                "push_service": urlsplit(s.endpoint).hostname or "",
                "user_agent": s.user_agent,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
            }
            for s in subscriptions
        ],
        "invites": _own_rows(Invite, client.id, [Invite.created_at]),
        "notifications": [
            {
                "kind": n.kind,
                "title": n.payload.get("notification", {}).get("title", ""),
                "body": n.payload.get("notification", {}).get("body", ""),
                "status": n.status,
                "created_at": n.created_at,
                "delivered_at": n.delivered_at,
            }
            for n in notifications
        ],
        "audit_trail": audit.client_trail(client),
    }


def _cell(value) -> str:
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def logs_csv(rows: list[tuple[tuple, SessionLog, str]], extra_columns: tuple[str, ...] = ()) -> str:
    """Session logs as CSV with a header row; text a spreadsheet would run is quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*extra_columns, *LOG_COLUMNS])
    for extra, log, title in rows:
        writer.writerow(
            [_cell(v) for v in extra]
            + [
                _cell(v)
                for v in (
                    log.id, log.performed_at, log.local_date, log.assignment_id, title,
                    " ".join(str(i) for i in log.completed_items), log.pain_before,
                    log.pain_after, log.effort, log.note, log.received_at,
                )
            ]
        )  # fmt: skip
    return out.getvalue()


def _logs_with_titles(condition):
    return db.session.execute(
        select(SessionLog, Assignment.title, Client.id, Client.name)
        .join(Client, Client.id == SessionLog.client_id)
        .outerjoin(Assignment, Assignment.id == SessionLog.assignment_id)
        .where(condition)
        .order_by(Client.name, Client.id, SessionLog.performed_at, SessionLog.id)
    ).all()


def client_logs_csv(client: Client) -> str:
    rows = _logs_with_titles(SessionLog.client_id == client.id)
    return logs_csv([((), log, title or "") for log, title, _, _ in rows])


def practice_logs_csv(therapist: Therapist) -> str:
    _audit_export(therapist)
    rows = _logs_with_titles(Client.therapist_id == therapist.id)
    return logs_csv(
        [((cid, name), log, title or "") for log, title, cid, name in rows],
        ("client_id", "client_name"),
    )


def _audit_export(therapist: Therapist) -> None:
    # An export reads every client's whole record: each client sees it in their own trail.
    client_ids = db.session.scalars(select(Client.id).where(Client.therapist_id == therapist.id))
    audit.record_each(therapist, list(client_ids), "export.read")


def practice_export(therapist: Therapist) -> dict:
    """The therapist's whole practice: clients, own exercises and routines, assignments, logs."""
    _audit_export(therapist)
    client_ids = select(Client.id).where(Client.therapist_id == therapist.id)
    return {
        "format": "limber-practice-export/1",
        "exported_at": utcnow(),
        "therapist": therapist,
        "clients": list(
            db.session.scalars(
                select(Client)
                .where(Client.therapist_id == therapist.id)
                .order_by(Client.name, Client.id)
            )
        ),
        "exercises": list(
            db.session.scalars(
                select(Exercise).where(Exercise.owner_id == therapist.id).order_by(Exercise.id)
            )
        ),
        "routines": list(
            db.session.scalars(
                select(Routine).where(Routine.owner_id == therapist.id).order_by(Routine.id)
            )
        ),
        "assignments": list(
            db.session.scalars(
                select(Assignment)
                .where(Assignment.client_id.in_(client_ids))
                .order_by(Assignment.client_id, Assignment.created_at, Assignment.id)
            )
        ),
        "sessions": list(
            db.session.scalars(
                select(SessionLog)
                .where(SessionLog.client_id.in_(client_ids))
                .order_by(SessionLog.client_id, SessionLog.performed_at, SessionLog.id)
            )
        ),
    }


def hand_over(therapist: Therapist, client_id: int, email: str) -> Client:
    """Give a client to another registered therapist. The client keeps everything (routines,
    logs, reminder) and stays signed in; the new therapist sees them from now on."""
    client = clients.load_client(therapist, client_id, audit.HANDOVER)
    receiver = find_by_email(email.strip())
    if receiver is None:
        raise Invalid("therapist_email", "No therapist with this email has a Limber account.")
    if receiver.id == therapist.id:
        raise Invalid("therapist_email", "This client is already yours.")
    client.therapist_id = receiver.id
    # Assignments keep their snapshot; a link to the old therapist's own routine would point
    # at something the new therapist cannot open.
    db.session.execute(
        update(Assignment)
        .where(
            Assignment.client_id == client.id,
            Assignment.routine_id.in_(select(Routine.id).where(Routine.owner_id == therapist.id)),
        )
        .values(routine_id=None)
    )
    db.session.commit()
    return client


def delete_therapist(therapist: Therapist, password: str | None) -> None:
    """Delete the therapist's account, own exercises and routines, once no client is left."""
    if not password:
        raise Invalid("password", "Enter your password to delete your account.")
    if not verify_password(therapist.password_hash, password):
        raise WrongPassword("password")
    remaining = db.session.scalar(
        select(func.count()).select_from(Client).where(Client.therapist_id == therapist.id)
    )
    if remaining:
        raise Conflict(
            f"You still have {remaining} client(s), archived ones included: hand them over to "
            "another therapist or delete them first."
        )
    # Their overview rows describe no one else; rows about clients (handed over) stay in those
    # clients' trails with the therapist's name.
    db.session.execute(
        delete(AuditEvent).where(
            AuditEvent.therapist_id == therapist.id, AuditEvent.client_id.is_(None)
        )
    )
    db.session.execute(delete(Therapist).where(Therapist.id == therapist.id))
    db.session.commit()
    db.session.expunge_all()
