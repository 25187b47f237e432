"""Assignments, today's routines, session logs and adherence."""

import marshmallow as ma
from marshmallow import validate

from server.schemas.common import DoseOutSchema, Id, Int, StrictSchema, Text, computed, weekdays
from server.schemas.library import illustration_url
from server.services.schedule import WEEKDAY_NAMES

NOTE_LENGTH = 2000


class _ScheduleFields(StrictSchema):
    weekdays = weekdays(metadata={"description": "Fixed days, e.g. [\"mon\", \"thu\"]"})
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
    illustration_url = computed(
        lambda item: illustration_url(item["illustration"]), "string", allow_none=True
    )
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
    due = ma.fields.Boolean(metadata={"description": "A session is asked for today and not done yet"})
    done_today = ma.fields.Boolean()
    done_this_week = ma.fields.Integer()


class TodaySchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "Today in the client's time zone"})
    timezone = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(TodayItemSchema))


class SessionLogInSchema(StrictSchema):
    id = ma.fields.UUID(required=True, metadata={"description": "Made on the phone; the idempotency key"})
    assignment_id = Id(required=True)
    performed_at = ma.fields.AwareDateTime(required=True, metadata={"description": "With offset or Z"})
    completed_items = ma.fields.List(
        Int(0, 99), load_default=list, validate=validate.Length(max=100),
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
    from_ = ma.fields.Date(data_key="from", metadata={"description": "First local date (default: a year ago)"})
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
