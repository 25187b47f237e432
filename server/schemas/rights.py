"""The audit trail as a client sees it, data exports, handover and account deletion."""

import marshmallow as ma
from marshmallow import validate

from server.schemas.accounts import TherapistSchema
from server.schemas.clients import ClientSchema
from server.schemas.common import MAX_ID, Int, StrictSchema
from server.schemas.library import ExerciseSchema
from server.schemas.programs import AssignmentSchema, SessionLogSchema
from server.schemas.push import ReminderSettingsSchema
from server.schemas.routines import RoutineSchema
from server.services.audit import DESCRIPTIONS, MAX_PAGE


class AuditQuerySchema(StrictSchema):
    before = Int(
        1,
        MAX_ID,
        strict=False,
        metadata={"description": "The id of the last event of the previous page"},
    )
    limit = Int(1, MAX_PAGE, strict=False, load_default=50)


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    therapist_name = ma.fields.String(metadata={"description": "Who"})
    action = ma.fields.String(metadata={"enum": sorted(DESCRIPTIONS)})
    description = ma.fields.Function(
        lambda event: DESCRIPTIONS[event.action],
        metadata={"type": "string", "description": "What, in words"},
    )


class AuditPageSchema(ma.Schema):
    events = ma.fields.List(
        ma.fields.Nested(AuditEventSchema), metadata={"description": "Newest first"}
    )
    next_before = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next page; null at the end"},
    )


class ExportQuerySchema(StrictSchema):
    format = ma.fields.String(
        load_default="json", validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "json: everything; csv: the session logs only"},
    )  # fmt: skip


class ProfileSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    therapist = ma.fields.Nested(TherapistSchema)


class DeviceExportSchema(ma.Schema):
    label = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()


class SubscriptionExportSchema(ma.Schema):
    push_service = ma.fields.String(
        metadata={
            "description": "The push service's host; the full endpoint is a capability, kept back"
        }
    )
    user_agent = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime()


class InviteExportSchema(ma.Schema):
    created_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()
    used_at = ma.fields.AwareDateTime(allow_none=True)


class NotificationExportSchema(ma.Schema):
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    status = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    delivered_at = ma.fields.AwareDateTime(allow_none=True)


class ClientExportSchema(ma.Schema):
    format = ma.fields.String(metadata={"example": "limber-client-export/1"})
    exported_at = ma.fields.AwareDateTime()
    profile = ma.fields.Nested(ProfileSchema)
    assignments = ma.fields.List(ma.fields.Nested(AssignmentSchema))
    sessions = ma.fields.List(ma.fields.Nested(SessionLogSchema))
    reminder = ma.fields.Nested(ReminderSettingsSchema, allow_none=True)
    devices = ma.fields.List(ma.fields.Nested(DeviceExportSchema))
    push_subscriptions = ma.fields.List(ma.fields.Nested(SubscriptionExportSchema))
    invites = ma.fields.List(ma.fields.Nested(InviteExportSchema))
    notifications = ma.fields.List(ma.fields.Nested(NotificationExportSchema))
    audit_trail = ma.fields.List(ma.fields.Nested(AuditEventSchema))


class PracticeSessionSchema(SessionLogSchema):
    client_id = ma.fields.Integer()


class PracticeExportSchema(ma.Schema):
    format = ma.fields.String(metadata={"example": "limber-practice-export/1"})
    exported_at = ma.fields.AwareDateTime()
    therapist = ma.fields.Nested(TherapistSchema)
    clients = ma.fields.List(ma.fields.Nested(ClientSchema))
    exercises = ma.fields.List(ma.fields.Nested(ExerciseSchema), metadata={"description": "My own"})
    routines = ma.fields.List(ma.fields.Nested(RoutineSchema), metadata={"description": "My own"})
    assignments = ma.fields.List(ma.fields.Nested(AssignmentSchema))
    sessions = ma.fields.List(ma.fields.Nested(PracticeSessionSchema))


class HandoverSchema(StrictSchema):
    therapist_email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))


class AccountDeleteSchema(StrictSchema):
    password = ma.fields.String(
        validate=validate.Length(min=1, max=256), load_only=True,
        metadata={"description": "Therapists only: the current password"},
    )  # fmt: skip
