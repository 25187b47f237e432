"""Serves the web app from pwa/ (index at /, sw.js and the manifest from the root), the exercise
illustrations, and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory
from sqlalchemy import text

from server.errors import problem_response
from server.extensions import db

bp = Blueprint("web", __name__)

# The service worker and the manifest must come from the root so their scope is the whole app.
ROOT_FILES = ("sw.js", "manifest.webmanifest", "favicon.ico", "robots.txt")


def _pwa(name: str, **kwargs):
    return send_from_directory(current_app.config["PWA_PATH"], name, **kwargs)


@bp.get("/")
def index():
    response = _pwa("index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/join/<code>")
def join(code: str):
    """The invite link: the app's page, with the code kept out of any Referer header."""
    response = _pwa("index.html", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/<any(" + ", ".join(f'"{n}"' for n in ROOT_FILES) + "):name>")
def root_file(name: str):
    response = _pwa(name, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/app/<path:name>")
def app_asset(name: str):
    return _pwa(name, max_age=0)


@bp.get("/illustrations/<name>")
def illustration(name: str):
    if not name.endswith(".svg"):
        abort(404)
    response = send_from_directory(
        current_app.config["ROUTINES_PATH"] / "illustrations", name, max_age=86400
    )
    # An SVG opened on its own must not be able to run script in this origin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/healthz")
def healthz():
    """Liveness with a database round trip: 200 when the database answers, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        current_app.logger.exception("health check: database unavailable")
        return problem_response(503, "The database is not answering.")
    return {"status": "ok", "database": db.engine.dialect.name}
