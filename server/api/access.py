"""Who is calling: the session cookie, CSRF, roles, and the decorators views use to require them.

Views call `current_therapist()` / `current_client()`; services then scope every query to that
person, so access control cannot be forgotten in a view.
"""

from __future__ import annotations

import hmac
import logging
from functools import wraps

from flask import Flask, Response, current_app, g, request
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from server.database import mark_writing, unmark_writing
from server.errors import Forbidden, Unauthorized, WrongPassword
from server.extensions import db, limiter
from server.models import Client, Therapist
from server.openapi import CSRF_SCHEME
from server.services import device_sessions
from server.services.device_sessions import Principal

CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# These act without the authority of any existing session (they create a new one), so they work
# whatever cookie the browser still holds; the old session is ended when the new one starts.
SIGN_IN_ENDPOINTS = frozenset({"auth.register", "auth.login", "clients.claim_invite"})
_NO_PRINCIPAL = object()
# Sign-ins, sign-outs, claims and password changes are logged whatever their outcome, and every
# refusal (403, 429) anywhere: by endpoint name, never by path, which can carry an invite code.
AUDITED_ENDPOINTS = SIGN_IN_ENDPOINTS | {
    "auth.logout",
    "auth.change_password",
    "auth.end_all_my_sessions",
    "auth.end_my_session",
    "clients.create_invite",
    "clients.revoke_device",
    "rights.delete_me",
    "rights.hand_over",
}
security_log = logging.getLogger("server.security")


def cookie_name() -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and Path=/.
    return "__Host-limber_session" if current_app.config["HTTPS"] else "limber_session"


def session_token() -> str | None:
    token = request.cookies.get(cookie_name())
    return token if token and len(token) <= 100 else None


def current_principal() -> Principal | None:
    """The signed-in person for this request, resolved once per request."""
    principal = g.get("principal", _NO_PRINCIPAL)
    if principal is _NO_PRINCIPAL:
        token = session_token()
        principal = device_sessions.resolve_session(token) if token else None
        g.principal = principal
    return principal


def require_principal(role: str | None = None) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("Sign in first.")
    if role is not None and principal.role != role:
        raise Forbidden(f"This is for {role}s only.")
    return principal


def current_therapist() -> Therapist:
    return require_principal("therapist").therapist


def current_client() -> Client:
    return require_principal("client").client


def _auth_doc(role: str | None) -> dict:
    # Names of flask-smorest's lazily registered problem responses; apispec turns them into refs.
    # ApiBlueprint drops the CSRF header from reads and adds its 403 to changes.
    responses = {"401": "UNAUTHORIZED"}
    if role is not None:
        responses["403"] = "FORBIDDEN"
    return {"security": [{"sessionCookie": [], CSRF_SCHEME: []}], "responses": responses}


def signed_in(role: str | None = None):
    """Require a signed-in therapist, client, or either (None), and document it in OpenAPI."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            require_principal(role)
            return view(*args, **kwargs)

        return Blueprint.doc(**_auth_doc(role))(wrapper)

    return decorator


def signed_in_account_key() -> str:
    """Rate-limit key for the signed-in person's account, whichever device they use (the caller's
    address when nobody is signed in)."""
    principal = current_principal()
    if principal is None:
        return f"address:{get_remote_address()}"
    return f"{principal.role}:{principal.account_id}"


def _password_limit() -> str:
    return current_app.config["PASSWORD_RATE_LIMIT"]


def _password_was_wrong(_response: Response) -> bool:
    return g.pop("wrong_password", False)


def password_lockout(view):
    """For a view that checks the signed-in person's current password (the service raises
    WrongPassword when it does not match): after PASSWORD_RATE_LIMIT wrong ones the account is
    locked out of every view carrying this decorator, answering 429 with Retry-After until the
    window passes. Put it under `@blp.route`, like `@signed_in`."""

    @wraps(view)
    def counting(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except WrongPassword:
            g.wrong_password = True
            raise

    limited = limiter.shared_limit(
        _password_limit,
        scope="password-check",
        key_func=signed_in_account_key,
        deduct_when=_password_was_wrong,
    )(counting)
    return Blueprint.doc(responses={"429": "TOO_MANY_REQUESTS"})(limited)


def replace_session(response: Response, token: str, role: str) -> None:
    """Hand the browser its new session, ending the one its old cookie belonged to (if any)."""
    previous = current_principal()
    if previous is not None:
        device_sessions.end_session(previous.session)
    set_session_cookie(response, token, role)


def set_session_cookie(response: Response, token: str, role: str) -> None:
    response.set_cookie(
        cookie_name(),
        token,
        max_age=int(device_sessions.idle_lifetime(role).total_seconds()),
        httponly=True,
        secure=current_app.config["HTTPS"],
        samesite="Lax",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        cookie_name(), httponly=True, secure=current_app.config["HTTPS"], samesite="Lax", path="/"
    )


def csrf_token() -> str:
    return device_sessions.csrf_token_for(session_token() or "")


def device_label(user_agent: str) -> str:
    """A readable name for a device session ("Chrome on Android") from its User-Agent."""
    browsers = (
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    )
    systems = (
        ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Mac OS X", "Mac"),
        ("Windows", "Windows"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
    )  # fmt: skip
    browser = next((name for marker, name in browsers if marker in user_agent), "Browser")
    system = next((name for marker, name in systems if marker in user_agent), "")
    return f"{browser} on {system}" if system else browser


def _check_csrf():
    """Unsafe requests made with a live session cookie must carry the matching CSRF header."""
    if request.method not in UNSAFE_METHODS or request.endpoint in SIGN_IN_ENDPOINTS:
        return None
    if current_principal() is None:
        return None
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token().encode()):
        raise Forbidden(f"Missing or wrong {CSRF_HEADER} header; take it from GET /api/me.")
    return None


def _begin_writing():
    """A request that changes data takes SQLite's write lock when its next transaction begins
    (BEGIN IMMEDIATE). The session lookup before it only reads, so its short transaction is
    ended first: the write lock is held for the change, not for the whole request."""
    if request.method in UNSAFE_METHODS:
        db.session.commit()
        g.write_token = mark_writing()


def _end_request(_error=None):
    # g belongs to the app context, which a test (or a CLI command) may keep across requests:
    # the principal is forgotten when its request ends (not when the next begins, so the rate
    # limiter's key functions, which run before our hooks, share the one lookup).
    g.pop("principal", None)
    token = g.pop("write_token", None)
    if token is not None:
        unmark_writing(token)


def _renew_cookie(response: Response) -> Response:
    principal = g.get("principal")
    if isinstance(principal, Principal) and principal.renewed and session_token():
        set_session_cookie(response, session_token(), principal.role)
    return response


def _log_security_event(response: Response) -> Response:
    refused = response.status_code in (403, 429)
    if refused or request.endpoint in AUDITED_ENDPOINTS:
        principal = g.get("principal")
        who = "anonymous"
        if isinstance(principal, Principal):
            who = f"{principal.role} {principal.account_id}"
        security_log.log(
            logging.WARNING if refused else logging.INFO,
            "%s %s answered %s to %s from %s",
            request.method,
            request.endpoint,
            response.status_code,
            who,
            request.remote_addr,
        )
    return response


def register_access(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.before_request(_begin_writing)
    app.after_request(_renew_cookie)
    app.after_request(_log_security_event)
    app.teardown_request(_end_request)
