"""What a notification says: the Declarative Web Push JSON that Safari 18.4+ shows on its own and
that the service worker reads for every other browser.

    {"web_push": 8030,
     "notification": {"title", "body", "navigate", "tag", "lang", "timestamp", "data",
                      "actions": [{"action", "title", "navigate"}]}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

# RFC 8291: a 4096-byte record less the 86-byte header, the 16-byte tag and the delimiter.
MAX_PLAINTEXT = 3993


class PayloadTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Kind:
    """How one kind of notification is delivered."""

    code: str  # in the Topic, so a newer one of the same kind replaces an older one
    urgency: str  # RFC 8030 Urgency
    life: timedelta  # the longest it is worth delivering (TTL); reminders shorten it to the day
    actions: bool  # offers "Done" and "Snooze"


KINDS = {
    "reminder": Kind("reminder", "normal", timedelta(hours=12), actions=True),
    # The gentle note is that day's reminder in other words: it shares the reminder's Topic and
    # tag, so a phone back after a week is shown one of the two, the latest.
    "missed": Kind("reminder", "low", timedelta(hours=12), actions=True),
    "nudge": Kind("nudge", "normal", timedelta(days=1), actions=True),
    "new_routine": Kind("routine", "normal", timedelta(days=7), actions=False),
}


def topic_for(kind: str, client_id: int) -> str:
    """One Topic per kind and client (at most 32 base64url characters): a phone that was off for
    a week is handed the latest reminder only, not seven."""
    topic = f"{KINDS[kind].code}-{client_id}"
    if len(topic) > 32:
        raise ValueError("topic too long")
    return topic


def actions_url(message_id: str) -> str:
    return f"/api/notifications/{message_id}/actions"


def build_payload(
    *, kind: str, message_id: str, origin: str, title: str, body: str, now: datetime
) -> dict:
    """The notification for one phone; links are absolute, as declarative push requires."""
    base = origin.rstrip("/")
    page = f"{base}/#/today"
    # Browsers without action buttons (Safari) open this page, which offers Done and Snooze.
    choose = f"{base}/#/notification/{quote(message_id)}"
    notification = {
        "title": title,
        "body": body,
        "navigate": choose if KINDS[kind].actions else page,
        "tag": f"limber-{KINDS[kind].code}",
        "lang": "en",
        "timestamp": int(now.timestamp() * 1000),
        "data": {
            "notification_id": message_id,
            "kind": kind,
            "url": page,
            "actions_url": actions_url(message_id),
        },
    }
    if KINDS[kind].actions:
        notification["actions"] = [
            {"action": "done", "title": "Done", "navigate": f"{choose}?action=done"},
            {"action": "snooze", "title": "Snooze 1 h", "navigate": f"{choose}?action=snooze"},
        ]
    return fit({"web_push": 8030, "notification": notification})


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _size_bound(value) -> int:
    """At least the encoded size: printable ASCII costs a byte a character (quotes and
    backslashes two); 6 bytes a character (a \\uXXXX escape) covers anything else."""
    if isinstance(value, str):
        if value.isascii() and value.isprintable():
            return len(value) + value.count('"') + value.count("\\") + 2
        return 6 * len(value) + 2
    if isinstance(value, dict):
        return sum(_size_bound(k) + _size_bound(v) + 2 for k, v in value.items()) + 2
    if isinstance(value, list):
        return sum(_size_bound(v) + 1 for v in value) + 2
    return 24  # numbers, booleans, null


def fit(payload: dict) -> dict:
    """Shorten the body until the payload fits in one push message (titles and notes are short,
    so this only matters for a therapist's long nudge)."""
    if _size_bound(payload) <= MAX_PLAINTEXT:
        return payload  # surely fits: spares encoding every reminder twice
    size = len(encode(payload))
    notification = payload["notification"]
    while size > MAX_PLAINTEXT and len(notification["body"]) > 1:
        over = size - MAX_PLAINTEXT
        keep = max(1, len(notification["body"]) - max(over, 1) - 1)
        notification["body"] = notification["body"][:keep].rstrip() + "…"
        size = len(encode(payload))
    if size > MAX_PLAINTEXT:
        raise PayloadTooLarge(f"payload is {size} bytes; at most {MAX_PLAINTEXT} fit")
    return payload
