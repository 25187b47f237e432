"""The JSON API under /api: one blueprint per resource area, all documented in OpenAPI."""

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from server.api import adherence, auth, clients, docs, library, programs, push, rights, routines
from server.extensions import api
from server.openapi import CSRF_SCHEME
from server.push.setup import init_push
from server.schemas.common import MAX_ID

API_BLUEPRINTS = (auth, clients, library, routines, programs, adherence, push, rights)


class IdConverter(IntegerConverter):
    """An object id in a path: 1 to 2**31-1. Anything else cannot exist, so it is a plain 404
    (and never reaches the database, where it would overflow the integer column)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)

    def to_python(self, value):
        # Werkzeug converts only the first rule whose path matched, and turns a failed conversion
        # into 405 when a rule for another method was seen first (PATCH /api/clients/0).
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def register_api(app: Flask) -> None:
    # Push settings are checked first, so a bad PUSH_CONTACT or VAPID key stops start-up.
    init_push(app)
    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    for module in API_BLUEPRINTS:
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
    api.spec.components.security_scheme(
        "sessionCookie",
        {"type": "apiKey", "in": "cookie", "name": "limber_session",
         "description": "Set by register, login or invite claim (__Host-limber_session over HTTPS)"},
    )  # fmt: skip
    api.spec.components.security_scheme(
        CSRF_SCHEME,
        {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
         "description": "The csrf_token from GET /api/me; required on POST, PUT, PATCH, DELETE"},
    )  # fmt: skip
