"""All models, importable from one place (and all registered on the metadata for Alembic)."""

from server.models.accounts import Client, DeviceSession, Invite, Therapist
from server.models.audit import AuditEvent
from server.models.library import Exercise, Routine, RoutineItem
from server.models.programs import Assignment, SessionLog
from server.models.push import Notification, PushSubscription, Reminder

__all__ = [
    "Assignment",
    "AuditEvent",
    "Client",
    "DeviceSession",
    "Exercise",
    "Invite",
    "Notification",
    "PushSubscription",
    "Reminder",
    "Routine",
    "RoutineItem",
    "SessionLog",
    "Therapist",
]
