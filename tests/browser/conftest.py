"""Browser tests: the real app on a loopback port, driven by Debian's Chromium through Playwright.

The app here has its own SQLite database (never the suite's shared one), built by the real
migrations with the real routine library, and is served by a werkzeug server thread. Chromium
comes from Debian (`make browser-deps`); `playwright install` downloads a browser and cannot work
here. Without Chromium the tests skip, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect
from werkzeug.serving import make_server

from server import create_app
from server.config import PROJECT_ROOT
from server.extensions import db
from server.log_redaction import REDACTING_FILTER
from server.services import routine_files
from tests.conftest import ApiUser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        message = (
            f"Chromium not found at {CHROMIUM}: run `make browser-deps` (apt-get install chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("browser-instance")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'browser.sqlite3'}",
            "SECRET_KEY": "browser-test-secret-key",
            "INSTANCE_PATH": instance,
            "PUBLIC_URL": "",  # invite links point at the test server itself
            # Generous limits rather than RATELIMIT_ENABLED=False: the limiter object is shared by
            # every app in the test run, and switching it off here would switch it off for all.
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "CLAIM_RATE_LIMIT": "1000 per minute",
            "REGISTER_RATE_LIMIT": "1000 per minute",
        }
    )
    with app.app_context():
        upgrade()
        routine_files.load_library(app.config["ROUTINES_PATH"])
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_app) -> str:
    # The test server logs each request line, and join links carry invite codes: redacted as
    # gunicorn's logs are (the run's log scan fails on any code that reaches a log).
    logging.getLogger("werkzeug").addFilter(REDACTING_FILTER)
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture(scope="session")
def playwright_instance(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance, chromium_path):
    browser = playwright_instance.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture()
def context(browser, base_url):
    """A fresh browser profile (cookies, storage, service worker) at phone size."""
    context = browser.new_context(
        base_url=base_url, viewport=PHONE, locale="en-GB", timezone_id="Europe/London"
    )
    errors: list[str] = []
    watch_for_policy_errors(context, errors)
    context.origin = base_url
    yield context
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


# Registered before any page script runs, so no violation can happen before it listens.
REPORT_CSP_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || 'inline'} in ${event.sourceFile}`);
});
"""


def watch_for_policy_errors(context, errors: list[str]) -> None:
    """Collect uncaught errors, CSP violations and header complaints from every page."""
    context.on("weberror", lambda error: errors.append(str(error.error)))
    # A strict CSP is served; anything it blocks (inline style, eval...) is a bug in the app.
    context.expose_binding(
        "reportCspViolation", lambda _source, text: errors.append(f"CSP violation: {text}")
    )
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    # Chromium also logs blocked content, and a Permissions-Policy feature it does not know.
    context.on(
        "console",
        lambda m: ("Content Security Policy" in m.text or "Permissions-Policy" in m.text)
        and errors.append(m.text),
    )


class Api:
    """Sets up data through the real API, as a signed-in browser would (CSRF header included)."""

    def __init__(self, app):
        self.app = app

    def therapist(self, name="Dana Reyes") -> ApiUser:
        browser = self.app.test_client()
        response = browser.post(
            "/api/auth/register",
            json={
                "email": f"t-{uuid.uuid4().hex[:8]}@example.org",
                "password": "correct horse battery",
                "name": name,
            },
        )
        assert response.status_code == 201, response.get_json()
        return ApiUser(browser, response.get_json())

    def client_with_invite(self, therapist: ApiUser, name="Sam Lee") -> tuple[dict, dict]:
        client = therapist.post(
            "/api/clients", json={"name": name, "timezone": "Europe/London"}
        ).get_json()
        invite = therapist.post(f"/api/clients/{client['id']}/invites").get_json()
        return client, invite

    def short_routine(self, therapist: ApiUser) -> dict:
        """Two exercises with tiny doses, so the player can be walked through quickly."""
        exercises = therapist.get("/api/exercises?q=bridge").get_json()
        holds = [
            e
            for e in therapist.get("/api/exercises?kind=stretch").get_json()
            if e["dose"]["hold_seconds"]
        ]
        body = {
            "name": "Quick check routine",
            "items": [
                {
                    "exercise_id": exercises[0]["id"],
                    "sets": 1,
                    "reps": 2,
                    "sides": 1,
                    "rest_seconds": 0,
                },
                {
                    "exercise_id": holds[0]["id"],
                    "sets": 1,
                    "hold_seconds": 1,
                    "sides": 2,
                    "rest_seconds": 1,
                },
            ],
        }
        response = therapist.post("/api/routines", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def joined_client(self, context, schedule: dict, name="Sam Lee"):
        """A client with the short routine on `schedule`, who joined through the page by invite
        and reached Today: (therapist, client, assignment, page)."""
        therapist = self.therapist("Dana Reyes")
        client, invite = self.client_with_invite(therapist, name)
        routine = self.short_routine(therapist)
        assignment = therapist.post(
            f"/api/clients/{client['id']}/assignments",
            json={"routine_id": routine["id"], **schedule},
        ).get_json()
        page = context.new_page()
        page.goto(f"/join/{invite['code']}")
        page.get_by_role("button", name="Continue").click()
        page.locator("#safety-ok").check()
        page.get_by_role("button", name="Go to today’s routine").click()
        expect(page.get_by_role("link", name="Start")).to_be_visible()
        page.evaluate("navigator.serviceWorker.ready")
        return therapist, client, assignment, page


@pytest.fixture()
def api(live_app) -> Api:
    return Api(live_app)


def sign_in_as(context, origin: str, user) -> None:
    """Give the browser the session of a user made through the API (skips the sign-in form)."""
    cookie = user.http.get_cookie("limber_session")
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": origin}])


def screenshot(page, name: str) -> Path:
    """Saved for people to look at (test-artifacts/ is not committed)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    path = folder / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
