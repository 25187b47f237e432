"""The sender adapter: `webpush` encrypts, everything else the push protocol needs is here.

`webpush.WebPush.get()` cannot be used as it is: it keeps per-call ttl and subscriber on the
instance (threads would send each other's values), signs a new JWT for every message, puts
the origin without its port in `aud`, always prefixes `sub` with "mailto:", and sends no
Urgency or Topic. So one WebPush instance is made, never changed, and used only to encrypt
(RFC 8291 aes128gcm, `_encrypt`, pinned with webpush==1.0.6 and checked by the tests against
the independent `http_ece`); the VAPID header and headers are ours, and urllib3 carries the
requests over pooled keep-alive connections with timeouts and certificate checks.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

import jwt
import urllib3
from urllib3.exceptions import HTTPError as TransportError
from webpush import WebPush
from webpush.types import WebPushKeys, WebPushSubscription

from server.push.keys import VapidKeys
from server.push.payloads import MAX_PLAINTEXT
from server.push.validation import EndpointPolicy, endpoint_origin

# RFC 8292: exp at most 24 hours ahead. Reuse one token per push service for hours (signing is
# as costly as encrypting) and make a new one long before the service would refuse it.
TOKEN_LIFETIME = 12 * 3600
TOKEN_REUSE = 6 * 3600
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_RESPONSE_BYTES = 64 * 1024
# Kept-alive connections per push service; the worker's sending threads share them.
CONNECTIONS_PER_ORIGIN = 16


@dataclass(frozen=True)
class PushMessage:
    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    ttl: int
    urgency: str
    topic: str


@dataclass(frozen=True)
class Outcome:
    """What became of one message: delivered, gone (forget the subscription), failed (do not
    retry), or retry (after `retry_after` seconds when the push service said so)."""

    result: str
    reason: str = ""
    status: int | None = None
    retry_after: float | None = None


def parse_retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def classify(status: int, reason: str, body: bytes, retry_after: float | None) -> Outcome:
    """RFC 8030 and the push services' documented answers."""
    detail = f"{status} {reason}".strip()
    text = body[:200].decode("utf-8", "replace").strip()
    if text:
        detail += ": " + " ".join(text.split())
    if 200 <= status < 300:
        return Outcome("delivered", status=status)
    if status in (404, 410):
        return Outcome("gone", detail, status)
    # 429 too many requests; 406 is how WNS says it is throttling.
    if status in (406, 429) or status >= 500:
        return Outcome("retry", detail, status, retry_after)
    return Outcome("failed", detail, status)


# A phone gets many messages: parse its endpoint and build its webpush model once.
@lru_cache(maxsize=65536)
def _path(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@lru_cache(maxsize=65536)
def _subscription(endpoint: str, p256dh: str, auth: str) -> WebPushSubscription:
    return WebPushSubscription(endpoint=endpoint, keys=WebPushKeys(p256dh=p256dh, auth=auth))


def _network_trouble(error: Exception, path: str) -> Outcome:
    # The reason is logged and stored: the endpoint's path is the subscription's secret.
    detail = str(error).replace(path, "/[endpoint]")
    return Outcome("retry", f"network error: {type(error).__name__}: {detail}"[:300])


class PushSender:
    """Encrypts, signs and POSTs push messages. Thread-safe; one per process."""

    def __init__(
        self,
        keys: VapidKeys,
        contact: str,
        policy: EndpointPolicy,
        timeout: float = 10.0,
        clock=time.time,
        tls: ssl.SSLContext | None = None,
    ):
        self._webpush = WebPush(private_key=keys.private_pem(), public_key=keys.public_pem())
        self._signing_key = keys.private_key
        self._k = keys.application_server_key
        self._contact = contact
        self._policy = policy
        self._timeout = timeout
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()
        # No retries or redirects here: the outbox decides what to retry, and when.
        self._http = urllib3.PoolManager(
            num_pools=100,
            maxsize=CONNECTIONS_PER_ORIGIN,
            block=False,
            retries=False,
            ssl_context=tls or ssl.create_default_context(),
        )
        # Endpoints already checked against the (fixed) policy: a phone gets many messages.
        self._allowed: set[str] = set()

    def authorization(self, origin: str) -> str:
        """The VAPID Authorization header for one push service, cached and renewed early."""
        now = self._clock()
        with self._tokens_lock:
            cached = self._tokens.get(origin)
            if cached is not None and now < cached[1]:
                return cached[0]
            claims = {"aud": origin, "exp": int(now) + TOKEN_LIFETIME, "sub": self._contact}
            token = jwt.encode(claims, self._signing_key, algorithm="ES256")
            header = f"vapid t={token}, k={self._k}"
            self._tokens[origin] = (header, now + TOKEN_REUSE)
            return header

    def encrypt(self, message: PushMessage) -> bytes:
        return self._webpush._encrypt(
            message.payload, _subscription(message.endpoint, message.p256dh, message.auth)
        )

    def send(self, message: PushMessage, timeout: float | None = None) -> Outcome:
        """Deliver one message; never raises for anything the network or the service does."""
        problem = self._problem(message)
        if problem:
            return Outcome("failed", problem)
        try:
            body = self.encrypt(message)
        except ValueError as error:
            return Outcome("failed", f"cannot encrypt for this subscription: {error}")
        headers = {
            "TTL": str(message.ttl),
            "Urgency": message.urgency,
            "Topic": message.topic,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self.authorization(endpoint_origin(message.endpoint)),
        }
        pool, path = self._pool_and_path(message.endpoint)
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=timeout or self._timeout),
                retries=False,
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                answer = response.read(MAX_RESPONSE_BYTES)
                status, reason = response.status, response.reason or ""
                retry_after = response.headers.get("Retry-After")
            finally:
                # A body larger than we read would poison the kept-alive connection: drop it.
                if response.read(1):
                    response.close()
                else:
                    response.release_conn()
        except TransportError as error:
            return _network_trouble(error, path)
        return classify(status, reason, answer, parse_retry_after(retry_after, self._clock()))

    def _pool_and_path(self, endpoint: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        """The kept-alive connection pool of the endpoint's push service, and the path to POST."""
        path = _path(endpoint)
        return self._http.connection_from_url(endpoint), path

    def send_many(self, messages: list[PushMessage]) -> list[Outcome]:
        """Deliver several messages from one thread, all within one deadline: a push service
        that hangs holds the thread (and the worker's lease) for two timeouts at most."""
        deadline = time.monotonic() + 2 * self._timeout
        outcomes = []
        for message in messages:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcomes.append(Outcome("retry", "no time left in this window"))
            else:
                outcomes.append(self.send(message, timeout=min(self._timeout, remaining)))
        return outcomes

    def _problem(self, message: PushMessage) -> str | None:
        if len(message.payload) > MAX_PLAINTEXT:
            return f"payload too large: {len(message.payload)} bytes, at most {MAX_PLAINTEXT}"
        if message.ttl < 1:
            return "TTL must be at least one second"
        if message.urgency not in URGENCIES:
            return f"unknown urgency {message.urgency!r}"
        if not _TOPIC.match(message.topic):
            return "Topic must be 1 to 32 base64url characters"
        if message.endpoint in self._allowed:
            return None
        problem = self._policy.problem(message.endpoint)
        if problem is None and len(self._allowed) < 100_000:
            self._allowed.add(message.endpoint)
        return problem

    def close(self) -> None:
        self._http.clear()
