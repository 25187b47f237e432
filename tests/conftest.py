"""Shared fixtures: one app and database per test run, emptied of user data between tests.

The database is built by the real Alembic migrations (so every run also tests them) and holds
the real routine library from routines/. Set LIMBER_TEST_DATABASE_URL to run on PostgreSQL;
`make test` does both.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from flask import request, request_finished, request_started
from flask_migrate import upgrade
from sqlalchemy import delete

from server import create_app
from server.extensions import db as _db
from server.extensions import limiter
from server.models import AuditEvent, Therapist
from server.services import routine_files
from tests.support import log_scan


def pytest_sessionstart(session):
    """Scan everything logged in this run for secrets (tests/support/log_scan.py)."""
    log_scan.RUN.attach()
    # Every app in the run (the suite's, another_app's, the browser tests' live server).
    request_started.connect(_record_request)
    request_finished.connect(_record_response)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    log_scan.RUN.attach()  # in case a test's migrations or CLI reconfigured logging


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    log_scan.RUN.attach()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    log_scan.RUN.attach()


def _record_request(_app, **_extra):
    log_scan.RUN.record_request(request)


def _record_response(_app, response, **_extra):
    log_scan.RUN.record_response(response)


def pytest_warning_recorded(warning_message, when, nodeid, location):
    log_scan.RUN.record(f"warning in {nodeid or when}", str(warning_message.message))


def pytest_sessionfinish(session, exitstatus):
    leaks = log_scan.RUN.leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"log scan: {len(log_scan.RUN.all_lines())} log lines and {len(log_scan.RUN.files)} "
        f"log files checked for {len(log_scan.RUN.secrets)} secrets: {len(leaks)} leaks"
    )
    if reporter is not None:
        reporter.write_line(summary)
        if leaks:
            reporter.write_sep("=", "log scan FAILED: secrets reached the logs", red=True)
        for leak in leaks[:20]:
            reporter.write_line(f"  {leak.kind} logged by {leak.source}: {leak.line[:300]}")
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("LIMBER_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'limber-test.sqlite3'}"


@pytest.fixture(scope="session")
def app_config(database_url, tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "INSTANCE_PATH": tmp_path_factory.mktemp("instance"),
        "PUBLIC_URL": "https://limber.test",
    }


@pytest.fixture(scope="session")
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        _db.drop_all()
        with _db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        routine_files.load_library(app.config["ROUTINES_PATH"])
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture()
def another_app(app, app_config):
    """Build a second app on the same database with some settings changed (never the shared one)."""
    made = []

    def build(**overrides):
        other = create_app({**app_config, **overrides})
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            _db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_slate(app):
    """Every test starts with the library loaded and no people, and with fresh rate limits."""
    limiter.reset()
    yield
    with app.app_context():
        _db.session.rollback()
        # Deleting therapists cascades to everything people made: clients, sessions, logs...
        _db.session.execute(delete(Therapist))
        # Audit rows outlive the therapist who acted (they keep the name; see models/audit.py).
        _db.session.execute(delete(AuditEvent))
        _db.session.commit()
        _db.session.remove()


@pytest.fixture()
def db(app):
    with app.app_context():
        yield _db


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


class ApiUser:
    """A signed-in browser: a test client that sends the CSRF header like the web app does."""

    def __init__(self, test_client, me: dict):
        self.http = test_client
        self.me = me
        self.csrf = me["csrf_token"]

    def _call(self, method: str, path: str, **kwargs):
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.http.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self._call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self._call("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._call("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("DELETE", path, **kwargs)


class Factory:
    """Makes therapists, clients, phones, routines and assignments through the real API."""

    def __init__(self, app):
        self.app = app
        self.counter = 0

    def therapist(self, name: str = "Dana Therapist") -> ApiUser:
        self.counter += 1
        browser = self.app.test_client()
        response = browser.post(
            "/api/auth/register",
            json={
                "email": f"therapist{self.counter}-{uuid.uuid4().hex[:6]}@example.org",
                "password": "correct horse battery staple",
                "name": name,
            },
        )
        assert response.status_code == 201, response.get_json()
        return ApiUser(browser, response.get_json())

    def client_of(
        self, therapist: ApiUser, name: str = "Sam Client", tz: str = "Europe/London"
    ) -> dict:
        response = therapist.post("/api/clients", json={"name": name, "timezone": tz})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def phone(self, therapist: ApiUser, client_id: int) -> ApiUser:
        invite = therapist.post(f"/api/clients/{client_id}/invites")
        assert invite.status_code == 201, invite.get_json()
        browser = self.app.test_client()
        claimed = browser.post("/api/invites/claim", json={"code": invite.get_json()["code"]})
        assert claimed.status_code == 200, claimed.get_json()
        return ApiUser(browser, claimed.get_json())

    def template_id(self, therapist: ApiUser, slug: str | None = None) -> int:
        templates = therapist.get("/api/templates").get_json()
        if slug is None:
            return templates[0]["id"]
        return next(t["id"] for t in templates if t["slug"] == slug)

    def assignment(self, therapist: ApiUser, client_id: int, **fields) -> dict:
        body = {
            "routine_id": fields.pop("routine_id", None) or self.template_id(therapist),
            **fields,
        }
        response = therapist.post(f"/api/clients/{client_id}/assignments", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture()
def make(app) -> Factory:
    return Factory(app)


def session_upload(assignment: dict, **fields) -> dict:
    """A session log body as the phone sends it."""
    body = {
        "id": str(uuid.uuid4()),
        "assignment_id": assignment["id"],
        "performed_at": datetime.now(UTC).isoformat(),
        "completed_items": list(range(len(assignment["routine"]["items"]))),
        "pain_before": 4,
        "pain_after": 3,
        "effort": 5,
        "note": "Felt looser afterwards",
    }
    body.update(fields)
    return body
