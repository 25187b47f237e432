"""The sender adapter: `webpush` encrypts, everything else the push protocol needs is here.

`webpush.WebPush.get()` cannot be used as it is: it keeps per-call ttl and subscriber on the
instance (threads would send each other's values), signs a new JWT for every message, puts
the origin without its port in `aud`, always prefixes `sub` with "mailto:", and sends no
Urgency or Topic. So one WebPush instance is made, never changed, and used only to encrypt
(RFC 8291 aes128gcm, `_encrypt`, pinned with webpush==1.0.6 and checked by the tests against
the independent `http_ece`); the VAPID header, headers and HTTP (server/push/http.py) are ours.
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
from webpush import WebPush
from webpush.types import WebPushKeys, WebPushSubscription

from server.push.http import Connection, StaleConnection
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
# Each sending thread keeps a window of requests in flight, one connection each.
IDLE_CONNECTIONS_PER_ORIGIN = 64


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
def _route(endpoint: str) -> tuple[str, str]:
    parts = urlsplit(endpoint)
    return parts.netloc, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@lru_cache(maxsize=65536)
def _subscription(endpoint: str, p256dh: str, auth: str) -> WebPushSubscription:
    return WebPushSubscription(endpoint=endpoint, keys=WebPushKeys(p256dh=p256dh, auth=auth))


def _remaining(deadline: float) -> float:
    """Seconds left before the window's deadline; past it, sockets give up almost at once."""
    return max(0.01, deadline - time.monotonic())


def _network_trouble(error: OSError) -> Outcome:
    return Outcome("retry", f"network error: {type(error).__name__}: {error}"[:300])


class _OriginPool:
    """Keep-alive connections to one push service; each is used by one thread at a time."""

    def __init__(self, endpoint: str, context: ssl.SSLContext):
        parts = urlsplit(endpoint)
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = context if parts.scheme == "https" else None
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def acquire(self, timeout: float) -> Connection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            return Connection(self._host, self._port, timeout, self._tls)
        connection.settimeout(timeout)
        return connection

    def release(self, connection: Connection) -> None:
        with self._lock:
            if len(self._idle) < IDLE_CONNECTIONS_PER_ORIGIN:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class PushSender:
    """Encrypts, signs and POSTs push messages. Thread-safe; one per process."""

    def __init__(
        self,
        keys: VapidKeys,
        contact: str,
        policy: EndpointPolicy,
        timeout: float = 10.0,
        clock=time.time,
    ):
        self._webpush = WebPush(private_key=keys.private_pem(), public_key=keys.public_pem())
        self._signing_key = keys.private_key
        self._k = keys.application_server_key
        self._contact = contact
        self._policy = policy
        self._timeout = timeout
        self._clock = clock
        self._tls = ssl.create_default_context()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()
        self._pools: dict[str, _OriginPool] = {}
        self._pools_lock = threading.Lock()
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

    def _pool(self, origin: str, endpoint: str) -> _OriginPool:
        with self._pools_lock:
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = _OriginPool(endpoint, self._tls)
            return pool

    def send(self, message: PushMessage) -> Outcome:
        """Deliver one message; never raises for anything the network or the service does."""
        return self.send_many([message])[0]

    def send_many(self, messages: list[PushMessage]) -> list[Outcome]:
        """Deliver several messages from one thread: every request goes out, each on its own
        kept-alive connection, before any answer is read, so the thread waits once for all of
        them. (Threads that each wait on one answer at a time spend more CPU handing the GIL
        around than on encryption.)"""
        outcomes: list[Outcome | None] = [None] * len(messages)
        in_flight = []
        # One deadline for the window: answers are read one after another, and a service that
        # hangs must not hold the thread for a timeout per message.
        deadline = time.monotonic() + 2 * self._timeout
        for index, message in enumerate(messages):
            prepared = self._prepare(message)
            if isinstance(prepared, Outcome):
                outcomes[index] = prepared
                continue
            pool, request = prepared
            connection, outcome = self._start(pool, request, deadline)
            if outcome is not None:
                outcomes[index] = outcome
            else:
                in_flight.append((index, pool, request, connection))
        for index, pool, request, connection in in_flight:
            outcomes[index] = self._answer(pool, request, connection, deadline)
        return outcomes

    def _prepare(self, message: PushMessage) -> Outcome | tuple[_OriginPool, bytes]:
        problem = self._problem(message)
        if problem:
            return Outcome("failed", problem)
        origin = endpoint_origin(message.endpoint)
        try:
            body = self.encrypt(message)
        except ValueError as error:
            return Outcome("failed", f"cannot encrypt for this subscription: {error}")
        netloc, target = _route(message.endpoint)
        # One write for head and body. The endpoint passed the policy (no spaces or control
        # characters) and every other value is ours, so nothing can inject a header.
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {netloc}\r\nContent-Length: {len(body)}\r\n"
            f"TTL: {message.ttl}\r\nUrgency: {message.urgency}\r\nTopic: {message.topic}\r\n"
            f"Content-Encoding: aes128gcm\r\nContent-Type: application/octet-stream\r\n"
            f"Authorization: {self.authorization(origin)}\r\n\r\n"
        )
        return self._pool(origin, message.endpoint), head.encode("ascii") + body

    @staticmethod
    def _start(
        pool: _OriginPool, request: bytes, deadline: float
    ) -> tuple[Connection | None, Outcome | None]:
        for _ in range(2):
            connection = None
            try:
                connection = pool.acquire(_remaining(deadline))
                connection.send(request)
                return connection, None
            except StaleConnection:
                # The service closed its idle connections (a restart, an idle timeout).
                connection.close()
                pool.close()
            except OSError as error:
                if connection is not None:
                    connection.close()
                return None, _network_trouble(error)
        return None, Outcome("retry", "connection lost twice")

    def _answer(
        self,
        pool: _OriginPool,
        request: bytes,
        connection: Connection,
        deadline: float,
        again: bool = False,
    ) -> Outcome:
        try:
            connection.settimeout(_remaining(deadline))
            response = connection.receive(MAX_RESPONSE_BYTES)
        except StaleConnection:
            connection.close()
            pool.close()
            if again:
                return Outcome("retry", "connection lost twice")
            connection, outcome = self._start(pool, request, deadline)
            return outcome or self._answer(pool, request, connection, deadline, again=True)
        except OSError as error:
            connection.close()
            return _network_trouble(error)
        if response.keep_alive:
            pool.release(connection)
        else:
            connection.close()
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
        return classify(response.status, response.reason, response.body, retry_after)

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
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
