"""Nothing sensitive reaches a log: the run-wide scanner itself, and the app's own precautions
(redacted gunicorn logs, security events by endpoint name, database errors without values)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from flask import request, request_finished, request_started
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from server.config import PROJECT_ROOT
from server.log_redaction import redact
from server.push.sender import _network_trouble
from tests.support import log_scan
from tests.support.log_scan import LogScanner


def private_logger(scanner: LogScanner, name: str) -> logging.Logger:
    """A logger only `scanner` hears, so a planted secret never reaches the run's own scan."""
    logger = logging.getLogger(f"tests.log_scan_self_test.{name}")
    logger.propagate = False
    logger.handlers = [scanner._handler]
    logger.setLevel(logging.INFO)
    return logger


def test_the_scanner_finds_a_planted_secret_in_a_log_line():
    scanner = LogScanner()
    scanner.register_secret("planted-secret-value-42", "password")
    logger = private_logger(scanner, "planted")
    logger.info("an innocent line")
    logger.warning("user typed %s by mistake", "planted-secret-value-42")
    [leak] = scanner.leaks()
    assert leak.kind == "password"
    assert leak.source == f"logger {logger.name}"
    assert "user typed planted-secret-value-42" in leak.line


def test_the_scanner_finds_secrets_in_tracebacks_and_registered_files(tmp_path):
    scanner = LogScanner()
    scanner.register_secret("tb-secret-0123456789", "note")
    scanner.register_secret("file-secret-0123456789", "invite code")
    logger = private_logger(scanner, "traceback")
    try:
        raise ValueError("bad value tb-secret-0123456789")
    except ValueError:
        logger.exception("failed")
    log_file = tmp_path / "worker.log"
    log_file.write_text("started\nclaimed file-secret-0123456789\n")
    scanner.register_log_file(log_file)
    kinds = {(leak.kind, leak.source) for leak in scanner.leaks()}
    assert kinds == {("note", f"logger {logger.name}"), ("invite code", str(log_file))}


def test_the_scanner_ignores_short_and_filler_values():
    scanner = LogScanner()
    for value in ("short", "x" * 50, None, ""):
        scanner.register_secret(value)
    assert scanner.secrets == {}


def test_the_scanner_learns_secrets_from_requests_and_answers(app, make):
    scanner = LogScanner()

    def on_request(_app, **_extra):
        scanner.record_request(request)

    def on_response(_app, response, **_extra):
        scanner.record_response(response)

    with request_started.connected_to(on_request), request_finished.connected_to(on_response):
        therapist = make.therapist()
        client = make.client_of(therapist)
        invite = therapist.post(f"/api/clients/{client['id']}/invites").get_json()
    token = therapist.http.get_cookie("limber_session").value
    kinds = scanner.secrets
    assert kinds["correct horse battery staple"] == "password"
    assert kinds[token] == "session token"
    assert kinds[therapist.csrf] == "CSRF token"
    assert kinds[invite["code"]] == "invite code"
    assert kinds[invite["code"].replace("-", "")] == "invite code"


def test_the_run_scanner_is_listening():
    """The run's scan is not vacuous: its handler is on the root logger, it has heard lines."""
    assert log_scan.RUN._handler in logging.getLogger().handlers
    logging.getLogger("server.security").warning("log scan self-test: a harmless line")
    assert log_scan.RUN.lines[-1][1].endswith("log scan self-test: a harmless line")


def test_security_events_name_the_endpoint_never_the_code(client, caplog):
    with caplog.at_level(logging.INFO, logger="server.security"):
        client.post("/api/invites/claim", json={"code": "QRSTU-VWXYZ"})
        client.get("/api/invites/QRSTU-VWXYZ/qr.svg")
    lines = [r.getMessage() for r in caplog.records if r.name == "server.security"]
    assert "POST clients.claim_invite answered 422 to anonymous from 127.0.0.1" in lines
    assert not any("QRSTU" in line for line in caplog.messages)


def test_database_errors_carry_no_values(db):
    with pytest.raises(DatabaseError) as failure:
        db.session.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": "a pain note"})
    db.session.rollback()
    assert "a pain note" not in str(failure.value)
    assert "hidden due to hide_parameters" in str(failure.value)


def test_push_network_errors_leave_the_endpoint_path_out():
    path = "/push/secret-subscription-id"
    outcome = _network_trouble(OSError(f"connection to {path} reset"), path)
    assert "secret-subscription-id" not in outcome.reason
    assert outcome.result == "retry" and "/[endpoint]" in outcome.reason


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"GET /join/ABCDE-FGHJK HTTP/1.1" 200', '"GET /join/[redacted] HTTP/1.1" 200'),
        ("GET /api/invites/ABCDEFGHJK/qr.svg", "GET /api/invites/[redacted]/qr.svg"),
        ("POST /api/invites/claim HTTP/1.1", "POST /api/invites/claim HTTP/1.1"),
        ("Referer: https://x/join/ABCDE-FGHJK?a=1", "Referer: https://x/join/[redacted]?a=1"),
        (
            "cookie __Host-limber_session=abc123; x=1",
            "cookie __Host-limber_session=[redacted]; x=1",
        ),
    ],
)
def test_redaction(line, expected):
    assert redact(line) == expected


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_gunicorn_logs_carry_no_invite_codes(tmp_path):
    """The real server with ACCESS_LOG on: paths with codes are written redacted."""
    code = "MNPQR-STUVW"
    log_scan.register_secret(code, "invite code")
    access_log, error_log = tmp_path / "access.log", tmp_path / "gunicorn.log"
    log_scan.register_log_file(access_log)
    log_scan.register_log_file(error_log)
    port = _free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "ACCESS_LOG": str(access_log),
        "LIMBER_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'limber.sqlite3'}",
        "SECRET_KEY": "gunicorn-log-test",
    }
    migrate = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    subprocess.run(migrate, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "gunicorn", "--config", "server/gunicorn_conf.py", "wsgi:app"]
    with open(error_log, "wb") as stderr:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it answers (bounded)
            try:
                if _get(f"{base}/healthz") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, error_log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        assert _get(f"{base}/join/{code}") == 200
        assert _get(f"{base}/api/invites/{code}/qr.svg") == 401
        claim = urllib.request.Request(
            f"{base}/api/invites/claim",
            data=json.dumps({"code": code}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert _get(claim) == 422
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = access_log.read_text()
    assert "GET /join/[redacted] HTTP/1.1" in written
    assert "GET /api/invites/[redacted]/qr.svg HTTP/1.1" in written
    assert "MNPQR" not in written and "MNPQR" not in error_log.read_text()
    # gunicorn's error log holds its own lines and the app's (and is scanned for the run too).
    errors = error_log.read_text()
    assert "Booting worker" in errors
    assert "POST clients.claim_invite answered 422 to anonymous from 127.0.0.1" in errors
