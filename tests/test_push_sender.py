"""The sender adapter against the fake push service, VAPID keys and push settings."""

# ruff: noqa: F811 - the fixtures imported from tests.support.fake_push are redefined as arguments
import copy
import json
import os
import socket
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from server import create_app
from server.push.keys import PushConfigError, VapidKeys, b64url_encode, load_vapid_keys
from server.push.payloads import MAX_PLAINTEXT, build_payload, encode, fit
from server.push.sender import PushMessage, PushSender, parse_retry_after
from server.push.validation import EndpointPolicy, endpoint_origin, resolve_contact
from tests.support.fake_push import CONTACT, FakePushService, fake_push, push_app  # noqa: F401
from tests.support.waiting import wait_for


@pytest.fixture()
def keys():
    return VapidKeys(ec.generate_private_key(ec.SECP256R1()), "test")


@pytest.fixture()
def sender(keys):
    made = PushSender(keys, CONTACT, EndpointPolicy.from_setting("127.0.0.1"), timeout=5)
    yield made
    made.close()


def message(device, payload: bytes = b'{"web_push":8030}', **overrides) -> PushMessage:
    fields = dict(endpoint=device.endpoint, p256dh=device.p256dh, auth=b64url_encode(device.auth),
                  payload=payload, ttl=3600, urgency="normal", topic="reminder-1")  # fmt: skip
    fields.update(overrides)
    return PushMessage(**fields)


def test_a_message_arrives_signed_encrypted_and_with_every_header(fake_push, sender):
    device = fake_push.device()
    payload = build_payload(kind="reminder", message_id="m-1", origin="https://limber.test",
                            title="Time for your hip routine", body="About 8 minutes.", now=_now())  # fmt: skip
    outcome = sender.send(
        message(device, encode(payload), urgency="high", topic="reminder-42", ttl=600)
    )
    assert outcome.result == "delivered" and outcome.status == 201
    [received] = fake_push.messages(device)
    assert received.payload == payload  # decrypted by http_ece with the phone's private key
    assert received.headers["ttl"] == "600"
    assert received.headers["urgency"] == "high" and received.headers["topic"] == "reminder-42"
    # aud is the origin with its (non-default) port; the fake checked the signature with k.
    assert received.jwt_claims["aud"] == fake_push.origin and ":" in fake_push.origin.split("//")[1]
    assert received.jwt_claims["sub"] == CONTACT


def test_the_declarative_payload_shape(fake_push, sender):
    payload = build_payload(kind="reminder", message_id="abc", origin="https://limber.test/",
                            title="T", body="B", now=_now())  # fmt: skip
    assert payload["web_push"] == 8030
    note = payload["notification"]
    assert note["navigate"].startswith("https://limber.test/")
    assert [a["action"] for a in note["actions"]] == ["done", "snooze"]
    assert all(a["navigate"].startswith("https://") for a in note["actions"])
    assert note["data"]["actions_url"] == "/api/notifications/abc/actions"
    assert note["tag"] == "limber-reminder"
    routine = build_payload(
        kind="new_routine", message_id="x", origin="https://l.test", title="T", body="B", now=_now()
    )
    assert "actions" not in routine["notification"]


def test_the_authorization_header_is_reused_and_renewed_before_it_expires(fake_push, keys):
    clock = [1_900_000_000.0]
    sender = PushSender(
        keys, CONTACT, EndpointPolicy.from_setting("127.0.0.1"), clock=lambda: clock[0]
    )
    first = sender.authorization(fake_push.origin)
    assert sender.authorization(fake_push.origin) == first
    assert sender.authorization("https://fcm.googleapis.com") != first  # one per push service
    clock[0] += 5 * 3600
    assert sender.authorization(fake_push.origin) == first
    clock[0] += 2 * 3600  # past the reuse window, hours before the 12 h expiry
    renewed = sender.authorization(fake_push.origin)
    assert renewed != first
    token = renewed.split("t=")[1].split(",")[0]
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - clock[0] <= 24 * 3600


def test_the_webpush_instance_is_never_changed_by_sending(fake_push, sender):
    device = fake_push.device()
    before = copy.copy(vars(sender._webpush))
    for ttl, topic in ((60, "a"), (7200, "b")):
        assert sender.send(message(device, ttl=ttl, topic=topic)).result == "delivered"
    assert vars(sender._webpush) == before
    assert [r.headers["ttl"] for r in fake_push.messages(device)] == ["60", "7200"]


def test_keep_alive_connections_are_reused(fake_push, sender):
    device = fake_push.device()
    for _ in range(5):
        assert sender.send(message(device)).result == "delivered"
    # urllib3 counts the connections each pool opened: one, kept alive for all five.
    assert sender._http.connection_from_url(fake_push.origin).num_connections == 1


def test_payload_limit_is_checked_before_encrypting(fake_push, sender):
    device = fake_push.device()
    exact = json.dumps({"pad": "x" * (MAX_PLAINTEXT - 11)}).encode()
    assert len(exact) == MAX_PLAINTEXT
    assert sender.send(message(device, exact)).result == "delivered"
    assert fake_push.messages(device)[0].plaintext_length == MAX_PLAINTEXT
    too_big = sender.send(message(device, exact + b" "))
    assert too_big.result == "failed" and "too large" in too_big.reason
    assert len(fake_push.messages(device)) == 1
    long_nudge = build_payload(kind="nudge", message_id="m", origin="https://l.test", title="T",
                               body="é" * 5000, now=_now())  # fmt: skip
    assert len(encode(long_nudge)) <= MAX_PLAINTEXT and long_nudge["notification"]["body"].endswith(
        "…"
    )
    assert fit(long_nudge) == long_nudge


@pytest.mark.parametrize(
    ("status", "result"),
    [(201, "delivered"), (404, "gone"), (410, "gone"), (413, "failed"), (400, "failed"),
     (403, "failed"), (429, "retry"), (406, "retry"), (500, "retry"), (503, "retry")],
)  # fmt: skip
def test_each_answer_of_the_push_service(fake_push, sender, status, result):
    device = fake_push.device()
    fake_push.answer(device, status, retry_after="120" if status == 429 else None)
    outcome = sender.send(message(device))
    assert (outcome.result, outcome.status) == (result, status)
    if result != "delivered":
        assert str(status) in outcome.reason
    if status == 429:
        assert outcome.retry_after == 120


def test_unreachable_push_service_is_a_retry_not_a_crash(sender):
    closed = FakePushService(CONTACT)
    device = closed.device()
    closed.httpd.server_close()  # the port is closed: connection refused
    outcome = sender.send(message(device))
    assert outcome.result == "retry" and "network" in outcome.reason


def test_bad_topic_urgency_ttl_or_host_are_refused_without_sending(fake_push, sender):
    device = fake_push.device()
    for overrides in ({"topic": "x" * 33}, {"topic": "has space"}, {"urgency": "urgent"}, {"ttl": 0},
                      {"endpoint": "https://evil.example/push/1"}):  # fmt: skip
        assert sender.send(message(device, **overrides)).result == "failed", overrides
    assert fake_push.messages() == []


def test_retry_after_as_seconds_or_date():
    assert parse_retry_after("30", 0) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 60) == 60
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


def test_origin_keeps_a_non_default_port_only():
    assert endpoint_origin("https://fcm.googleapis.com/fcm/send/x") == "https://fcm.googleapis.com"
    assert endpoint_origin("https://fcm.googleapis.com:443/x") == "https://fcm.googleapis.com"
    assert endpoint_origin("https://push.example.org:8443/x") == "https://push.example.org:8443"
    assert endpoint_origin("http://127.0.0.1:5000/push/a") == "http://127.0.0.1:5000"


def test_contact_must_be_mailto_or_https():
    assert resolve_contact("mailto:clinic@example.org", "") == "mailto:clinic@example.org"
    assert (
        resolve_contact("https://limber.example.org/contact", "")
        == "https://limber.example.org/contact"
    )
    assert resolve_contact("", "https://limber.example.org") == "https://limber.example.org"
    assert resolve_contact("", "") == "mailto:admin@localhost"
    for bad in (
        "clinic@example.org",
        "mailto:",
        "mailto:not an address",
        "http://example.org",
        "ftp://x",
    ):
        with pytest.raises(PushConfigError, match="PUSH_CONTACT"):
            resolve_contact(bad, "")


def test_a_bad_push_setting_stops_start_up(app_config):
    for overrides, message_part in (
        ({"PUSH_CONTACT": "clinic@example.org"}, "PUSH_CONTACT"),
        ({"PUSH_ALLOWED_HOSTS": "*.com"}, "PUSH_ALLOWED_HOSTS"),
        ({"PUSH_ALLOWED_HOSTS": "push.example.org:99999"}, "PUSH_ALLOWED_HOSTS"),
        ({"VAPID_PRIVATE_KEY": "not-a-key"}, "VAPID_PRIVATE_KEY"),
        ({"VAPID_PUBLIC_KEY": "BAAA"}, "VAPID_PUBLIC_KEY"),
        ({"PUSH_LEASE_SECONDS": 30, "PUSH_TIMEOUT_SECONDS": 10}, "PUSH_LEASE_SECONDS"),
        ({"PUSH_RETRY_SECONDS": 0}, "PUSH_RETRY_SECONDS"),
    ):
        with pytest.raises(PushConfigError, match=message_part):
            create_app({**app_config, **overrides})


def test_vapid_keys_from_pem_or_raw_base64url_or_made_once(tmp_path, keys):
    pem = keys.private_pem().decode()
    raw_private = b64url_encode(
        keys.private_key.private_numbers().private_value.to_bytes(32, "big")
    )
    from_pem = load_vapid_keys(pem, keys.public_pem().decode(), tmp_path)
    from_raw = load_vapid_keys(raw_private, keys.application_server_key, tmp_path)
    assert (
        from_pem.application_server_key
        == from_raw.application_server_key
        == keys.application_server_key
    )
    assert from_pem.source == "environment"
    other = VapidKeys(ec.generate_private_key(ec.SECP256R1()), "x")
    with pytest.raises(PushConfigError, match="does not belong"):
        load_vapid_keys(pem, other.application_server_key, tmp_path)
    made = load_vapid_keys(None, None, tmp_path / "instance")
    again = load_vapid_keys(None, None, tmp_path / "instance")
    assert made.application_server_key == again.application_server_key
    assert (tmp_path / "instance" / "vapid_private_key.pem").stat().st_mode & 0o077 == 0


def test_push_keys_command_prints_and_rotates(another_app, tmp_path):
    runner = another_app(INSTANCE_PATH=tmp_path).test_cli_runner()

    def public_key(result):
        assert result.exit_code == 0, result.output
        return result.output.split("public key: ")[1].split()[0]

    public = public_key(runner.invoke(args=["push", "keys"]))
    assert len(public) == 87  # 65 bytes in base64url
    refused = runner.invoke(args=["push", "keys", "--rotate"], input="n\n")
    assert refused.exit_code != 0
    assert public_key(runner.invoke(args=["push", "keys"])) == public
    rotated = runner.invoke(args=["push", "keys", "--rotate", "--yes"])
    assert "rotated" in rotated.output and public_key(rotated) != public
    assert public_key(
        another_app(INSTANCE_PATH=tmp_path).test_cli_runner().invoke(args=["push", "keys"])
    ) == public_key(rotated)


def test_keys_from_the_environment_are_not_rotated(another_app, keys):
    runner = another_app(VAPID_PRIVATE_KEY=keys.private_pem().decode()).test_cli_runner()
    result = runner.invoke(args=["push", "keys", "--rotate", "--yes"])
    assert result.exit_code != 0 and "VAPID_PRIVATE_KEY" in result.output


def _now():
    from server.orm import utcnow

    return utcnow()


class RawServer:
    """A loopback server answering each request with canned bytes (HTTP framing cases)."""

    def __init__(self, answers: list[bytes], close_after: bool = False, tls=None):
        self.answers = list(answers)
        self.close_after = close_after
        self.connections = 0
        self.closed = 0  # connections this server has closed
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_side=True)
        self.origin = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        try:
            self._answer(connection)
        finally:
            connection.close()
            self.closed += 1

    def _answer(self, connection):
        with connection:
            reader = connection.makefile("rb")
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                reader.read(length)
                if not self.answers:
                    continue  # silent: never answers
                connection.sendall(self.answers.pop(0))
                if self.close_after:
                    return

    def close(self):
        self.sock.close()


def raw_message(origin: str, keys) -> PushMessage:
    device_key = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import serialization

    p256dh = b64url_encode(
        device_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    return PushMessage(endpoint=f"{origin}/push/x", p256dh=p256dh, auth=b64url_encode(os.urandom(16)),
                       payload=b"{}", ttl=60, urgency="normal", topic="t")  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "result", "pooled"),
    [
        (b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", "delivered", True),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", "delivered", True),
        (b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "delivered", False),
        (b"HTTP/1.0 201 Created\r\n\r\n", "delivered", False),
        (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"5\r\nslow \r\n4;ext=1\r\ndown\r\n0\r\n\r\n", "retry", True),
        (b"HTTP/1.1 410 Gone\r\nContent-Length: 7\r\n\r\nexpired", "gone", True),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "retry", False),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nshort", "retry", False),
        (b"", "retry", False),
    ],
)  # fmt: skip
def test_http_answers_are_read_exactly(keys, answer, result, pooled):
    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    # As a server does after such answers, it closes the connection unless it keeps it alive.
    server = RawServer([answer, ok], close_after=not pooled)
    sender = PushSender(keys, CONTACT, EndpointPolicy.from_setting("127.0.0.1"), timeout=2)
    try:
        outcome = sender.send(raw_message(server.origin, keys))
        assert outcome.result == result, outcome
        if result == "retry" and outcome.status == 429:
            assert outcome.retry_after == 30 and "slow down" in outcome.reason
        if result == "gone":
            assert outcome.reason == "410 Gone: expired"
        # The next message reuses a kept-alive connection, or opens a new one when it was closed.
        assert sender.send(raw_message(server.origin, keys)).result == "delivered"
        assert server.connections == (1 if pooled else 2)
    finally:
        sender.close()
        server.close()


def test_a_connection_the_service_closed_is_replaced_once(keys):
    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    server = RawServer([ok, ok], close_after=True)  # answers, then closes the kept-alive connection
    sender = PushSender(keys, CONTACT, EndpointPolicy.from_setting("127.0.0.1"), timeout=2)
    try:
        message = raw_message(server.origin, keys)
        assert sender.send(message).result == "delivered"
        # Once the service has closed it (its FIN has arrived), the kept-alive connection is
        # seen as dropped and replaced. (Sent in the instant before, a message is a "retry".)
        wait_for(lambda: server.closed == 1, "the service to close the connection", 10, 0.005)
        assert sender.send(message).result == "delivered"
        assert server.connections == 2
    finally:
        sender.close()
        server.close()


def test_the_size_shortcut_never_underestimates():
    from server.push.payloads import _size_bound

    samples = ['plain', 'quote"s', "back\\slash", "tab\there", "new\nline", "\x00\x1f\x7f", "café",
               "☕ emoji 🧘", "\u2028", "", "x" * 5000]  # fmt: skip
    for text in samples:
        payload = {
            "web_push": 8030,
            "notification": {"title": text, "body": text, "actions": [{"a": text}]},
        }
        assert _size_bound(payload) >= len(encode(payload)), repr(text)


def test_a_service_that_never_answers_is_a_retry_for_the_whole_window(keys):
    server = RawServer([])  # reads requests, answers nothing
    sender = PushSender(keys, CONTACT, EndpointPolicy.from_setting("127.0.0.1"), timeout=0.2)
    try:
        outcomes = sender.send_many([raw_message(server.origin, keys) for _ in range(3)])
        assert [o.result for o in outcomes] == ["retry"] * 3
        # Each waits at most one timeout, and none starts once the window's two are spent.
        assert all("Timeout" in o.reason or "no time left" in o.reason for o in outcomes), outcomes
        assert "Timeout" in outcomes[0].reason and "no time left" in outcomes[-1].reason
    finally:
        sender.close()
        server.close()


def test_https_endpoints_verify_the_certificate(keys, tmp_path):
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    server = RawServer([ok, ok], tls=server_tls)
    port = server.sock.getsockname()[1]
    policy = EndpointPolicy.from_setting(f"localhost:{port}")
    message = raw_message(f"https://localhost:{port}", keys)
    trusting = PushSender(
        keys, CONTACT, policy, timeout=2, tls=ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    )
    default = PushSender(keys, CONTACT, policy, timeout=2)  # the system's CAs: not this one
    try:
        assert trusting.send(message).result == "delivered"
        refused = default.send(message)
        assert refused.result == "retry" and "CERTIFICATE_VERIFY_FAILED" in refused.reason
    finally:
        trusting.close()
        default.close()
        server.close()
