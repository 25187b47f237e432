"""Assignments, today's routines, session logs and adherence."""

import marshmallow as ma
from marshmallow import validate

from server.schemas.common import DoseOutSchema, Id, Int, StrictSchema, Text, computed, weekdays
from server.services.schedule import WEEKDAY_NAMES

NOTE_LENGTH = 2000


class _ScheduleFields(StrictSchema):
    weekdays = weekdays(metadata={"description": 'Fixed days, e.g. ["mon", "thu"]'})
    times_per_week = Int(1, 7, metadata={"description": "Or: any N days a week"})

    @ma.post_load
    def _weekday_numbers(self, data, **kwargs):
        if "weekdays" in data:
            data["weekdays"] = [WEEKDAY_NAMES.index(name) for name in data["weekdays"]]
        return data


class AssignmentCreateSchema(_ScheduleFields):
    routine_id = Id(required=True, metadata={"description": "One of your routines or a template"})
    title = Text(120)
    start_date = ma.fields.Date(metadata={"description": "Default: the client's today"})
    end_date = ma.fields.Date(allow_none=True)
    note = Text(NOTE_LENGTH, allow_empty=True, load_default="")


class AssignmentUpdateSchema(_ScheduleFields):
    action = ma.fields.String(validate=validate.OneOf(["pause", "resume", "end"]))
    title = Text(120)
    end_date = ma.fields.Date(allow_none=True)
    note = Text(NOTE_LENGTH, allow_empty=True)


class SnapshotItemSchema(ma.Schema):
    """An exercise as it was copied into the assignment."""

    position = ma.fields.Integer()
    exercise_id = ma.fields.Integer()
    slug = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    summary = ma.fields.String()
    kind = ma.fields.String()
    regions = ma.fields.List(ma.fields.String())
    equipment = ma.fields.List(ma.fields.String())
    steps = ma.fields.List(ma.fields.String())
    cues = ma.fields.List(ma.fields.String())
    cautions = ma.fields.List(ma.fields.String())
    illustration_url = ma.fields.String(allow_none=True)
    dose = ma.fields.Nested(DoseOutSchema)
    note = ma.fields.String()


class SnapshotSchema(ma.Schema):
    name = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(SnapshotItemSchema))


class AssignmentSchema(ma.Schema):
    id = ma.fields.Integer()
    client_id = ma.fields.Integer()
    routine_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String()
    routine = ma.fields.Nested(SnapshotSchema)
    estimated_minutes = ma.fields.Integer()
    weekdays = computed(
        lambda a: None if a.weekdays is None else [WEEKDAY_NAMES[d] for d in a.weekdays],
        "array",
        allow_none=True,
        metadata={"items": {"type": "string", "enum": list(WEEKDAY_NAMES)}},
    )
    times_per_week = ma.fields.Integer(allow_none=True)
    start_date = ma.fields.Date()
    end_date = ma.fields.Date(allow_none=True)
    ended_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String(metadata={"enum": ["active", "paused", "ended"]})
    note = ma.fields.String()
    created_at = ma.fields.AwareDateTime()


class TodayItemSchema(ma.Schema):
    assignment = ma.fields.Nested(AssignmentSchema)
    due = ma.fields.Boolean(
        metadata={"description": "A session is asked for today and not done yet"}
    )
    done_today = ma.fields.Boolean()
    done_this_week = ma.fields.Integer()


class TodaySchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "Today in the client's time zone"})
    timezone = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(TodayItemSchema))


class SessionLogInSchema(StrictSchema):
    id = ma.fields.UUID(
        required=True, metadata={"description": "Made on the phone; the idempotency key"}
    )
    assignment_id = Id(required=True)
    performed_at = ma.fields.AwareDateTime(
        required=True, metadata={"description": "With offset or Z"}
    )
    completed_items = ma.fields.List(
        Int(0, 99),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Positions of the routine items done"},
    )
    pain_before = Int(0, 10, allow_none=True, load_default=None)
    pain_after = Int(0, 10, allow_none=True, load_default=None)
    effort = Int(0, 10, allow_none=True, load_default=None)
    note = Text(NOTE_LENGTH, allow_empty=True, load_default="")

    @ma.post_load
    def _canonical_id(self, data, **kwargs):
        data["id"] = str(data["id"])
        return data


class SessionLogSchema(ma.Schema):
    id = ma.fields.String()
    assignment_id = ma.fields.Integer(allow_none=True)
    performed_at = ma.fields.AwareDateTime()
    local_date = ma.fields.Date()
    completed_items = ma.fields.List(ma.fields.Integer())
    pain_before = ma.fields.Integer(allow_none=True)
    pain_after = ma.fields.Integer(allow_none=True)
    effort = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()
    received_at = ma.fields.AwareDateTime()


class HistoryQuerySchema(StrictSchema):
    from_ = ma.fields.Date(
        data_key="from", metadata={"description": "First local date (default: a year ago)"}
    )
    to = ma.fields.Date(metadata={"description": "Last local date (default: today)"})


class WindowSchema(ma.Schema):
    days = ma.fields.Integer()
    done = ma.fields.Integer()
    planned = ma.fields.Integer()
    ratio = ma.fields.Float(allow_none=True)


class ClientBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    timezone = ma.fields.String()


class PainPointSchema(ma.Schema):
    date = ma.fields.Date()
    pain_before = ma.fields.Float(allow_none=True)
    pain_after = ma.fields.Float(allow_none=True)
    sessions = ma.fields.Integer()


FLAGS = ["pain_rising", "inactive", "never_started"]


class AdherenceSummarySchema(ma.Schema):
    client = ma.fields.Nested(ClientBriefSchema)
    today = ma.fields.Date()
    last_7 = ma.fields.Nested(WindowSchema)
    last_28 = ma.fields.Nested(WindowSchema)
    last_session_at = ma.fields.AwareDateTime(allow_none=True)
    first_week_pain_after = ma.fields.Float(allow_none=True)
    latest_week_pain_after = ma.fields.Float(allow_none=True)
    active_assignments = ma.fields.Integer()
    flags = ma.fields.List(ma.fields.String(metadata={"enum": FLAGS}))


class AdherenceSchema(AdherenceSummarySchema):
    streak = ma.fields.Integer()
    pain_trend = ma.fields.List(ma.fields.Nested(PainPointSchema))


class DashboardSchema(ma.Schema):
    clients = ma.fields.List(ma.fields.Nested(AdherenceSummarySchema))


# Hot paths. /api/today runs every time a client opens the app and /api/dashboard touches every
# client of a therapist, so their answers are built directly as JSON-ready dicts instead of
# through marshmallow's field-by-field dump (several times slower). The schemas above still
# document them, and tests/test_fast_json.py checks these functions give exactly what
# dump() would.


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def assignment_json(a) -> dict:
    return {
        "id": a.id,
        "client_id": a.client_id,
        "routine_id": a.routine_id,
        "title": a.title,
        "routine": a.routine,  # stored in SnapshotSchema's shape
        "estimated_minutes": a.estimated_minutes,
        "weekdays": None if a.weekdays is None else [WEEKDAY_NAMES[d] for d in a.weekdays],
        "times_per_week": a.times_per_week,
        "start_date": a.start_date.isoformat(),
        "end_date": _iso(a.end_date),
        "ended_on": _iso(a.ended_on),
        "status": a.status,
        "note": a.note,
        "created_at": a.created_at.isoformat(),
    }


def today_json(today) -> dict:
    return {
        "date": today.date.isoformat(),
        "timezone": today.timezone,
        "items": [
            {
                "assignment": assignment_json(item.assignment),
                "due": item.due,
                "done_today": item.done_today,
                "done_this_week": item.done_this_week,
            }
            for item in today.items
        ],
    }


def _window_json(window) -> dict:
    return {
        "days": window.days,
        "done": window.done,
        "planned": window.planned,
        "ratio": window.ratio,
    }


def adherence_summary_json(summary) -> dict:
    return {
        "client": {
            "id": summary.client.id,
            "name": summary.client.name,
            "timezone": summary.client.timezone,
        },
        "today": summary.today.isoformat(),
        "last_7": _window_json(summary.last_7),
        "last_28": _window_json(summary.last_28),
        "last_session_at": _iso(summary.last_session_at),
        "first_week_pain_after": summary.first_week_pain_after,
        "latest_week_pain_after": summary.latest_week_pain_after,
        "active_assignments": summary.active_assignments,
        "flags": list(summary.flags),
    }
