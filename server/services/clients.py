"""A therapist's clients. Every lookup is scoped to the therapist: a foreign id is a 404."""

from __future__ import annotations

from sqlalchemy import delete, select

from server.errors import NotFound
from server.extensions import db
from server.models import Client, DeviceSession, Reminder, Therapist
from server.orm import utcnow
from server.push.schedule import reschedule
from server.services import audit, device_sessions


def _own_client(therapist: Therapist, client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound("No such client.")
    return client


def load_client(therapist: Therapist, client_id: int, action: str) -> Client:
    """The therapist's client with this id; someone else's client is reported as missing.

    Every service that reaches a client's data for a therapist comes through here, so this is
    where the audit trail is written: `action` says what is done (see services/audit.py)."""
    client = _own_client(therapist, client_id)
    audit.record(therapist, client.id, action)
    return client


def list_clients(therapist: Therapist, include_archived: bool = False) -> list[Client]:
    audit.record(therapist, None, "clients.read")
    query = select(Client).where(Client.therapist_id == therapist.id)
    if not include_archived:
        query = query.where(Client.archived_at.is_(None))
    return list(db.session.scalars(query.order_by(Client.name, Client.id)))


def create_client(therapist: Therapist, name: str, timezone: str, email: str | None) -> Client:
    client = Client(
        therapist_id=therapist.id, name=name.strip(), timezone=timezone, email=email or None
    )
    db.session.add(client)
    db.session.commit()
    return client


def update_client(therapist: Therapist, client_id: int, changes: dict) -> Client:
    """Rename, change email or time zone, archive or restore. Archiving signs the client out."""
    client = load_client(therapist, client_id, "client.update")
    for field in ("name", "email"):
        if field in changes:
            setattr(client, field, changes[field])
    if "timezone" in changes and changes["timezone"] != client.timezone:
        client.timezone = changes["timezone"]
        # The reminder moves with the client, so it still comes at their chosen local time.
        reminder = db.session.get(Reminder, client.id)
        if reminder is not None:
            reschedule(reminder, client.timezone, utcnow())
    if "archived" in changes:
        if changes["archived"] and client.archived_at is None:
            client.archived_at = utcnow()
            device_sessions.end_client_sessions(client.id)
        elif not changes["archived"]:
            client.archived_at = None
    db.session.commit()
    return client


def delete_client(therapist: Therapist, client_id: int) -> None:
    """Delete the client and, through the database's cascades, everything that belongs to them."""
    erase_client(_own_client(therapist, client_id))


def erase_client(client: Client) -> None:
    """Remove the client for good. Every table that refers to a client cascades on delete (their
    logs, phones' sessions and subscriptions, reminder, queued notifications, invites, audit
    rows); tests/test_erasure.py proves no row referring to them is left."""
    db.session.execute(delete(Client).where(Client.id == client.id))
    db.session.commit()
    db.session.expunge_all()


def list_devices(therapist: Therapist, client_id: int) -> list[DeviceSession]:
    """The client's signed-in phones, for the therapist's client page."""
    return device_sessions.client_devices(load_client(therapist, client_id, "devices.read").id)


def revoke_device(therapist: Therapist, client_id: int, session_id: int) -> None:
    """Sign one of the client's phones out (lost, shared or replaced)."""
    device_sessions.end_client_device(
        load_client(therapist, client_id, "device.revoke").id, session_id
    )
