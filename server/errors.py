"""The project's error types and the one place that renders every error.

All errors leave the API as application/problem+json (RFC 9457): `type`, `title`, `status`,
`detail`, and `errors` (field -> messages) when input failed validation.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, json
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from server.extensions import db
from server.openapi import PROBLEM_MIMETYPE

log = logging.getLogger(__name__)


class LimberError(Exception):
    """Base for errors that services raise and the API turns into a problem response."""

    status = HTTPStatus.BAD_REQUEST

    def __init__(self, detail: str, *, errors: dict | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class Unauthorized(LimberError):
    status = HTTPStatus.UNAUTHORIZED


class Forbidden(LimberError):
    status = HTTPStatus.FORBIDDEN


class NotFound(LimberError):
    status = HTTPStatus.NOT_FOUND


class Conflict(LimberError):
    status = HTTPStatus.CONFLICT


class Invalid(LimberError):
    """Input that is well-formed but breaks a rule (a 422 with per-field messages)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", errors={field: [message]})


class WrongPassword(Invalid):
    """A signed-in person's current password did not match. Views that check one carry
    `@password_lockout` (server/api/access.py), which counts these per account."""

    def __init__(self, field: str = "current_password"):
        super().__init__(field, "The current password is not right.")


def problem_response(
    status: int, detail: str, errors: dict | None = None, headers: dict | None = None
):
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Flask.response_class(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    response.headers.extend(headers or {})
    return response


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests messages by location ({"json": {...}, "query": {...}}); clients want fields."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, field_messages in fields.items():
                flat[field] = field_messages
        else:
            flat[f"_{location}"] = fields
    return flat


def _summary(errors: dict) -> str:
    parts = []
    for field, messages in errors.items():
        text = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(text, dict):
            text = "invalid entries"
        parts.append(f"{field.lstrip('_')}: {text}")
    return "Invalid input. " + "; ".join(parts)


def handle_limber_error(error: LimberError):
    return problem_response(error.status, error.detail, error.errors, error.headers)


def handle_validation_error(error: ValidationError):
    errors = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return problem_response(422, _summary(errors), errors)


def handle_integrity_error(error: IntegrityError):
    db.session.rollback()
    log.warning("integrity error: %s", type(error.orig).__name__)
    return problem_response(409, "This change conflicts with data already saved.")


def handle_data_error(error: DataError):
    # Schemas bound every value; this is the safety net so a value the database cannot hold is
    # still the client's 422, never a 500.
    db.session.rollback()
    log.warning("data error: %s", type(error.orig).__name__)
    return problem_response(422, "A value is out of the range this service can store.")


def handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if error.response is not None:
        headers.update(
            (key, value) for key, value in error.response.headers.items() if key == "Retry-After"
        )
    if "messages" in data:
        errors = _flatten_webargs_messages(data["messages"])
        return problem_response(error.code or 422, _summary(errors), errors, headers)
    if error.code == 500:
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.error("unhandled error", exc_info=original)
        return problem_response(500, "Something went wrong on our side; it has been logged.")
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    detail = data.get("message") or error.description or HTTPStatus(error.code).phrase
    return problem_response(error.code or 500, detail, None, headers)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(LimberError, handle_limber_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(HTTPException, handle_http_exception)
