"""Therapist accounts: registration, sign-in and password changes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import delete, func, select

from server.errors import Conflict, Invalid, Unauthorized, WrongPassword
from server.extensions import db
from server.models import DeviceSession, Therapist
from server.services import device_sessions
from server.services.secrets import hash_password, password_needs_rehash, verify_password

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password_strength(password: str, email: str) -> None:
    if password.lower() in _common_passwords() or password.lower() == email.lower():
        raise Invalid("password", "This password is too common; choose another.")


def find_by_email(email: str) -> Therapist | None:
    return db.session.scalar(select(Therapist).where(func.lower(Therapist.email) == email.lower()))


def register_therapist(email: str, password: str, name: str, label: str) -> tuple[Therapist, str]:
    """Create a therapist account and sign it in; returns the account and the session token."""
    email = email.strip().lower()
    check_password_strength(password, email)
    if find_by_email(email) is not None:
        raise Conflict("An account with this email already exists; sign in instead.")
    therapist = Therapist(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(therapist)
    db.session.flush()
    token, _ = device_sessions.start_session(therapist=therapist, label=label)
    db.session.commit()
    return therapist, token


def log_in(email: str, password: str, label: str) -> tuple[Therapist, str]:
    """Check the credentials and open a new session. Unknown email and wrong password look alike."""
    therapist = find_by_email(email.strip())
    if not verify_password(therapist.password_hash if therapist else None, password):
        raise Unauthorized("Email or password is not right.")
    if password_needs_rehash(therapist.password_hash):
        therapist.password_hash = hash_password(password)
    token, _ = device_sessions.start_session(therapist=therapist, label=label)
    db.session.commit()
    return therapist, token


def change_password(therapist: Therapist, current: str, new: str, keep_session_id: int) -> None:
    """Change the password and end every other session of this therapist."""
    if not verify_password(therapist.password_hash, current):
        raise WrongPassword("current_password")
    check_password_strength(new, therapist.email)
    therapist.password_hash = hash_password(new)
    db.session.execute(
        delete(DeviceSession).where(
            DeviceSession.therapist_id == therapist.id, DeviceSession.id != keep_session_id
        )
    )
    db.session.commit()
