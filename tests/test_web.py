"""How the web app is served: strict CSP, compression, validators, the join page, the service
worker's version, and the shell list the service worker precaches."""

from __future__ import annotations

import gzip
import json
import re

from server.config import PROJECT_ROOT
from server.security_headers import CONTENT_SECURITY_POLICY as CSP
from server.web import shell_version

PWA = PROJECT_ROOT / "pwa"


def test_every_app_response_carries_the_strict_csp(client):
    for path in (
        "/",
        "/join/ABCDE-FGHJK",
        "/app/js/app.js",
        "/app/css/app.css",
        "/sw.js",
        "/manifest.webmanifest",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == CSP, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_text_is_gzipped_when_accepted_with_a_strong_etag(client):
    plain = client.get("/app/js/app.js")
    zipped = client.get("/app/js/app.js", headers={"Accept-Encoding": "gzip, br"})
    assert plain.headers.get("Content-Encoding") is None
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data == (PWA / "js/app.js").read_bytes()
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert plain.headers["ETag"] != zipped.headers["ETag"]
    assert plain.mimetype == "text/javascript"
    again = client.get("/app/js/app.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert plain.headers["Cache-Control"] == "no-cache"
    assert "max-age=86400" in client.get("/app/icons/icon-192.png").headers["Cache-Control"]


def test_join_page_hides_the_code_from_referers_and_caches(client):
    response = client.get("/join/ABCDE-FGHJK")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert b'<main id="main"' in response.data


def test_paths_outside_the_app_are_not_served(client):
    assert client.get("/app/../server/config.py").status_code == 404
    assert client.get("/app/%2e%2e/wsgi.py").status_code == 404
    assert client.get("/illustrations/../exercises/core.toml").status_code == 404


def test_illustrations_cannot_run_script(client):
    name = next((PROJECT_ROOT / "routines" / "illustrations").glob("*.svg")).name
    response = client.get(f"/illustrations/{name}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Content-Encoding"] == "gzip"


def test_service_worker_cache_name_follows_the_files(client, tmp_path):
    body = client.get("/sw.js").get_data(as_text=True)
    assert "__SHELL_VERSION__" not in body
    assert f"const VERSION = '{shell_version(PWA)}';" in body
    (tmp_path / "a.js").write_text("one")
    before = shell_version(tmp_path)
    (tmp_path / "a.js").write_text("two")
    assert shell_version(tmp_path) != before


def test_service_worker_precaches_every_shell_file():
    source = (PWA / "sw.js").read_text()
    listed = set(re.findall(r"^\s+'(/[^']*)',$", source, re.M))
    wanted = {"/", "/manifest.webmanifest"} | {
        "/app/" + str(p.relative_to(PWA))
        for p in PWA.rglob("*")
        if p.suffix in (".js", ".css") and p.name != "sw.js"
    }
    assert wanted <= listed, f"missing from SHELL in sw.js: {sorted(wanted - listed)}"
    for url in listed - {"/", "/manifest.webmanifest"}:
        assert (PWA / url.removeprefix("/app/")).is_file(), url


def test_no_inline_script_style_or_handlers():
    """The app must run under script-src 'self' and style-src 'self' (no unsafe-inline, no eval)."""
    html = (PWA / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html)
    for path in PWA.rglob("*.js"):
        code = path.read_text()
        for pattern in (
            r"\.innerHTML\s*=",
            r"\.outerHTML\s*=",
            r"\beval\(",
            r"new Function",
            r"setAttribute\(\s*'style'",
            r"javascript:",
            r"insertAdjacentHTML",
        ):
            assert not re.search(pattern, code), f"{path.name}: {pattern}"


def test_manifest_has_what_installing_needs():
    manifest = json.loads((PWA / "manifest.webmanifest").read_text())
    for key in (
        "id",
        "name",
        "short_name",
        "start_url",
        "scope",
        "theme_color",
        "background_color",
    ):
        assert manifest[key], key
    assert manifest["display"] == "standalone"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert (PWA / icon["src"].removeprefix("/app/")).is_file()
    html = (PWA / "index.html").read_text()
    assert 'rel="apple-touch-icon"' in html and "apple-mobile-web-app-capable" in html


def test_robots_are_kept_out(client):
    # Nothing here is public, and join links carry invite codes.
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines() == ["User-agent: *", "Disallow: /"]
