"""Every screen, at phone size in light mode and at desk size in dark mode: axe-core finds no
serious or critical problems, controls are at least 44 px, the page reflows at 320 px wide with
text at 200%, and a screenshot is written to test-artifacts/screenshots/ for people to look at."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import DESK, PHONE, screenshot, sign_in_as

AXE = Axe()
BLOCKING = ("serious", "critical")
# Controls people tap; inline links inside sentences are exempt (WCAG 2.5.8).
TARGETS = "button, .button, select, summary, #nav a, .scale label, input[type=text], input[type=email], input[type=password], input[type=number], input[type=search]"


def check_screen(page, name: str) -> None:
    expect(page.locator("main h1")).to_be_visible()
    page.wait_for_load_state("networkidle")
    for size, scheme in ((PHONE, "light"), (DESK, "dark")):
        page.set_viewport_size(size)
        page.emulate_media(color_scheme=scheme)
        violations = [v for v in AXE.run(page).response["violations"] if v["impact"] in BLOCKING]
        assert not violations, f"{name} ({scheme}): " + "; ".join(
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in violations
        )
        screenshot(page, f"{name}-{scheme}")
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((el) => el.offsetParent !== null && !el.closest('.visually-hidden'))
            .map((el) => [el.textContent.trim().slice(0, 30) || el.name || el.tagName, el.getBoundingClientRect().height])
            .filter(([, height]) => height < 43.5)""",
        TARGETS,
    )
    assert not small, f"{name}: targets under 44 px: {small}"
    # 320 CSS px wide with text at 200%: nothing may need sideways scrolling (tables scroll inside).
    page.set_viewport_size({"width": 320, "height": 640})
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.evaluate("document.documentElement.style.fontSize = ''")
    assert overflow <= 1, f"{name}: {overflow}px of sideways scrolling at 320px and 200% text"
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="light")


def _past(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_client_screens(context, api):
    therapist = api.therapist("Dana Reyes")
    client, invite = api.client_with_invite(therapist, "Sam Lee")
    template = therapist.get("/api/templates").get_json()[0]
    assignment = therapist.post(
        f"/api/clients/{client['id']}/assignments",
        json={
            "routine_id": template["id"],
            "times_per_week": 3,
            "note": "Keep the movements slow.",
        },
    ).get_json()

    page = context.new_page()
    page.goto("/")
    check_screen(page, "client-landing")
    page.goto(f"/join/{invite['code']}")
    expect(page.get_by_role("heading", name="Hello, Sam Lee")).to_be_visible()
    check_screen(page, "client-welcome")
    page.get_by_role("button", name="Continue").click()
    check_screen(page, "client-safety")
    page.locator("#safety-ok").check()
    page.get_by_role("button", name="Go to today’s routine").click()
    expect(page.get_by_role("heading", name=assignment["title"])).to_be_visible()

    # A little history, uploaded as the phone would, so the calendar and the chart have data.
    csrf = page.evaluate("self.LimberStore.get('me')")["csrf_token"]
    for days, before, after in ((6, 6, 5), (4, 5, 4), (2, 5, 3)):
        status = page.evaluate(
            """async ([body, csrf]) => (await fetch('/api/sessions', {method: 'POST', body: JSON.stringify(body),
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}})).status""",
            [
                {
                    "id": str(uuid.uuid4()),
                    "assignment_id": assignment["id"],
                    "performed_at": _past(days),
                    "completed_items": [0],
                    "pain_before": before,
                    "pain_after": after,
                    "effort": 4,
                    "note": "",
                },
                csrf,
            ],
        )
        assert status == 201
    page.reload()
    check_screen(page, "client-today")
    page.get_by_role("link", name="Start").click()
    check_screen(page, "client-player")
    page.get_by_role("button", name="Finish now").click()
    check_screen(page, "client-finish")
    page.goto("/#/history")
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator(".calendar td.done")).not_to_have_count(0)
    check_screen(page, "client-history")
    page.goto("/#/settings")
    expect(page.locator("#notifications-settings")).to_be_visible()
    expect(page.get_by_text("This device", exact=True)).to_be_visible()
    check_screen(page, "client-settings")
    page.goto(f"/#/print/assignment/{assignment['id']}")
    check_screen(page, "client-print")


@pytest.mark.parametrize(
    "path,name", [("/#/signin", "therapist-signin"), ("/#/register", "therapist-register")]
)
def test_therapist_sign_in_screens(context, path, name):
    page = context.new_page()
    page.goto(path)
    check_screen(page, name)


def test_therapist_screens(context, api):
    therapist = api.therapist("Dana Reyes")
    client, _ = api.client_with_invite(therapist, "Sam Lee")
    template = therapist.get("/api/templates").get_json()[0]
    therapist.post(f"/api/clients/{client['id']}/assignments", json={"routine_id": template["id"]})
    api.client_with_invite(therapist, "Alex Moss")
    sign_in_as(context, context.origin, therapist)

    page = context.new_page()
    page.goto("/#/dashboard")
    expect(page.get_by_role("link", name="Alex Moss")).to_be_visible()
    check_screen(page, "therapist-dashboard")
    page.goto("/#/clients/new")
    check_screen(page, "therapist-add-client")
    page.goto(f"/#/clients/{client['id']}")
    page.get_by_role("button", name="Make an invite").click()
    expect(page.locator("#invite-code")).to_be_visible()
    page.locator(".pick button").first.click()
    check_screen(page, "therapist-client")
    page.goto("/#/routines")
    check_screen(page, "therapist-routines")
    page.goto(f"/#/routines/{template['id']}")
    expect(page.locator("#items > li")).to_have_count(len(template["items"]))
    check_screen(page, "therapist-builder")
    page.goto(f"/#/print/routine/{template['id']}")
    expect(page.locator(".handout-item")).to_have_count(len(template["items"]))
    check_screen(page, "therapist-print")
    page.goto("/#/settings")
    check_screen(page, "therapist-settings")
