"""VAPID keys (RFC 8292): one P-256 key pair that identifies this server to push services.

Taken from VAPID_PRIVATE_KEY / VAPID_PUBLIC_KEY (PEM, or the raw base64url forms that web-push
tools print) or made once into instance/vapid_private_key.pem. Browsers bind each subscription
to the public key, so a new key means every phone has to subscribe again.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.config import read_or_create_secret

KEY_FILE = "vapid_private_key.pem"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class PushConfigError(RuntimeError):
    """Push settings that cannot work; raised at start-up with what to change."""


def b64url_decode(value: str) -> bytes:
    """Strict base64url (padding optional): anything outside the alphabet is refused."""
    if not isinstance(value, str) or not _B64URL.match(value):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_point(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its 65-byte uncompressed form; ValueError when it is not one."""
    if len(raw) != 65 or raw[0] != 0x04:
        raise ValueError("not a 65-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    source: str  # "environment" or the key file's path

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @property
    def application_server_key(self) -> str:
        """The public key as pushManager.subscribe({applicationServerKey}) takes it."""
        return b64url_encode(self.public_raw)

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _new_private_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return VapidKeys(key, "").private_pem().decode()


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise PushConfigError(
                f"VAPID_PRIVATE_KEY is not a readable PEM key: {error}"
            ) from error
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise PushConfigError("VAPID_PRIVATE_KEY must be a P-256 (prime256v1) EC key")
        return key
    try:
        raw = b64url_decode(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise PushConfigError(
            "VAPID_PRIVATE_KEY must be a PEM key or the 32-byte private key in base64url"
        )
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as error:
        raise PushConfigError("VAPID_PRIVATE_KEY is not a valid P-256 private key") from error


def parse_public_key(text: str) -> bytes:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise ValueError("not an EC key")
            raw = key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        else:
            raw = b64url_decode(text)
        public_point(raw)
    except ValueError as error:
        raise PushConfigError(
            "VAPID_PUBLIC_KEY must be a PEM key or the 65-byte public key in base64url"
        ) from error
    return raw


def load_vapid_keys(private: str | None, public: str | None, instance_path: Path) -> VapidKeys:
    """The configured key pair, or the one kept in instance/ (made there on first use)."""
    if public and not private:
        raise PushConfigError(
            "VAPID_PUBLIC_KEY is set without VAPID_PRIVATE_KEY; set both or neither"
        )
    if private:
        keys = VapidKeys(parse_private_key(private), "environment")
        if public and parse_public_key(public) != keys.public_raw:
            raise PushConfigError("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
        return keys
    path = Path(instance_path) / KEY_FILE
    # Created exclusively, so gunicorn workers and `flask worker` starting together agree.
    pem = read_or_create_secret(path, _new_private_pem)
    try:
        return VapidKeys(parse_private_key(pem), str(path))
    except PushConfigError as error:
        raise PushConfigError(f"{path}: {error}") from error


def rotate_vapid_keys(instance_path: Path) -> VapidKeys:
    """Replace the key in instance/ with a new one (atomically, readable by the owner only)."""
    path = Path(instance_path) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    pem = _new_private_pem()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(pem)
    os.replace(temporary, path)
    return VapidKeys(parse_private_key(pem), str(path))
