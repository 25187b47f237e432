"""Web Push in the browser: a push delivered to the real service worker through CDP shows the
server's notification; the worker's "Done" and "Snooze" call the API; a tap opens the right
screen; Settings asks for permission only after a tap, subscribes and re-syncs; an iPhone outside
the Home Screen is told how to install first; axe finds nothing serious on the new screens.

pushManager.subscribe cannot reach a real push service here, so the page's PushManager is
replaced by a fake whose endpoint is on a default push host (fcm.googleapis.com). Nothing is sent
to it: the browser tests run no push worker.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect
from sqlalchemy import select, update

from server.extensions import db
from server.models import Notification, PushSubscription, Reminder
from server.orm import utcnow
from server.push import payloads, reminders
from server.services.push import DONE_NAMESPACE
from tests.browser.conftest import PHONE, sign_in_as
from tests.browser.test_screens import check_screen

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.4 Mobile/15E148 Safari/604.1"
)
SHOWN = """() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) =>
    list.map((n) => ({title: n.title, body: n.body, tag: n.tag, icon: n.icon, badge: n.badge,
                      data: n.data, actions: n.actions.map((a) => ({action: a.action, title: a.title}))})))"""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _fake_subscription() -> dict:
    """What a browser's PushSubscription.toJSON() gives: keys the server accepts."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": f"https://fcm.googleapis.com/fcm/send/browser-test-{uuid.uuid4().hex}",
        "expirationTime": None,
        "keys": {"p256dh": _b64(point), "auth": _b64(os.urandom(16))},
    }


# Replaces the page's PushManager (the service worker keeps the real one) and counts permission
# requests, so a test can tell that the app asked only after the tap.
FAKE_PUSH = """
(() => {
  const FAKE = %s;
  const KEY = 'test.fake-push-subscription';
  const calls = window.__push = { asked: 0, subscribed: 0, unsubscribed: 0, key: null };
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => { calls.asked++; return ask(...args); };
  const wrap = (key) => ({
    endpoint: FAKE.endpoint, expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: Uint8Array.from(key).buffer },
    toJSON: () => JSON.parse(JSON.stringify(FAKE)),
    unsubscribe: async () => { localStorage.removeItem(KEY); calls.unsubscribed++; return true; },
  });
  PushManager.prototype.getSubscription = async function () {
    const key = JSON.parse(localStorage.getItem(KEY) || 'null');
    return key ? wrap(key) : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    if (!options.userVisibleOnly) throw new DOMException('userVisibleOnly is required', 'NotAllowedError');
    const key = Array.from(new Uint8Array(options.applicationServerKey));
    calls.subscribed++;
    calls.key = key;
    localStorage.setItem(KEY, JSON.stringify(key));
    return wrap(key);
  };
})();
"""


def _wait(page, predicate, timeout=10.0):
    """Poll; page.wait_for_timeout (not time.sleep) lets Playwright deliver CDP events meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError("timed out waiting")


def _joined_client(context, api, name="Sam Lee"):
    """A client with a routine planned every day (so today is due), signed in on the page."""
    return api.joined_client(context, {"weekdays": EVERY_DAY}, name)


def _client_fetch(page, method: str, path: str, body=None):
    """The signed-in page calls the API as the app does (CSRF from the stored /api/me)."""
    return page.evaluate(
        """async ([method, path, body]) => {
            const me = await self.LimberStore.get('me');
            const response = await fetch(path, {method, body: body === null ? undefined : JSON.stringify(body),
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}});
            return {status: response.status, body: await response.json().catch(() => null)};
        }""",
        [method, path, body],
    )


def _registration_id(context, page) -> tuple:
    cdp = context.new_cdp_session(page)
    found = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    _wait(page, lambda: any(r["scopeURL"].startswith(context.origin) for r in found), timeout=5)
    registration = next(r for r in found if r["scopeURL"].startswith(context.origin))
    return cdp, registration["registrationId"]


def _queue_reminder(app, client_id: int) -> str:
    """A reminder made by the server's own scan (as `flask worker` would); its notification id."""
    with app.app_context():
        now = utcnow()
        db.session.execute(update(Reminder).where(Reminder.client_id == client_id).values(
            regular_at=now - timedelta(seconds=1), next_fire_at=now - timedelta(seconds=1),
            last_sent_on=None,
            local_time=now.astimezone(ZoneInfo("Europe/London")).time().replace(second=0, microsecond=0),
        ))  # fmt: skip
        db.session.commit()
        reminders.scan_due(now)
        message_id = db.session.scalar(
            select(Notification.message_id)
            .where(Notification.client_id == client_id, Notification.kind == "reminder")
            .order_by(Notification.id.desc())
        )
        db.session.remove()
    assert message_id, "the scan queued no reminder"
    return message_id


def _push_text(app, message_id: str) -> str:
    """The bytes the sender encrypts for this outbox row (server/push/payloads.py), as text."""
    with app.app_context():
        payload = db.session.scalar(
            select(Notification.payload).where(Notification.message_id == message_id).limit(1)
        )
        db.session.remove()
    return payloads.encode(payload).decode()


def _deliver(context, page, cdp, registration_id, text: str, message_id: str) -> dict:
    """Push `text` into the service worker; the notification it showed.

    Headless Chromium now and then leaves a freshly shown notification out of getNotifications()
    (about one delivery in a hundred here, most often right after one with the same tag was
    closed: with the origin, the tag is Chromium's id for a notification). The worker's
    showNotification had resolved; the push is delivered again then.
    """

    def listed():
        return next(
            (
                n
                for n in page.evaluate(SHOWN)
                if (n["data"] or {}).get("notification_id") == message_id
            ),
            None,
        )

    for _ in range(3):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": context.origin, "registrationId": registration_id, "data": text},
        )
        try:
            return _wait(page, listed, timeout=4)
        except AssertionError:
            continue
    raise AssertionError(f"the push was not shown: {page.evaluate(SHOWN)}")


def _click(context, message_id: str, action: str) -> dict:
    """Run the worker's own notificationclick handling on the shown notification."""
    worker = context.service_workers[0]
    return worker.evaluate(
        """async ([id, action]) => {
            const shown = await self.registration.getNotifications();
            const notification = shown.find((n) => n.data.notification_id === id);
            return handleNotificationClick(notification, action);
        }""",
        [message_id, action],
    )


@pytest.fixture()
def phone(context, api, live_app):
    """A joined client whose phone has a push subscription, and CDP set up to push to it."""
    context.grant_permissions(["notifications"], origin=context.origin)
    therapist, client, assignment, page = _joined_client(context, api)
    stored = _client_fetch(page, "POST", "/api/push/subscriptions", _fake_subscription())
    assert stored["status"] == 201, stored
    cdp, registration_id = _registration_id(context, page)
    _wait(page, lambda: context.service_workers, timeout=5)
    return {
        "therapist": therapist,
        "client": client,
        "assignment": assignment,
        "page": page,
        "deliver": lambda message_id: _deliver(
            context, page, cdp, registration_id, _push_text(live_app, message_id), message_id
        ),
        "deliver_text": lambda text, message_id: _deliver(
            context, page, cdp, registration_id, text, message_id
        ),
    }


def test_a_pushed_reminder_is_shown_with_its_title_body_tag_and_actions(phone, live_app):
    client, assignment = phone["client"], phone["assignment"]
    message_id = _queue_reminder(live_app, client["id"])
    shown = phone["deliver"](message_id)
    assert shown["title"] == f"Time for your {assignment['title']}"
    assert shown["body"] == f"About {reminders.minutes(assignment['estimated_minutes'])}."
    assert shown["tag"] == "limber-reminder"
    assert shown["actions"] == [
        {"action": "done", "title": "Done"},
        {"action": "snooze", "title": "Snooze 1 h"},
    ]
    assert shown["data"]["notification_id"] == message_id
    assert shown["data"]["navigate"].endswith(f"/#/notification/{message_id}")
    assert shown["icon"].endswith("/app/icons/icon-192.png")
    assert shown["badge"].endswith("/app/icons/badge-96.png")

    # A new routine from the therapist: no buttons, and a tap opens Today.
    phone["therapist"].post(
        f"/api/clients/{client['id']}/assignments",
        json={"routine_id": assignment["routine_id"], "times_per_week": 2, "title": "Core extra"},
    )
    with live_app.app_context():
        routine_id = db.session.scalar(
            select(Notification.message_id).where(
                Notification.client_id == client["id"], Notification.kind == "new_routine"
            ).order_by(Notification.id.desc())
        )  # fmt: skip
        db.session.remove()
    news = phone["deliver"](routine_id)
    assert news["title"] == "New routine from Dana Reyes"
    assert news["body"].startswith("Core extra, about")
    assert news["tag"] == "limber-routine" and news["actions"] == []
    # Same tag, newer message: the reminder is still there, each kind replaces only its own.
    assert len(phone["page"].evaluate(SHOWN)) == 2


def test_done_from_the_notification_logs_today_once_and_snooze_moves_the_reminder(phone, live_app):
    therapist, client, page = phone["therapist"], phone["client"], phone["page"]
    message_id = _queue_reminder(live_app, client["id"])
    phone["deliver"](message_id)

    assert _click(page.context, message_id, "done") == {"acted": 200}
    sessions = therapist.get(f"/api/clients/{client['id']}/sessions").get_json()
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    assert [(s["id"], s["local_date"]) for s in sessions] == [
        (str(uuid.uuid5(DONE_NAMESPACE, message_id)), today)
    ]
    assert page.evaluate(SHOWN) == []  # the notification is closed

    # The same notification again (shown on a second phone, or pushed twice): still one log.
    phone["deliver"](message_id)
    assert _click(page.context, message_id, "done") == {"acted": 200}
    assert len(therapist.get(f"/api/clients/{client['id']}/sessions").get_json()) == 1

    # Snooze: the reminder comes back in an hour.
    phone["deliver"](message_id)
    before = datetime.now(UTC)
    assert _click(page.context, message_id, "snooze") == {"acted": 200}
    reminder = _client_fetch(page, "GET", "/api/reminders")["body"]
    snoozed = datetime.fromisoformat(reminder["snoozed_until"])
    assert timedelta(minutes=59) <= snoozed - before <= timedelta(minutes=61)
    with live_app.app_context():
        stored = db.session.get(Reminder, client["id"])
        assert stored.next_fire_at == stored.snoozed_until
        db.session.remove()


def test_a_tap_opens_the_right_screen_and_refusals_are_finished_in_the_page(phone, live_app):
    client, page = phone["client"], phone["page"]
    context = page.context
    page.goto("/#/history")

    # A nudge: buttons were shown, so a plain tap opens Today.
    nudge = (
        phone["therapist"]
        .post(f"/api/clients/{client['id']}/nudge", json={"message": "Ten minutes today?"})
        .get_json()
    )
    shown = phone["deliver"](nudge["notification_id"])
    assert shown["title"] == "A nudge from Dana Reyes" and shown["body"] == "Ten minutes today?"
    assert _click(context, nudge["notification_id"], "") == {"opened": "#/today"}
    expect(page).to_have_url(f"{context.origin}/#/today")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()

    # Without action buttons (Safari), the tap opens the page that offers them.
    reminder_id = _queue_reminder(live_app, client["id"])
    phone["deliver"](reminder_id)
    context.service_workers[0].evaluate(
        "() => { Object.defineProperty(Notification, 'maxActions', {get: () => 0}); }"
    )
    assert _click(context, reminder_id, "") == {"opened": f"#/notification/{reminder_id}"}
    expect(page.get_by_role("heading", name="Your routine today")).to_be_visible()
    expect(page.get_by_role("button", name="Snooze an hour")).to_be_visible()

    # A stale CSRF token in the worker's copy of /api/me: the API refuses (403), so the page is
    # opened with the chosen action and does it with the person watching.
    page.evaluate(
        "self.LimberStore.get('me').then((me) => self.LimberStore.set('me', {...me, csrf_token: 'stale'}))"
    )
    phone["deliver"](reminder_id)
    result = _click(context, reminder_id, "done")
    assert result == {"acted": 403, "opened": f"#/notification/{reminder_id}?action=done"}
    expect(page.locator("#action-result")).to_contain_text("Today’s routine is marked done.")
    expect(page).to_have_url(f"{context.origin}/#/notification/{reminder_id}")
    sessions = phone["therapist"].get(f"/api/clients/{client['id']}/sessions").get_json()
    assert [s["id"] for s in sessions] == [str(uuid.uuid5(DONE_NAMESPACE, reminder_id))]


def test_each_kind_opens_the_right_screen_when_tapped(phone):
    """Today for every kind where buttons were shown; without buttons (Safari) the kinds that
    have them open the page offering Done and Snooze, as their `navigate` says."""
    context, page = phone["page"].context, phone["page"]
    for buttons in (True, False):
        if not buttons:
            context.service_workers[0].evaluate(
                "() => { Object.defineProperty(Notification, 'maxActions', {get: () => 0}); }"
            )
        for kind, rules in payloads.KINDS.items():
            message_id = str(uuid.uuid4())
            payload = payloads.build_payload(
                kind=kind, message_id=message_id, origin=context.origin,
                title=f"A {kind}", body="Body", now=datetime.now(UTC),
            )  # fmt: skip
            shown = phone["deliver_text"](payloads.encode(payload).decode(), message_id)
            assert shown["title"] == f"A {kind}"
            assert bool(shown["actions"]) == rules.actions
            page.goto("/#/history")
            expect(page.get_by_role("heading", name="Your progress")).to_be_visible()
            wanted = f"#/notification/{message_id}" if rules.actions and not buttons else "#/today"
            assert _click(context, message_id, "") == {"opened": wanted}, (kind, buttons)
            expect(page).to_have_url(f"{context.origin}/{wanted}")


def test_settings_ask_only_after_the_tap_subscribe_resync_and_turn_off(context, api, live_app):
    fake = _fake_subscription()
    context.add_init_script(FAKE_PUSH % json.dumps(fake))
    context.grant_permissions(["notifications"], origin=context.origin)
    _, client, _, page = _joined_client(context, api)
    page.goto("/#/settings")
    section = page.locator("#notifications-settings")
    turn_on = section.get_by_role("button", name="Turn on notifications")
    expect(turn_on).to_be_visible()
    assert page.evaluate("window.__push") == {
        "asked": 0,
        "subscribed": 0,
        "unsubscribed": 0,
        "key": None,
    }

    turn_on.click()
    expect(section.get_by_text("Notifications are on for this device.")).to_be_visible()
    calls = page.evaluate("window.__push")
    assert calls["asked"] == 1 and calls["subscribed"] == 1
    server_key = page.evaluate("fetch('/api/push/vapid-public-key').then((r) => r.json())")
    assert bytes(calls["key"]) == base64.urlsafe_b64decode(server_key["public_key"] + "==")
    listed = _client_fetch(page, "GET", "/api/push/subscriptions")["body"]
    assert [s["endpoint"] for s in listed] == [fake["endpoint"]]

    def last_seen():
        with live_app.app_context():
            seen = db.session.scalar(
                select(PushSubscription.last_seen_at).where(
                    PushSubscription.endpoint == fake["endpoint"]
                )
            )
            db.session.remove()
        return seen

    first_seen = last_seen()
    # Every app open sends the subscription again (the server refreshes it); nothing is asked.
    page.reload()
    expect(section.get_by_text("Notifications are on for this device.")).to_be_visible()
    _wait(page, lambda: last_seen() > first_seen)
    assert page.evaluate("window.__push.asked") == 0

    # The reminder: the server's defaults, its errors next to the fields, then a good save.
    expect(page.locator("#reminder-time")).to_have_value("18:00")
    for day in EVERY_DAY:
        expect(page.locator(f"#reminder-day-{day}")).to_be_checked()
    page.locator("#quiet-start").fill("17:00")
    page.locator("#quiet-end").fill("19:00")
    page.get_by_role("button", name="Save reminder").click()
    expect(page.locator("#reminder-time-err")).to_have_text(
        "The reminder time falls inside your quiet hours."
    )
    expect(page.locator("#reminder-time")).to_have_attribute("aria-invalid", "true")
    page.locator("#quiet-start").fill("")
    page.get_by_role("button", name="Save reminder").click()
    expect(page.locator("#reminder-quiet_end-err")).to_have_text(
        "Give both ends of the quiet hours, or neither."
    )
    page.locator("#quiet-start").fill("22:00")
    page.locator("#quiet-end").fill("07:00")
    page.locator("#reminder-time").fill("19:30")
    page.locator("#reminder-day-sat").uncheck()
    page.locator("#reminder-day-sun").uncheck()
    page.get_by_role("button", name="Save reminder").click()
    expect(page.locator("#status")).to_have_text("Reminder saved.")
    expect(page.locator("#reminder-time-err")).to_be_hidden()
    expect(page.locator("#next-reminder")).to_contain_text("at 19:30")
    saved = _client_fetch(page, "GET", "/api/reminders")["body"]
    assert (saved["time"], saved["weekdays"], saved["quiet_start"], saved["quiet_end"]) == (
        "19:30",
        ["mon", "tue", "wed", "thu", "fri"],
        "22:00",
        "07:00",
    )

    section.get_by_role("button", name="Turn off notifications").click()
    expect(turn_on).to_be_visible()
    assert page.evaluate("window.__push.unsubscribed") == 1
    assert _client_fetch(page, "GET", "/api/push/subscriptions")["body"] == []


def test_sign_out_forgets_this_phones_subscription(context, api):
    fake = _fake_subscription()
    context.add_init_script(FAKE_PUSH % json.dumps(fake))
    context.grant_permissions(["notifications"], origin=context.origin)
    therapist, client, _, page = _joined_client(context, api)
    page.goto("/#/settings")
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.locator("#push-on")).to_be_visible()
    page.get_by_role("button", name="Sign out").last.click()
    expect(page.get_by_role("heading", name="Welcome to Limber")).to_be_visible()
    # The therapist's nudge now reaches no phone.
    nudge = therapist.post(f"/api/clients/{client['id']}/nudge", json={}).get_json()
    assert nudge["devices"] == 0


@pytest.mark.parametrize(
    "case,expected",
    [
        ("iphone", "Add Limber to your Home Screen first."),
        ("unsupported", "This browser cannot show notifications from Limber"),
        ("denied", "Notifications are blocked for Limber in this browser."),
        ("iphone-home-screen", "Turn on notifications"),
    ],
)
def test_what_settings_say_where_push_cannot_be_turned_on(browser, base_url, api, case, expected):
    iphone = case.startswith("iphone")
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE,
        locale="en-GB",
        timezone_id="Europe/London",
        user_agent=IPHONE_SAFARI if iphone else None,
        has_touch=iphone,
        is_mobile=iphone,
    )
    context.origin = base_url
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    if case == "unsupported":
        context.add_init_script("delete window.PushManager;")
    elif case == "denied":
        context.add_init_script(
            "Object.defineProperty(Notification, 'permission', {get: () => 'denied'});"
        )
    elif case == "iphone-home-screen":
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'standalone', {get: () => true});"
        )
    try:
        _, _, _, page = _joined_client(context, api)
        page.goto("/#/settings")
        section = page.locator("#notifications-settings")
        expect(section.get_by_text(expected).first).to_be_visible()
        has_button = section.get_by_role("button", name="Turn on notifications")
        expect(has_button).to_have_count(1 if case == "iphone-home-screen" else 0)
        if case == "iphone":
            expect(section.get_by_text("Add to Home Screen”")).to_be_visible()
            check_screen(page, "client-settings-iphone")
    finally:
        context.close()
    assert not errors, errors


def test_the_new_screens_pass_axe(phone, live_app):
    """Settings with notifications on and the reminder form; the page a notification opens."""
    page = phone["page"]
    page.goto("/#/settings")
    expect(page.locator("#reminder-form")).to_be_visible()
    check_screen(page, "client-settings-notifications")
    message_id = _queue_reminder(live_app, phone["client"]["id"])
    page.goto(f"/#/notification/{message_id}")
    expect(page.get_by_role("button", name="Done")).to_be_visible()
    check_screen(page, "client-notification-choices")
    page.get_by_role("button", name="Snooze an hour").click()
    expect(page.locator("#action-result")).to_contain_text("Snoozed. We will remind you again")
    check_screen(page, "client-notification-snoozed")


def test_the_therapist_nudges_from_the_client_page_once_an_hour(phone, browser, base_url, live_app):
    therapist, client = phone["therapist"], phone["client"]
    context = browser.new_context(base_url=base_url, viewport=PHONE, locale="en-GB")
    try:
        sign_in_as(context, base_url, therapist)
        page = context.new_page()
        page.goto(f"/#/clients/{client['id']}")
        page.get_by_label("Message").fill("Ten minutes today?")
        page.get_by_role("button", name="Send a nudge").click()
        expect(page.locator("#nudge-result")).to_contain_text("Nudge sent to 1 phone.")
        page.get_by_role("button", name="Send a nudge").click()
        expect(page.get_by_role("alert")).to_contain_text("was nudged less than an hour ago")
    finally:
        context.close()
    with live_app.app_context():
        queued = db.session.scalars(
            select(Notification.payload).where(
                Notification.client_id == client["id"], Notification.kind == "nudge"
            )
        ).all()
        db.session.remove()
    assert [p["notification"]["body"] for p in queued] == ["Ten minutes today?"]
