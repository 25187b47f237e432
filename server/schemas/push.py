"""Push subscriptions, reminder settings, nudges and notification actions."""

import re
from datetime import time

import marshmallow as ma
from marshmallow import validate

from server.push.validation import MAX_ENDPOINT_LENGTH, auth_problem, p256dh_problem
from server.schemas.common import Bool, StrictSchema, Text, computed, weekdays
from server.schemas.programs import SessionLogSchema
from server.services.schedule import WEEKDAY_NAMES

_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class LocalTime(ma.fields.String):
    """A wall-clock time as "HH:MM" (24-hour), in the client's own time zone."""

    default_error_messages = {"invalid": "Use a 24-hour time like 18:00."}

    def __init__(self, **kwargs):
        metadata = {"pattern": _HH_MM.pattern, "example": "18:00", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _HH_MM.match(value):
            raise self.make_error("invalid")
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))


class VapidKeySchema(ma.Schema):
    public_key = ma.fields.String(
        metadata={"description": "applicationServerKey for pushManager.subscribe(), base64url"}
    )


def _check(problem):
    def validator(value):
        message = problem(value)
        if message:
            raise ma.ValidationError(message)

    return validator


class SubscriptionKeysSchema(StrictSchema):
    p256dh = ma.fields.String(
        required=True, validate=[validate.Length(max=100), _check(p256dh_problem)]
    )
    auth = ma.fields.String(required=True, validate=[validate.Length(max=40), _check(auth_problem)])


class SubscriptionInSchema(StrictSchema):
    """PushSubscription.toJSON() as the browser gives it."""

    endpoint = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_ENDPOINT_LENGTH),
        metadata={"description": "https, on a known push service (see PUSH_ALLOWED_HOSTS)"},
    )
    keys = ma.fields.Nested(SubscriptionKeysSchema, required=True)
    expirationTime = ma.fields.Float(allow_none=True, load_default=None)


class UnsubscribeSchema(StrictSchema):
    endpoint = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_ENDPOINT_LENGTH)
    )


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer()
    endpoint = ma.fields.String()
    user_agent = ma.fields.String(metadata={"description": "e.g. Chrome on Android"})
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime()


class ReminderSettingsInSchema(StrictSchema):
    enabled = Bool(required=True)
    time = LocalTime(required=True, metadata={"description": "Local time, HH:MM"})
    weekdays = weekdays(required=True)
    quiet_start = LocalTime(
        allow_none=True, load_default=None, metadata={"description": "Quiet hours start, HH:MM"}
    )
    quiet_end = LocalTime(
        allow_none=True, load_default=None, metadata={"description": "Quiet hours end, HH:MM"}
    )

    @ma.validates_schema
    def _quiet_pair(self, data, **kwargs):
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            raise ma.ValidationError("Give both ends of the quiet hours, or neither.", "quiet_end")
        if data.get("quiet_start") is not None and data["quiet_start"] == data["quiet_end"]:
            raise ma.ValidationError(
                "Quiet hours must not start and end at the same time.", "quiet_end"
            )

    @ma.post_load
    def _weekday_numbers(self, data, **kwargs):
        data["weekdays"] = [WEEKDAY_NAMES.index(name) for name in data["weekdays"]]
        return data


class ReminderSettingsSchema(ma.Schema):
    enabled = ma.fields.Boolean()
    time = LocalTime(attribute="local_time")
    weekdays = computed(
        lambda r: [WEEKDAY_NAMES[d] for d in r.weekdays],
        "array",
        metadata={"items": {"type": "string", "enum": list(WEEKDAY_NAMES)}},
    )
    quiet_start = LocalTime(allow_none=True)
    quiet_end = LocalTime(allow_none=True)
    timezone = ma.fields.String(
        metadata={"description": "The client's time zone (set by the therapist)"}
    )
    next_reminder_at = ma.fields.AwareDateTime(
        attribute="regular_at", allow_none=True,
        metadata={"description": "UTC; skipped if nothing is due that day"},
    )  # fmt: skip
    snoozed_until = ma.fields.AwareDateTime(allow_none=True)


class NudgeInSchema(StrictSchema):
    message = Text(
        200,
        allow_empty=True,
        load_default="",
        metadata={"description": "Optional, shown as the body"},
    )


class NudgeSchema(ma.Schema):
    devices = ma.fields.Integer(
        metadata={"description": "Phones notified; 0 when notifications are off"}
    )
    notification_id = ma.fields.String(allow_none=True)
    next_nudge_at = ma.fields.AwareDateTime(allow_none=True)


class NotificationActionInSchema(StrictSchema):
    action = ma.fields.String(required=True, validate=validate.OneOf(["done", "snooze"]))


class NotificationActionSchema(ma.Schema):
    action = ma.fields.String(metadata={"enum": ["done", "snooze"]})
    session = ma.fields.Nested(
        SessionLogSchema, allow_none=True, metadata={"description": "done: the session logged"}
    )
    already_done = ma.fields.Boolean(
        metadata={"description": "done: it was logged before; nothing new"}
    )
    snoozed_until = ma.fields.AwareDateTime(allow_none=True)
