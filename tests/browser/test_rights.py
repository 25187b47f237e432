"""A client sees who opened their record, downloads their data and deletes their account; a
therapist hands a client over and deletes their own account. Each ends signed out with this
device's storage empty."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_as

LEFTOVERS = """async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name),
    local: localStorage.length,
    session: sessionStorage.length,
    // The reloaded page installs the app shell again; nothing else may be cached.
    caches: (await caches.keys()).filter((name) => !name.startsWith('limber-shell-')),
    me: (await fetch('/api/me')).status,
})"""
NOTHING_LEFT = {"databases": [], "local": 0, "session": 0, "caches": [], "me": 401}


def test_a_client_downloads_their_data_then_deletes_their_account(context, api):
    therapist, client, _, page = api.joined_client(context, {"times_per_week": 3})
    therapist.get(f"/api/clients/{client['id']}/sessions")
    page.goto("/#/settings")
    trail = page.locator("#audit-list")
    expect(trail.get_by_text("viewed your session log")).to_be_visible()
    expect(trail.get_by_text("Dana Reyes").first).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download all (JSON)").click()
    assert download.value.suggested_filename.startswith("limber-my-data-")
    data = json.loads(Path(download.value.path()).read_text())
    assert data["profile"]["name"] == "Sam Lee" and data["assignments"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Sessions as a spreadsheet (CSV)").click()
    header = next(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert header[:3] == ["id", "performed_at", "local_date"]

    page.evaluate("localStorage.setItem('limber.sound', 'off')")
    page.get_by_role("button", name="Delete my account…").click()
    expect(page.get_by_text("This cannot be undone.", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("heading", name="Welcome to Limber")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(LEFTOVERS) == NOTHING_LEFT
    assert therapist.get(f"/api/clients/{client['id']}").status_code == 404


def test_a_therapist_hands_a_client_over_then_deletes_their_account(context, api):
    leaving, staying = api.therapist("Leaving Therapist"), api.therapist("Staying Therapist")
    client, _ = api.client_with_invite(leaving, "Sam Lee")
    sign_in_as(context, context.origin, leaving)
    page = context.new_page()

    page.goto("/#/settings")
    page.get_by_role("button", name="Delete my account…").click()
    page.get_by_label("Your password").fill("correct horse battery")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("alert")).to_contain_text("hand them over")

    page.goto(f"/#/clients/{client['id']}")
    page.get_by_label("The other therapist’s email").fill(staying.me["therapist"]["email"])
    page.get_by_role("button", name="Hand over Sam Lee").click()
    expect(page.get_by_text("Sam Lee was handed over.")).to_be_visible()
    assert [c["name"] for c in staying.get("/api/clients").get_json()] == ["Sam Lee"]

    page.goto("/#/settings")
    page.get_by_role("button", name="Delete my account…").click()
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("alert")).to_contain_text("password is not right")
    page.get_by_label("Your password").fill("correct horse battery")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_role("heading", name="Welcome to Limber")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(LEFTOVERS) == NOTHING_LEFT
