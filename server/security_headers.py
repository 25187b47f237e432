"""The security headers every answer carries: API JSON, errors, the web app, the API docs.

Built in one place so no route can forget them. A view may set its own stricter variant first
(the illustrations' CSP, for example); these are only defaults.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

# No inline script or style anywhere, nothing from other origins. Scripts may still set
# element.style through the CSSOM (the web app's progress bar, Swagger UI's React components):
# CSP does not govern that. img-src allows data: for the SVG icons in Swagger UI's stylesheet.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
)
# Powerful features no page here uses are off, for this origin and anything it could embed.
# screen-wake-lock stays on for this origin: the exercise player keeps the screen awake.
# Notifications and Push are not Permissions-Policy features (the browser asks the person).
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "autoplay=()",
        "camera=()",
        "display-capture=()",
        "fullscreen=()",
        "geolocation=()",
        "gyroscope=()",
        "hid=()",
        "idle-detection=()",
        "magnetometer=()",
        "microphone=()",
        "midi=()",
        "payment=()",
        "publickey-credentials-get=()",
        "screen-wake-lock=(self)",
        "serial=()",
        "usb=()",
        "xr-spatial-tracking=()",
    ]
)
# Join links carry invite codes, so no page ever tells another site where it came from.
REFERRER_POLICY = "no-referrer"
# Two years, subdomains included: sent only when HTTPS is configured (over plain HTTP a browser
# ignores it, and on a development machine it would stick to localhost).
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": REFERRER_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["HTTPS"]:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(_add_security_headers)
