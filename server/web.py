"""Serves the web app from pwa/ (index at /, sw.js and the manifest from the root), the exercise
illustrations, and the health check.

Static files are small and few, so they are read once per change, kept in memory with a gzip copy,
and served with a strong ETag (a content hash) so a revalidation costs a 304. The service worker
precaches the app shell; its cache name carries a hash of pwa/, so any edit rolls out by itself.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
import os
import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, abort, current_app, request
from sqlalchemy import text
from werkzeug.security import safe_join

from server.errors import problem_response
from server.extensions import db

bp = Blueprint("web", __name__)

# An SVG opened on its own must not be able to run script in this origin. Its one <style>
# element is allowed by its hash (no 'unsafe-inline').
ILLUSTRATION_CSP = (
    "default-src 'none'; style-src {style_hashes}; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
STYLE_ELEMENT = re.compile(rb"<style>(.*?)</style>", re.S)
# The service worker and the manifest must come from the root so their scope is the whole app.
# robots.txt keeps search engines out: nothing here is public, and join links carry codes.
# No favicon.ico: every page links its icon (/app/icons/icon-192.png).
ROOT_FILES = ("sw.js", "manifest.webmanifest", "robots.txt")
SHELL_VERSION_MARK = b"__SHELL_VERSION__"
COMPRESSIBLE = frozenset(
    {"text/html", "text/css", "text/javascript", "application/manifest+json", "image/svg+xml"}
)
REVALIDATE = "no-cache"  # may be stored, but asked again (a 304 when unchanged)
A_DAY = "public, max-age=86400"

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")


@lru_cache(maxsize=512)
def _read(path: str, mtime_ns: int) -> tuple[bytes, bytes, str]:
    """The file, its gzip form and its ETag; cached until the file changes (mtime in the key)."""
    data = Path(path).read_bytes()
    return data, gzip.compress(data, 9, mtime=0), hashlib.sha256(data).hexdigest()[:24]


def _file(directory: Path, name: str) -> str:
    path = safe_join(str(directory), name)
    if path is None or not os.path.isfile(path):
        abort(404)
    return path


def _respond(path: str, cache_control: str, data: bytes | None = None):
    """A file (or `data` standing for it) with ETag, Cache-Control and gzip when accepted."""
    raw, zipped, etag = _read(path, os.stat(path).st_mtime_ns)
    if data is not None:
        raw, zipped, etag = (
            data,
            gzip.compress(data, 9, mtime=0),
            hashlib.sha256(data).hexdigest()[:24],
        )
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    compress = mimetype in COMPRESSIBLE and "gzip" in request.accept_encodings
    response = current_app.response_class(zipped if compress else raw, mimetype=mimetype)
    if compress:
        response.content_encoding = "gzip"
        etag += "-gz"  # a different representation needs a different validator
    if mimetype in COMPRESSIBLE:
        response.vary.add("Accept-Encoding")
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)


def _pwa(name: str, cache_control: str = REVALIDATE):
    return _respond(_file(current_app.config["PWA_PATH"], name), cache_control)


def shell_version(root: Path) -> str:
    """A hash of every file in pwa/: the service worker's cache name changes whenever one does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(_read(str(path), path.stat().st_mtime_ns)[2].encode())
    return digest.hexdigest()[:12]


@bp.get("/")
def index():
    return _pwa("index.html")


@bp.get("/join/<code>")
def join(code: str):
    """The invite link: the app's page, with the code kept out of any Referer header (set here
    too, so the default policy changing can never leak a code)."""
    response = _pwa("index.html", "no-store")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/sw.js")
def service_worker():
    root = current_app.config["PWA_PATH"]
    path = _file(root, "sw.js")
    body = Path(path).read_bytes().replace(SHELL_VERSION_MARK, shell_version(root).encode())
    return _respond(path, REVALIDATE, data=body)


@bp.get("/<any(" + ", ".join(f'"{n}"' for n in ROOT_FILES if n != "sw.js") + "):name>")
def root_file(name: str):
    return _pwa(name)


@bp.get("/app/<path:name>")
def app_asset(name: str):
    return _pwa(name, A_DAY if name.startswith("icons/") else REVALIDATE)


@bp.get("/illustrations/<name>")
def illustration(name: str):
    if not name.endswith(".svg"):
        abort(404)
    path = _file(current_app.config["ROUTINES_PATH"] / "illustrations", name)
    response = _respond(path, A_DAY)
    response.headers["Content-Security-Policy"] = _illustration_csp(path, os.stat(path).st_mtime_ns)
    return response


@lru_cache(maxsize=512)
def _illustration_csp(path: str, mtime_ns: int) -> str:
    styles = STYLE_ELEMENT.findall(_read(path, mtime_ns)[0])
    hashes = sorted(
        {
            f"'sha256-{base64.b64encode(hashlib.sha256(style).digest()).decode()}'"
            for style in styles
        }
    )
    return ILLUSTRATION_CSP.format(style_hashes=" ".join(hashes) or "'none'")


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
