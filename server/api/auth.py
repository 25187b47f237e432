"""Sign-up, sign-in, sign-out and the signed-in person's own sessions."""

import hashlib

from flask import current_app, make_response, request

from server.api.access import (
    clear_session_cookie,
    csrf_token,
    current_principal,
    current_therapist,
    device_label,
    password_lockout,
    replace_session,
    require_principal,
    signed_in,
)
from server.extensions import limiter
from server.openapi import ApiBlueprint
from server.schemas.accounts import (
    DeviceSessionSchema,
    LoginSchema,
    MeSchema,
    PasswordChangeSchema,
    RegisterSchema,
)
from server.services import accounts, device_sessions

blp = ApiBlueprint("auth", __name__, url_prefix="/api", description="Accounts and sign-in")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    # Hashed: the key is stored (Redis) and logged by Flask-Limiter, and an email is personal.
    digest = hashlib.sha256(str(email).strip().lower()[:254].encode()).hexdigest()[:32]
    return f"login-account:{digest}"


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def signed_in_response(token: str, status: int, *, therapist=None, client=None):
    """The answer to register, login and claim: who is signed in, the cookie and the CSRF token."""
    role = "therapist" if therapist is not None else "client"
    body = MeSchema().dump(
        {
            "role": role,
            "therapist": therapist,
            "client": client,
            "csrf_token": device_sessions.csrf_token_for(token),
        }
    )
    response = make_response(body, status)
    replace_session(response, token, role)
    return response


@blp.route("/auth/register", methods=["POST"])
@limiter.limit(_register_limit)
@blp.arguments(RegisterSchema)
@blp.response(201, MeSchema)
@blp.problem(409, "The email already has an account")
@blp.problem(429, "Too many sign-ups from this address")
def register(data):
    """Create a therapist account and sign in."""
    therapist, token = accounts.register_therapist(
        data["email"], data["password"], data["name"], device_label(request.user_agent.string)
    )
    return signed_in_response(token, 201, therapist=therapist)


@blp.route("/auth/login", methods=["POST"])
@limiter.limit(_login_limit)
@limiter.limit(
    _login_limit, key_func=_login_account_key, deduct_when=lambda r: r.status_code == 401
)
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
@blp.problem(401, "Email or password is not right (the same answer for both)")
@blp.problem(429, "Too many attempts from this address or for this account")
def login(data):
    """Sign a therapist in; a new session token every time."""
    therapist, token = accounts.log_in(
        data["email"], data["password"], device_label(request.user_agent.string)
    )
    return signed_in_response(token, 200, therapist=therapist)


@blp.route("/auth/logout", methods=["POST"])
@signed_in()
@blp.response(204)
def logout():
    """End this device's session."""
    device_sessions.end_session(current_principal().session)
    response = make_response("", 204)
    clear_session_cookie(response)
    return response


@blp.route("/auth/password", methods=["POST"])
@signed_in("therapist")
@password_lockout
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.problem(422, "The current password is not right, or the new one is too weak")
@blp.problem(429, "Too many wrong current passwords for this account")
def change_password(data):
    """Change the password; every other session of this therapist ends."""
    accounts.change_password(
        current_therapist(),
        data["current_password"],
        data["new_password"],
        current_principal().session.id,
    )
    return "", 204


@blp.route("/me", methods=["GET"])
@signed_in()
@blp.response(200, MeSchema)
def me():
    """Who is signed in, and the CSRF token for changes."""
    principal = require_principal()
    return {
        "role": principal.role,
        "therapist": principal.therapist,
        "client": principal.client,
        "csrf_token": csrf_token(),
    }


@blp.route("/me/sessions", methods=["GET"])
@signed_in()
@blp.response(200, DeviceSessionSchema(many=True))
def my_sessions():
    """The devices signed in as me."""
    return device_sessions.list_own_sessions(require_principal())


@blp.route("/me/sessions", methods=["DELETE"])
@signed_in()
@blp.response(204)
def end_all_my_sessions():
    """Sign out everywhere, this device included."""
    device_sessions.sign_out_everywhere(require_principal())
    response = make_response("", 204)
    clear_session_cookie(response)
    return response


@blp.route("/me/sessions/<id:session_id>", methods=["DELETE"])
@signed_in()
@blp.response(204)
@blp.problem(404, "No such session of mine")
def end_my_session(session_id):
    """Sign out one of my devices (a lost phone, an old laptop)."""
    device_sessions.revoke_own_session(require_principal(), session_id)
    return "", 204
