"""Human-readable API docs at /api/docs: Swagger UI served from this server, no CDN."""

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Response, abort, send_from_directory

DOCS_PAGE = Path(__file__).resolve().parent.parent / "static" / "api-docs"
SWAGGER_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})

bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")


@bp.get("")
def page():
    return Response((DOCS_PAGE / "index.html").read_bytes(), mimetype="text/html")


@bp.get("/init.js")
def init_script():
    return Response((DOCS_PAGE / "init.js").read_bytes(), mimetype="text/javascript")


@bp.get("/assets/<name>")
def asset(name: str):
    if name not in SWAGGER_ASSETS:
        abort(404)
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, name, max_age=86400)
