"""The JSON API under /api: one blueprint per resource area, all documented in OpenAPI."""

from flask import Flask

from server.api import adherence, auth, clients, docs, library, programs, routines
from server.extensions import api

API_BLUEPRINTS = (auth, clients, library, routines, programs, adherence)


def register_api(app: Flask) -> None:
    for module in API_BLUEPRINTS:
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
    api.spec.components.security_scheme(
        "sessionCookie",
        {"type": "apiKey", "in": "cookie", "name": "limber_session",
         "description": "Set by register, login or invite claim (__Host-limber_session over HTTPS)"},
    )  # fmt: skip
    api.spec.components.security_scheme(
        "csrfToken",
        {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
         "description": "The csrf_token from GET /api/me; required on POST, PUT, PATCH, DELETE"},
    )  # fmt: skip
