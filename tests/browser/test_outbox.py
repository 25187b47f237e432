"""The outbox keeps what the server refuses (and says why), uploads through Background Sync, and
sign-out leaves nothing of the person on the device."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from playwright.sync_api import expect


def _joined_client(context, api):
    return api.joined_client(context, {"times_per_week": 2})


def _body(assignment, **fields):
    return {
        "id": str(uuid.uuid4()),
        "assignment_id": assignment["id"],
        "performed_at": datetime.now(UTC).isoformat(),
        "completed_items": [0],
        "pain_before": 3,
        "pain_after": 2,
        "effort": 4,
        "note": "",
        **fields,
    }


def test_a_refused_upload_is_shown_and_kept_until_the_person_discards_it(context, api):
    therapist, client, assignment, page = _joined_client(context, api)
    first = _body(assignment, note="first")
    status = page.evaluate(
        """async (body) => (await fetch('/api/sessions', {method: 'POST', body: JSON.stringify(body), headers:
            {'Content-Type': 'application/json', 'X-CSRF-Token': (await self.LimberStore.get('me')).csrf_token}})).status""",
        first,
    )
    assert status == 201
    # The same id with different content is a conflict (409); a missing assignment is a 422.
    clash = {**first, "note": "something else"}
    invalid = _body(assignment, assignment_id=999999)
    for body in (clash, invalid):
        page.evaluate("(body) => self.LimberStore.enqueue(body, 'Quick check routine')", body)
    page.reload()  # opening the app uploads what waits

    expect(page.get_by_role("heading", name="2 sessions waiting to upload")).to_be_visible()
    expect(page.get_by_text("A different session was already saved with this id")).to_be_visible()
    expect(page.get_by_text("No such assignment")).to_be_visible()
    stored = therapist.get(f"/api/clients/{client['id']}/sessions").get_json()
    assert [s["note"] for s in stored] == ["first"]
    states = page.evaluate(
        "self.LimberStore.entries().then((list) => list.map((e) => [e.status, e.state]))"
    )
    assert sorted(states) == [[409, "rejected"], [422, "rejected"]]

    # Still there after a reload: nothing the server refused disappears by itself.
    page.reload()
    expect(page.get_by_role("button", name="Discard this session")).to_have_count(2)
    page.get_by_role("button", name="Discard this session").first.click()
    expect(page.get_by_role("heading", name="1 session waiting to upload")).to_be_visible()


def test_background_sync_uploads_from_the_service_worker(context, api):
    therapist, client, assignment, page = _joined_client(context, api)
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 5
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    registration = next(r for r in registrations if r["scopeURL"].startswith(context.origin))

    # Queued without uploading, as if the phone went offline right after the session.
    page.evaluate(
        "(body) => self.LimberStore.enqueue(body, 'Quick check routine')",
        _body(assignment, note="synced"),
    )
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": context.origin,
            "registrationId": registration["registrationId"],
            "tag": "limber-outbox",
            "lastChance": False,
        },
    )
    deadline = time.monotonic() + 10
    while (
        page.evaluate("self.LimberStore.entries().then((list) => list.length)")
        and time.monotonic() < deadline
    ):
        page.wait_for_timeout(100)
    assert page.evaluate("self.LimberStore.entries()") == []
    stored = therapist.get(f"/api/clients/{client['id']}/sessions").get_json()
    assert [s["note"] for s in stored] == ["synced"]


def test_sign_out_clears_storage_caches_and_the_service_worker(context, api):
    _, _, _, page = _joined_client(context, api)
    page.evaluate("localStorage.setItem('limber.sound', 'off')")
    assert page.evaluate("caches.keys()")
    page.goto("/#/settings")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Welcome to Limber")).to_be_visible()
    page.wait_for_load_state("networkidle")
    leftovers = page.evaluate(
        """async () => ({
            databases: (await indexedDB.databases()).map((d) => d.name),
            local: localStorage.length,
            session: sessionStorage.length,
            me: (await fetch('/api/me')).status,
        })"""
    )
    assert leftovers == {"databases": [], "local": 0, "session": 0, "me": 401}
