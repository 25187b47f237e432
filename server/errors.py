"""The project's error types and the one place that renders every error.

All errors leave the API as application/problem+json (RFC 9457): `type`, `title`, `status`,
`detail`, and `errors` (field -> messages) when input failed validation.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, json
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from server.extensions import db
from server.openapi import PROBLEM_MIMETYPE

log = logging.getLogger(__name__)

# How long a client should wait before retrying when the database is out of reach; a restarted
# PostgreSQL usually answers again within seconds, and phones keep their uploads until then.
DATABASE_RETRY_AFTER_SECONDS = 2
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


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
    # A refused request changes nothing, audit rows of the refused change included.
    db.session.rollback()
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


def database_unavailable(error: DBAPIError) -> bool:
    """Whether retrying later can cure this database error: a lost or refused connection, a
    server shutting down or starting up, a lock not granted in time. Programming errors (which
    SQLite also reports as OperationalError) are not."""
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        # The primary code is the low byte (SQLITE_BUSY_SNAPSHOT is a kind of SQLITE_BUSY).
        return sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    # psycopg's OperationalError: connection failures, the server shutting down or starting
    # (SQLSTATE classes 08 and 57), lack of resources, serialization failures.
    return True


def handle_database_error(error: DBAPIError):
    if not database_unavailable(error):
        # Not transient: let Flask treat it as the bug it is (a logged 500, raised in tests).
        raise error
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.warning("rollback after a database error failed too", exc_info=True)
    log.warning("database unavailable: %s", error.orig)
    return problem_response(
        503,
        "The database is not answering right now; try again shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


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
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_exception)
