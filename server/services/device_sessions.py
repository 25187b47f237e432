"""Signed-in browsers: start, resolve (with sliding expiry), list and end them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from server.database import write_transactions
from server.errors import NotFound
from server.extensions import db
from server.models import Client, DeviceSession, Therapist
from server.orm import utcnow
from server.services.secrets import hash_token, keyed_hash, new_token

# Sliding expiry is written at most this often, so reading pages does not write on every request.
TOUCH_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a therapist or a client, and through which device session."""

    session: DeviceSession
    therapist: Therapist | None = None
    client: Client | None = None
    # True when this request slid the expiry forward, so the cookie's lifetime should be renewed.
    renewed: bool = False

    @property
    def role(self) -> str:
        return "therapist" if self.therapist is not None else "client"

    @property
    def account_id(self) -> int:
        """The therapist's or the client's id (which one `role` says)."""
        return self.therapist.id if self.therapist is not None else self.client.id


def idle_lifetime(role: str) -> timedelta:
    """How long a session lives without being used: short for therapists, long for phones."""
    days = current_app.config[
        "THERAPIST_SESSION_IDLE_DAYS" if role == "therapist" else "CLIENT_SESSION_IDLE_DAYS"
    ]
    return timedelta(days=days)


def start_session(
    *, therapist: Therapist | None = None, client: Client | None = None, label: str = ""
) -> tuple[str, DeviceSession]:
    """Open a new device session (a new token at every sign-in). The caller commits."""
    token = new_token()
    now = utcnow()
    session = DeviceSession(
        token_hash=hash_token(token),
        therapist_id=therapist.id if therapist else None,
        client_id=client.id if client else None,
        label=label[:120],
        created_at=now,
        last_seen_at=now,
        expires_at=now + idle_lifetime("therapist" if therapist else "client"),
    )
    db.session.add(session)
    return token, session


def csrf_token_for(token: str) -> str:
    """The CSRF token is derived from the session token, so nothing more is stored."""
    return keyed_hash(current_app.config["SECRET_KEY"], "csrf:" + token)[:43]


# Every signed-in request runs this: one statement, built once, for the session and its person.
_SESSION_WITH_PERSON = (
    select(DeviceSession, Therapist, Client)
    .outerjoin(Therapist, Therapist.id == DeviceSession.therapist_id)
    .outerjoin(Client, Client.id == DeviceSession.client_id)
    .where(DeviceSession.token_hash == bindparam("token_hash"))
)


def resolve_session(token: str) -> Principal | None:
    """The principal behind a cookie token, or None when unknown, expired or its client archived."""
    row = db.session.execute(_SESSION_WITH_PERSON, {"token_hash": hash_token(token)}).first()
    now = utcnow()
    if row is None or row.DeviceSession.expires_at <= now:
        return None
    session, therapist, client = row
    if client is not None and client.archived_at is not None:
        return None
    renew = now - session.last_seen_at >= TOUCH_INTERVAL
    principal = Principal(session, therapist=therapist, client=client, renewed=renew)
    if renew:
        _touch(session.id, now, now + idle_lifetime(principal.role))
    return principal


def _touch(session_id: int, now: datetime, expires_at: datetime) -> None:
    # Its own short write transaction on its own connection, so a read-only request never
    # upgrades its transaction to a writer (SQLite would answer SQLITE_BUSY at once).
    with write_transactions(), db.engine.begin() as connection:
        connection.execute(
            update(DeviceSession)
            .where(DeviceSession.id == session_id)
            .values(last_seen_at=now, expires_at=expires_at)
        )


def end_session(session: DeviceSession) -> None:
    db.session.delete(session)
    db.session.commit()


def end_client_sessions(client_id: int) -> None:
    """End every device session of a client (archived or deleted). The caller commits."""
    db.session.execute(delete(DeviceSession).where(DeviceSession.client_id == client_id))


def client_devices(client_id: int) -> list[DeviceSession]:
    return list(
        db.session.scalars(
            select(DeviceSession)
            .where(DeviceSession.client_id == client_id, DeviceSession.expires_at > utcnow())
            .order_by(DeviceSession.last_seen_at.desc())
        )
    )


def end_client_device(client_id: int, session_id: int) -> None:
    result = db.session.execute(
        delete(DeviceSession).where(
            DeviceSession.id == session_id, DeviceSession.client_id == client_id
        )
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise NotFound("No such device session.")
    db.session.commit()


def _owned_by(principal: Principal):
    if principal.therapist is not None:
        return DeviceSession.therapist_id == principal.therapist.id
    return DeviceSession.client_id == principal.client.id


def list_own_sessions(principal: Principal) -> list[dict]:
    """The person's live sessions, most recently used first, marking the one making this call."""
    sessions = db.session.scalars(
        select(DeviceSession)
        .where(_owned_by(principal), DeviceSession.expires_at > utcnow())
        .order_by(DeviceSession.last_seen_at.desc())
    )
    return [
        {
            "id": s.id,
            "label": s.label,
            "created_at": s.created_at,
            "last_seen_at": s.last_seen_at,
            "expires_at": s.expires_at,
            "current": s.id == principal.session.id,
        }
        for s in sessions
    ]


def sign_out_everywhere(principal: Principal) -> None:
    db.session.execute(delete(DeviceSession).where(_owned_by(principal)))
    db.session.commit()


def revoke_own_session(principal: Principal, session_id: int) -> None:
    """End one of the signed-in person's own sessions (a lost phone, an old laptop)."""
    result = db.session.execute(
        delete(DeviceSession).where(DeviceSession.id == session_id, _owned_by(principal))
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise NotFound("No such session.")
    db.session.commit()
