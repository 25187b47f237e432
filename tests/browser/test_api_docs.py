"""The API docs (Swagger UI) and an illustration work under the strict security headers."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import DESK


def test_api_docs_render_and_try_an_operation_without_csp_violations(context):
    page = context.new_page()
    page.set_viewport_size(DESK)
    page.goto("/api/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 30
    # Open an operation and call it from the page: React sets styles, the request is same-origin.
    safety = page.locator(".opblock-get", has_text="/api/safety").first
    safety.locator(".opblock-summary").click()
    safety.get_by_role("button", name="Try it out").click()
    safety.get_by_role("button", name="Execute").click()
    expect(safety.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        "200"
    )
    expect(safety.locator(".live-responses-table .microlight").first).to_contain_text("title")
    # The context fixture fails the test on any CSP violation or console complaint.


def test_an_illustration_opened_on_its_own_draws_its_style(context, api):
    therapist = api.therapist()
    exercise = therapist.get("/api/exercises?q=bridge").get_json()[0]
    page = context.new_page()
    page.goto(exercise["illustration_url"])
    stroke = page.locator("svg .f").first.evaluate("e => getComputedStyle(e).strokeWidth")
    assert stroke == "6px"  # the <style> element applied: its hash is in the CSP
