"""Every answer, whatever route or error made it, carries the security headers."""

from __future__ import annotations

import uuid

import pytest

from server.config import PROJECT_ROOT
from server.security_headers import (
    CONTENT_SECURITY_POLICY,
    PERMISSIONS_POLICY,
    STRICT_TRANSPORT_SECURITY,
)

ILLUSTRATION = next((PROJECT_ROOT / "routines" / "illustrations").glob("*.svg")).name
# A value for each URL variable, by endpoint first (where one name means different things), then
# by variable name. A new route with a variable not listed here fails the walk, not skips it.
VALUES_BY_ENDPOINT = {
    "api_docs.asset": {"name": "swagger-ui.css"},
    "web.root_file": {"name": "manifest.webmanifest"},
    "web.app_asset": {"name": "js/app.js"},
    "web.illustration": {"name": ILLUSTRATION},
}
VALUES = {
    "client_id": 1,
    "session_id": 1,
    "assignment_id": 1,
    "routine_id": 1,
    "exercise_id": 1,
    "notification_id": uuid.UUID(int=1),
    "code": "ABCDE-FGHJK",
}


def assert_security_headers(response, where: str, *, hsts: bool = False) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert csp, f"{where}: no Content-Security-Policy"
    if response.mimetype != "image/svg+xml":
        assert csp == CONTENT_SECURITY_POLICY, where
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in csp, f"{where}: {directive} missing"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert headers.get("Permissions-Policy") == PERMISSIONS_POLICY, where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert headers.get("Cross-Origin-Resource-Policy") == "same-origin", where
    if hsts:
        assert headers.get("Strict-Transport-Security") == STRICT_TRANSPORT_SECURITY, where
    else:
        assert "Strict-Transport-Security" not in headers, where


def every_route(app):
    """(method, path) for each method of each rule in the URL map, variables filled in."""
    adapter = app.url_map.bind("limber.test")
    for rule in app.url_map.iter_rules():
        values = {
            name: VALUES_BY_ENDPOINT.get(rule.endpoint, {}).get(name, VALUES.get(name))
            for name in rule.arguments
        }
        missing = [name for name, value in values.items() if value is None]
        assert not missing, f"no test value for {missing} in {rule.rule}: add it to VALUES"
        path = adapter.build(rule.endpoint, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_every_route_answers_with_the_security_headers(app, make):
    therapist = make.therapist()
    walked = 0
    for method, path in every_route(app):
        # Anonymous, then signed in: GETs answer 200 or 404 and the rest are refused (401, or
        # 403 without the CSRF header), so nothing changes while the walk goes on.
        for who, browser in (("anonymous", app.test_client()), ("therapist", therapist.http)):
            body = {} if method != "GET" else None
            with browser.open(path, method=method, json=body) as response:
                where = f"{who} {method} {path} -> {response.status_code}"
                assert response.status_code < 500, where
                assert_security_headers(response, where)
            walked += 1
    assert walked > 100


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/no/such/page", None, 404),
        ("GET", "/api/no-such-thing", None, 404),
        ("DELETE", "/api/auth/login", None, 405),
        ("GET", "/api/me", None, 401),
        ("POST", "/api/auth/login", {"email": 5}, 422),
        ("POST", "/api/auth/login", "x" * 70_000, 413),
    ],
)
def test_error_answers_carry_the_headers(client, method, path, body, status):
    kwargs = (
        {"data": body, "content_type": "application/json"}
        if isinstance(body, str)
        else {"json": body}
    )
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    if status != 404 or path.startswith("/api"):
        assert response.mimetype == "application/problem+json"
    assert_security_headers(response, f"{method} {path}")


def test_hsts_only_when_https_is_configured(client, another_app):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = another_app(HTTPS=True).test_client()
    for path in ("/healthz", "/", "/api/docs", "/api/me", "/no/such/page"):
        assert_security_headers(secure.get(path), path, hsts=True)


def test_illustrations_allow_only_their_own_style_element(client):
    response = client.get(f"/illustrations/{ILLUSTRATION}")
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-")
    assert "unsafe-inline" not in csp
    assert_security_headers(response, "illustration")


def test_the_views_own_headers_are_kept(client):
    join = client.get("/join/ABCDE-FGHJK")
    assert join.headers["Cache-Control"] == "no-store"
    assert join.headers["Referrer-Policy"] == "no-referrer"
