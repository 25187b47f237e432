"""A push service on loopback that checks what Limber sends the way a real one and a browser would.

Every request is verified: the VAPID JWT (ES256 with the `k` key, `aud` equal to this server's
origin with its port, `exp` within 24 hours, `sub` as configured), the TTL, Urgency and Topic
headers, and the body, decrypted with the independent `http_ece` package and the test
subscription's private key. Anything wrong is kept in `problems` and answered with a 400.

It answers 201 unless told otherwise per device (`answer(device, 410)`, `answer(device, 429,
retry_after=120)`) or per message (`choose_answer`), can be slowed down, and can hold messages
for an "offline" phone the way a push service does: a newer message with the same Topic replaces
the older one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.log_scan import register_secret

AUTHORIZATION = re.compile(r"^vapid t=([A-Za-z0-9_.-]+),\s*k=([A-Za-z0-9_-]+)$")
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Device:
    """A browser's push subscription, with the private half the server never sees."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def subscription_json(self) -> dict:
        """What PushSubscription.toJSON() gives the web app."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    token: str
    status: int
    headers: dict
    payload: dict | None
    plaintext_length: int
    jwt_claims: dict
    received_at: float = field(default_factory=time.time)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real push services do

    def log_message(self, *args):
        pass

    def do_POST(self):
        service: FakePushService = self.server.service
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender went away mid-request (a killed worker): nothing was delivered.
            self.close_connection = True
            return
        status, extra = service.handle(self.path, dict(self.headers.items()), body)
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        text = b"" if status < 300 else f"fake push service says {status}".encode()
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A sender killed mid-request resets its connection: expected in the fault tests.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _AsyncioServer:
    """A lean HTTP/1.1 keep-alive server for the benchmark: http.server handles about a
    thousand requests a second, which would make the fake, not Limber, set the pace."""

    def __init__(self, service: FakePushService):
        self.service = service
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.server_address = self.sock.getsockname()
        self.loop = asyncio.new_event_loop()
        self._server = None

    def serve_forever(self, _poll=None):
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(
            asyncio.start_server(self._connection, sock=self.sock)
        )
        self.loop.run_forever()

    def shutdown(self):
        self.loop.call_soon_threadsafe(self.loop.stop)

    def server_close(self):
        self.sock.close()

    async def _connection(self, reader, writer):
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                headers = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip()] = value.strip()
                body = await reader.readexactly(int(headers.get("Content-Length") or 0))
                path = request_line.split(b" ")[1].decode()
                status, extra = self.service.handle(path, headers, body)
                lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Length: 0"]
                lines += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class FakePushService:
    def __init__(self, contact: str, *, verify_every: int = 1, fast: bool = False):
        self.contact = contact
        # The benchmark checks a sample (1 in N bodies), so the fake does not set the pace.
        self.verify_every = verify_every
        if fast:
            self.httpd = _AsyncioServer(self)
        else:
            self.httpd = _ThreadingServer(("127.0.0.1", 0), _Handler)
            self.httpd.service = self
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.devices: dict[str, Device] = {}
        self.received: list[Received] = []
        self.problems: list[str] = []
        self.offline: set[str] = set()
        self.held: dict[str, dict[str, Received]] = defaultdict(dict)
        self.delay = 0.0
        # Optional: (token, decrypted payload) -> (status, headers), or None for the usual 201;
        # for answers that depend on the message (the fault test fails some first tries).
        self.choose_answer = None
        self._answers: dict[str, deque] = defaultdict(deque)
        self._verified_tokens: dict[str, dict] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakePushService:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def device(self) -> Device:
        token = secrets.token_urlsafe(12)
        device = Device(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
        )
        self.devices[token] = device
        register_secret(token, "push endpoint")
        register_secret(device.p256dh, "push subscription key")
        register_secret(b64url(device.auth), "push subscription secret")
        return device

    def answer(self, device: Device, *statuses: int, retry_after: str | None = None) -> None:
        """The next answers for this device, in order (201 after they run out)."""
        for status in statuses:
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            self._answers[device.token].append((status, headers))

    def messages(self, device: Device | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if device is None or r.token == device.token]

    def delivered(self, device: Device | None = None) -> list[dict]:
        return [r.payload for r in self.messages(device) if 200 <= r.status < 300]

    def come_online(self, device: Device) -> list[Received]:
        """What an offline phone is handed when it reconnects: one message per Topic."""
        self.offline.discard(device.token)
        with self._lock:
            return list(self.held.pop(device.token, {}).values())

    # -- the push service itself --------------------------------------------------------

    def handle(self, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        headers = {k.lower(): v for k, v in headers.items()}
        if self.delay:
            time.sleep(self.delay)
        token = path.rsplit("/", 1)[-1]
        device = self.devices.get(token)
        if not path.startswith("/push/") or device is None:
            return 404, {}
        with self._lock:
            self._count += 1
            check_body = self._count % self.verify_every == 0
        problems: list[str] = []
        claims = self._check_vapid(headers.get("authorization", ""), problems)
        self._check_headers(headers, body, problems)
        payload, length = None, 0
        if check_body or problems:
            payload, length = self._decrypt(device, body, problems)
        with self._lock:
            if problems:
                self.problems.extend(f"{token}: {p}" for p in problems)
                status, extra = 400, {}
            elif self._answers[token]:
                status, extra = self._answers[token].popleft()
            elif self.choose_answer and (chosen := self.choose_answer(token, payload)):
                status, extra = chosen
            else:
                status, extra = 201, {"Location": f"{self.origin}/message/{secrets.token_hex(4)}"}
            record = Received(token, status, headers, payload, length, claims)
            self.received.append(record)
            if status == 201 and token in self.offline:
                self.held[token][headers.get("topic", secrets.token_hex(4))] = record
        return status, extra

    def _check_vapid(self, authorization: str, problems: list[str]) -> dict:
        match = AUTHORIZATION.match(authorization)
        if not match:
            problems.append(f"Authorization is not 'vapid t=..., k=...': {authorization!r}")
            return {}
        token, k = match.groups()
        claims = self._verified_tokens.get(token)
        if claims is None:
            try:
                raw = base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))
                public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
                claims = jwt.decode(
                    token, public_key, algorithms=["ES256"], audience=self.origin,
                    options={"require": ["aud", "exp", "sub"]},
                )  # fmt: skip
            except (ValueError, jwt.PyJWTError) as error:
                problems.append(f"VAPID JWT rejected: {type(error).__name__}: {error}")
                return {}
            self._verified_tokens[token] = claims
        now = time.time()
        if not now < claims["exp"] <= now + 24 * 3600:
            problems.append(f"exp is not within 24 hours: {claims['exp'] - now:.0f} s")
        if claims["sub"] != self.contact:
            problems.append(f"sub is {claims['sub']!r}, not {self.contact!r}")
        return claims

    @staticmethod
    def _check_headers(headers: dict, body: bytes, problems: list[str]) -> None:
        ttl = headers.get("ttl", "")
        if not ttl.isdigit() or int(ttl) < 1:
            problems.append(f"TTL missing or zero: {ttl!r}")
        if headers.get("urgency") not in ("very-low", "low", "normal", "high"):
            problems.append(f"Urgency missing or unknown: {headers.get('urgency')!r}")
        if not TOPIC.match(headers.get("topic", "")):
            problems.append(
                f"Topic missing or not <= 32 base64url characters: {headers.get('topic')!r}"
            )
        if headers.get("content-encoding") != "aes128gcm":
            problems.append("Content-Encoding is not aes128gcm")
        if len(body) > 4096:
            problems.append(f"body is {len(body)} bytes, over 4096")

    @staticmethod
    def _decrypt(device: Device, body: bytes, problems: list[str]) -> tuple[dict | None, int]:
        try:
            plaintext = http_ece.decrypt(
                body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
            )
        except Exception as error:  # noqa: BLE001 - any failure to decrypt is the finding
            problems.append(f"cannot decrypt: {type(error).__name__}: {error}")
            return None, 0
        try:
            return json.loads(plaintext), len(plaintext)
        except ValueError:
            return {"_raw": plaintext.decode("utf-8", "replace")}, len(plaintext)


# -- fixtures for the push tests (imported by tests/test_push_*.py) ------------------------

CONTACT = "mailto:push-tests@limber.test"


@pytest.fixture(scope="session")
def push_app(app, app_config):
    """The app as the push tests need it: loopback push services allowed, a known contact."""
    from server import create_app
    from server.extensions import db

    push_app = create_app(
        {**app_config, "PUSH_ALLOWED_HOSTS": "127.0.0.1", "PUSH_CONTACT": CONTACT}
    )
    yield push_app
    with push_app.app_context():
        db.engine.dispose()


@pytest.fixture()
def fake_push():
    with FakePushService(CONTACT) as service:
        yield service
    assert not service.problems, service.problems


@pytest.fixture()
def push_make(push_app):
    from tests.conftest import Factory

    return Factory(push_app)


def subscribe(phone, device: Device) -> dict:
    response = phone.post("/api/push/subscriptions", json=device.subscription_json())
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()
