"""Random tokens, codes and their hashes, and password hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Argon2id at OWASP's recommended minimum (19 MiB, 2 iterations, 1 lane).
_password_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _password_hasher.hash("limber-dummy-password-for-timing")

# Invite codes avoid characters people confuse when reading aloud or typing: 0/O, 1/I/L, U/V.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
INVITE_LENGTH = 10  # 29 ** 10 is about 2 ** 48.6: well over the 40 bits asked for


def new_token() -> str:
    """A 256-bit opaque session token for a cookie."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(secret_key: str, value: str) -> str:
    """HMAC, for short codes: unlike a plain hash, a leaked table cannot be brute-forced offline."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalise_invite_code(raw: str) -> str:
    """Accept codes typed in lower case, with spaces or the dash the app shows in the middle."""
    return "".join(ch for ch in raw.upper() if ch not in " -")


def format_invite_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _password_hasher.check_needs_rehash(password_hash)
