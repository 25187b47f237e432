"""A test-run-wide scan of everything logged for secrets: nothing sensitive may reach a log.

tests/conftest.py attaches the run's scanner to the root logger when the session starts, records
the sensitive values that pass through any app in the run (passwords, session cookies, CSRF
tokens, invite codes, session notes, push subscriptions: see `record_request`/`record_response`),
and fails the run at its end when one of them appears in a log line, a warning, or a log file a
test registered. Tests that start processes (gunicorn, `flask worker`) register the files those
write with `register_log_file`; values made outside the API go in with `register_secret`.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

# Shorter values would match by chance (and nothing this short is a secret here).
MIN_SECRET_LENGTH = 8
# JSON fields, in requests and answers, whose values must never be logged.
SENSITIVE_FIELDS = {
    "password": "password",
    "current_password": "password",
    "new_password": "password",
    "csrf_token": "CSRF token",
    "code": "invite code",
    "note": "note",
    "endpoint": "push endpoint",
    "p256dh": "push subscription key",
    "auth": "push subscription secret",
}


@dataclass(frozen=True)
class Leak:
    kind: str
    source: str
    line: str


@dataclass
class LogScanner:
    secrets: dict[str, str] = field(default_factory=dict)  # value -> kind
    lines: list[tuple[str, str]] = field(default_factory=list)  # (source, text)
    files: list[Path] = field(default_factory=list)
    input_is_generated: bool = False

    def register_secret(self, value, kind: str = "secret") -> None:
        value = str(value) if value is not None else ""
        # A run of one character ("xxxxxxxx", a test's oversized input) is no secret and would
        # match by chance.
        if len(value) >= MIN_SECRET_LENGTH and len(set(value)) > 1:
            self.secrets.setdefault(value, kind)

    def register_log_file(self, path) -> None:
        """A file some process writes its log to; read when the run ends."""
        self.files.append(Path(path))

    def record(self, source: str, text: str) -> None:
        self.lines.append((source, text))

    def attach(self) -> None:
        """Listen on the root logger (again, if something reconfigured logging meanwhile)."""
        root = logging.getLogger()
        if self._handler not in root.handlers:
            root.addHandler(self._handler)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self._handler)

    @property
    def _handler(self) -> logging.Handler:
        if not hasattr(self, "_recording_handler"):
            self._recording_handler = _RecordingHandler(self)
        return self._recording_handler

    @contextmanager
    def generated_input(self):
        """For requests made of generated data (the fuzz test): their passwords, notes and codes
        are random text, not anyone's secrets, and as "secrets" they would match innocent log
        lines by chance. What the app hands out (cookies, CSRF tokens) is still recorded."""
        self.input_is_generated = True
        try:
            yield
        finally:
            self.input_is_generated = False

    def record_request(self, request) -> None:
        if self.input_is_generated:
            return
        # Only what the app will read anyway: never a body it refuses for its size.
        size, limit = request.content_length, request.max_content_length
        if request.is_json and size is not None and (limit is None or size <= limit):
            try:
                self._record_json(json.loads(request.get_data(cache=True)))
            except (ValueError, RecursionError):
                pass

    def record_response(self, response) -> None:
        for header in response.headers.getlist("Set-Cookie"):
            for morsel in SimpleCookie(header).values():
                self.register_secret(morsel.value, "session token")
        if response.is_json and not (response.direct_passthrough or response.is_streamed):
            body = response.get_json(silent=True)
            if self.input_is_generated:
                # Only what the app made; the rest may echo the generated input.
                if isinstance(body, dict) and isinstance(body.get("csrf_token"), str):
                    self.register_secret(body["csrf_token"], "CSRF token")
            else:
                self._record_json(body)

    def _record_json(self, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                kind = SENSITIVE_FIELDS.get(key)
                if kind is not None and isinstance(item, str):
                    self.register_secret(item, kind)
                    if kind == "invite code":  # also in the form it is stored and compared in
                        self.register_secret(item.replace("-", "").upper(), kind)
                else:
                    self._record_json(item)
        elif isinstance(value, list):
            for item in value:
                self._record_json(item)

    def all_lines(self) -> list[tuple[str, str]]:
        lines = list(self.lines)
        for path in self.files:
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                lines.extend((str(path), line) for line in text.splitlines())
        return lines

    def leaks(self) -> list[Leak]:
        lines = self.all_lines()
        # One search of all the text per secret (fast, in C); only the found ones are located.
        everything = "\n".join(text for _, text in lines)
        found = [value for value in self.secrets if value in everything]
        return [
            Leak(self.secrets[value], source, text)
            for value in found
            for source, text in lines
            if value in text
        ]


class _RecordingHandler(logging.Handler):
    def __init__(self, scanner: LogScanner):
        super().__init__(logging.NOTSET)
        self.scanner = scanner
        # Everything a formatter could print: the message, the traceback, the logger's name.
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.scanner.record(f"logger {record.name}", self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot format is not ours to fail on
            self.handleError(record)


# The one scanner of this test run.
RUN = LogScanner()


def register_secret(value, kind: str = "secret") -> None:
    """A sensitive value made outside the API (the API's own are recorded by themselves)."""
    RUN.register_secret(value, kind)


def register_log_file(path) -> None:
    """A log file a process started by a test writes (gunicorn, `flask worker`): scanned at the
    end of the run, so register it as soon as it is created; it may stay where it is."""
    RUN.register_log_file(path)
