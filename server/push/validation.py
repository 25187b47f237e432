"""Which push endpoints the server will POST to, and what a subscription's keys must look like.

The endpoint comes from the browser, so from whoever holds a client session: without a list of
push service hosts the server could be made to POST to any address an attacker chose (SSRF).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from server.push.keys import PushConfigError, b64url_decode, public_point

# The push services browsers use: Chrome/Android (FCM), Firefox, Safari, Edge (WNS).
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "*.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)
DEFAULT_CONTACT = "mailto:admin@localhost"
MAX_ENDPOINT_LENGTH = 2048
_HOST_LABELS = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


@dataclass(frozen=True)
class HostRule:
    host: str  # a host name or IP literal; "*.example.com" matches any subdomain
    port: int | None  # None: any port

    @property
    def wildcard(self) -> bool:
        return self.host.startswith("*.")

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            suffix = self.host[1:]
            return host.endswith(suffix) and len(host) > len(suffix)
        return host == self.host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_rule(entry: str) -> HostRule:
    text = entry.strip().lower()
    host, port = text, None
    if text.startswith("["):  # [::1]:8443
        host, _, rest = text[1:].partition("]")
        if rest:
            port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    wildcard = host.startswith("*.")
    bare = host[2:] if wildcard else host
    try:
        ipaddress.ip_address(bare)
        valid = not wildcard
    except ValueError:
        # "*.com" would allow half the internet: a wildcard needs at least two labels after it.
        valid = bool(_HOST_LABELS.match(bare)) and (not wildcard or "." in bare)
    if not valid:
        raise PushConfigError(f"PUSH_ALLOWED_HOSTS: {entry.strip()!r} is not a host name")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise PushConfigError(f"PUSH_ALLOWED_HOSTS: {entry.strip()!r} has a bad port")
    return HostRule(host, int(port) if port is not None else None)


class EndpointPolicy:
    """The push service hosts this server may send to."""

    def __init__(self, rules: tuple[HostRule, ...]):
        self.rules = rules

    @classmethod
    def from_setting(cls, setting: str) -> EndpointPolicy:
        entries = [e for e in (setting or "").split(",") if e.strip()]
        return cls(tuple(_parse_rule(e) for e in (entries or DEFAULT_PUSH_HOSTS)))

    def problem(self, endpoint: str) -> str | None:
        """Why this endpoint is refused, or None when the server may POST to it."""
        if not isinstance(endpoint, str) or not endpoint:
            return "The endpoint is missing."
        if (
            len(endpoint) > MAX_ENDPOINT_LENGTH
            or not endpoint.isascii()
            or _UNSAFE.search(endpoint)
        ):
            return "The endpoint is not a valid URL."
        try:
            parts = urlsplit(endpoint)
            port = parts.port
        except ValueError:
            return "The endpoint is not a valid URL."
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host:
            return "The endpoint must be an https URL."
        if parts.username is not None or parts.password is not None or parts.fragment:
            return "The endpoint must not carry credentials or a fragment."
        port = port or (443 if parts.scheme == "https" else 80)
        rule = next((r for r in self.rules if r.matches(host, port)), None)
        if rule is None:
            return f"{host} is not a known push service."
        if parts.scheme == "http" and (rule.wildcard or not _is_loopback(host)):
            return "The endpoint must be an https URL."
        return None


@lru_cache(maxsize=65536)
def endpoint_origin(endpoint: str) -> str:
    """scheme://host[:port], the port only when it is not the scheme's default (VAPID `aud`)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    port = parts.port
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def resolve_contact(configured: str, public_url: str) -> str:
    """The VAPID `sub`: PUSH_CONTACT as given, checked; see Config for the default."""
    value = (configured or "").strip()
    if not value:
        value = public_url if public_url.startswith("https://") else DEFAULT_CONTACT
    if value.startswith("mailto:"):
        if _EMAIL.match(value[len("mailto:") :]):
            return value
    elif value.startswith("https://"):
        try:
            if urlsplit(value).hostname:
                return value
        except ValueError:
            pass
    raise PushConfigError(
        f"PUSH_CONTACT must be a mailto: address or an https: URL that push services can use "
        f"to reach you, e.g. mailto:clinic@example.org; got {value!r}"
    )


def p256dh_problem(value: str) -> str | None:
    try:
        public_point(b64url_decode(value))
    except ValueError:
        return "Must be the subscription's P-256 public key: 65 bytes, uncompressed, base64url."
    return None


def auth_problem(value: str) -> str | None:
    try:
        raw = b64url_decode(value)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        return "Must be the subscription's 16-byte auth secret, base64url."
    return None
