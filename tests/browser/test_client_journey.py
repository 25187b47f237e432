"""A client joins by invite, does a routine in the player, finishes offline, and it reaches the
server exactly once when the phone is back online."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_join_play_finish_offline_then_upload_once(context, api):
    therapist = api.therapist("Dana Reyes")
    client, invite = api.client_with_invite(therapist, "Sam Lee")
    routine = api.short_routine(therapist)
    assignment = therapist.post(
        f"/api/clients/{client['id']}/assignments",
        json={
            "routine_id": routine["id"],
            "times_per_week": 3,
            "note": "Slow and steady this week.",
        },
    ).get_json()

    page = context.new_page()
    assert invite["url"].endswith(f"/join/{invite['code']}")
    page.goto(f"/join/{invite['code']}")
    # The code is taken from the address and removed from it at once.
    expect(page.get_by_role("heading", name="Hello, Sam Lee")).to_be_visible()
    assert invite["code"] not in page.url
    expect(page.get_by_text("Dana Reyes")).to_be_visible()
    screenshot(page, "client-welcome")
    page.get_by_role("button", name="Continue").click()

    expect(page.locator("h1")).to_be_visible()
    screenshot(page, "client-safety")
    page.locator("#safety-ok").check()
    page.get_by_role("button", name="Go to today’s routine").click()

    expect(page.get_by_role("heading", name="Quick check routine")).to_be_visible()
    expect(page.get_by_text("Slow and steady this week.")).to_be_visible()
    page.evaluate("navigator.serviceWorker.ready")
    screenshot(page, "client-today")
    page.get_by_role("link", name="Start").click()

    # Exercise 1: two reps, counted by tapping.
    expect(page.locator("#player-progress")).to_have_text("Exercise 1 of 2 · Set 1 of 1")
    screenshot(page, "client-player")
    page.get_by_role("button", name="Count a rep").click()
    page.get_by_role("button", name="Count a rep").click()
    expect(page.get_by_text("2 / 2")).to_be_visible()
    page.get_by_role("button", name="Next").click()

    # Exercise 2: a one-second hold each side with a one-second rest between; the timer runs out.
    expect(page.locator("#player-progress")).to_have_text(
        "Exercise 2 of 2 · Set 1 of 1 · Left side"
    )
    page.get_by_role("button", name="Start hold").click()
    expect(page.locator("#player-progress")).to_have_text(
        "Exercise 2 of 2 · Set 1 of 1 · Right side", timeout=5000
    )
    expect(page.get_by_role("button", name="Start hold")).to_be_visible(timeout=5000)

    # The phone loses its connection before the last hold and the finish screen.
    context.set_offline(True)
    page.get_by_role("button", name="Start hold").click()
    expect(page.get_by_role("heading", name="Well done")).to_be_visible(timeout=5000)
    expect(page.get_by_text("2 exercises of 2 done")).to_be_visible()
    page.locator("label[for=pain_before-4]").click()
    page.locator("label[for=pain_after-8]").click()
    expect(page.get_by_text("Your pain is high.")).to_be_visible()
    page.locator("label[for=effort-5]").click()
    page.get_by_label("Anything to tell your therapist?").fill("Tight on the left.")
    screenshot(page, "client-finish")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="1 session waiting to upload")).to_be_visible()
    expect(page.get_by_text("Done · waiting to upload")).to_be_visible()
    # Nothing queued is lost on reload, even offline (the service worker serves the app).
    page.reload()
    expect(page.get_by_role("heading", name="1 session waiting to upload")).to_be_visible()
    assert _stored_sessions(therapist, client) == []
    # The player and its illustrations work offline too (from IndexedDB and the service worker).
    page.get_by_role("link", name="Do it again").click()
    expect(page.locator("#player-progress")).to_have_text("Exercise 1 of 2 · Set 1 of 1")
    picture = page.locator(".figure img")
    expect(picture).to_be_visible()
    page.wait_for_function("(img) => img.complete", arg=picture.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", picture.element_handle()) > 0
    page.get_by_role("link", name="Today").click()

    context.set_offline(False)
    expect(page.locator("#outbox")).to_be_hidden(timeout=10000)
    expect(page.get_by_text("Done today")).to_be_visible()
    stored = _stored_sessions(therapist, client)
    assert len(stored) == 1
    log = stored[0]
    assert (log["assignment_id"], log["completed_items"]) == (assignment["id"], [0, 1])
    assert (log["pain_before"], log["pain_after"], log["effort"], log["note"]) == (
        4,
        8,
        5,
        "Tight on the left.",
    )
    assert page.evaluate("self.LimberStore.entries()") == []

    # Opening the app again uploads nothing twice.
    page.reload()
    expect(page.get_by_text("Done today")).to_be_visible()
    assert len(_stored_sessions(therapist, client)) == 1


def _stored_sessions(therapist, client) -> list[dict]:
    response = therapist.get(f"/api/clients/{client['id']}/sessions")
    assert response.status_code == 200
    return response.get_json()
