"""Single-use invites that let a client's phone sign in without a password."""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from flask import current_app
from sqlalchemy import select, update

from server.errors import Invalid, NotFound
from server.extensions import db
from server.models import Client, Invite, Therapist
from server.orm import utcnow
from server.services import device_sessions
from server.services.clients import load_client
from server.services.secrets import (
    INVITE_ALPHABET,
    INVITE_LENGTH,
    format_invite_code,
    keyed_hash,
    new_invite_code,
    normalise_invite_code,
)

INVALID_CODE = "This invite code is not valid. It may be used or expired: ask your therapist for a new one."


def _code_hash(code: str) -> str:
    return keyed_hash(current_app.config["SECRET_KEY"], "invite:" + code)


def _well_formed(code: str) -> bool:
    return len(code) == INVITE_LENGTH and all(ch in INVITE_ALPHABET for ch in code)


def join_url(origin: str, code: str) -> str:
    return f"{origin}/join/{code}"


def create_invite(therapist: Therapist, client_id: int) -> tuple[str, Invite]:
    """A fresh invite for the client; earlier unused invites of this client stop working.

    Returns the code as people read it (XXXXX-XXXXX); it is shown once and only its hash is kept.
    """
    client = load_client(therapist, client_id, "invite.create")
    if client.archived_at is not None:
        raise Invalid("client", "This client is archived; restore them before inviting.")
    now = utcnow()
    db.session.execute(
        update(Invite)
        .where(Invite.client_id == client.id, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(expires_at=now)
    )
    code = new_invite_code()
    invite = Invite(
        client_id=client.id,
        code_hash=_code_hash(code),
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["INVITE_TTL_DAYS"]),
    )
    db.session.add(invite)
    db.session.commit()
    return format_invite_code(code), invite


def _usable_invite(raw_code: str) -> Invite | None:
    code = normalise_invite_code(raw_code)
    if not _well_formed(code):
        return None
    invite = db.session.scalar(select(Invite).where(Invite.code_hash == _code_hash(code)))
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        return None
    return invite


def invite_qr_svg(therapist: Therapist, raw_code: str, origin: str) -> bytes:
    """The join link of an open invite of one of the therapist's clients, as an SVG QR code."""
    invite = _usable_invite(raw_code)
    if invite is None or invite.client.therapist_id != therapist.id:
        raise NotFound("No such open invite.")
    url = join_url(origin, format_invite_code(normalise_invite_code(raw_code)))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False, title="Invite link", dark="#1f3a5f"
    )
    return buffer.getvalue()


def claim_invite(raw_code: str, label: str) -> tuple[Client, str]:
    """Use the code once and sign this device in as the client. Every bad code answers alike."""
    invite = _usable_invite(raw_code)
    client = invite.client if invite is not None else None
    if invite is None or client.archived_at is not None:
        raise Invalid("code", INVALID_CODE)
    now = utcnow()
    # The conditional update is the single-use guarantee when two phones claim at once.
    claimed = db.session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise Invalid("code", INVALID_CODE)
    token, _ = device_sessions.start_session(client=client, label=label)
    db.session.commit()
    return client, token
