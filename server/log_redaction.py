"""Keeps invite codes and session cookies out of log lines.

Request paths carry invite codes (/join/<code>, /api/invites/<code>/qr.svg), so gunicorn's access
log (off unless ACCESS_LOG is set) and its error log ("Error handling request /join/...", and the
app's own lines) have them replaced with [redacted]: `logger_class` in server/gunicorn_conf.py.
"""

from __future__ import annotations

import logging
import re

from gunicorn import glogging

REDACTED = "[redacted]"
_CODE_IN_PATH = re.compile(r"(/join/|/api/invites/(?!claim\b))[^/?#\s\"']+")
_SESSION_COOKIE = re.compile(r"((?:__Host-)?limber_session=)[^;\s\"']+")


def redact(text: str) -> str:
    """The text with invite codes in paths and session cookie values replaced."""
    text = _CODE_IN_PATH.sub(rf"\1{REDACTED}", text)
    return _SESSION_COOKIE.sub(rf"\1{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, once formatted, without codes or cookies."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


REDACTING_FILTER = RedactingFilter()


class GunicornLogger(glogging.Logger):
    """gunicorn's own logger, with the access and error logs redacted, and the app's log
    (logger `server`: security events, errors) written to the error log beside gunicorn's."""

    def setup(self, cfg) -> None:
        super().setup(cfg)  # runs again on reload, with new handlers
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.addFilter(REDACTING_FILTER)
        logging.getLogger("server").handlers = list(self.error_log.handlers)
