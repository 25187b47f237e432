"""Routines and templates: reading them, building them, copying them."""

import marshmallow as ma
from marshmallow import validate

from server.schemas.common import (
    Bool,
    DoseOutSchema,
    DoseOverrideSchema,
    Id,
    Int,
    StrictSchema,
    Text,
    computed,
)
from server.services.library import illustration_url
from server.services.routines import routine_minutes

MAX_ITEMS = 30


class RoutineItemInSchema(DoseOverrideSchema):
    """One exercise in a routine; dose fields left out take the exercise's default."""

    exercise_id = Id(required=True)
    note = Text(300, allow_empty=True, load_default="")
    sets = Int(1, 10)
    reps = Int(1, 100)
    hold_seconds = Int(1, 600)
    sides = Int(1, 2)
    rest_seconds = Int(0, 600)


def _items(**kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(RoutineItemInSchema), validate=validate.Length(1, MAX_ITEMS), **kwargs
    )


class _RoutineTextFields(StrictSchema):
    purpose = Text(600, allow_empty=True, load_default="")
    suits = Text(600, allow_empty=True, load_default="")
    frequency = Text(120, allow_empty=True, load_default="")
    frequency_per_week = Int(1, 7, allow_none=True, load_default=None)
    progression = Text(1000, allow_empty=True, load_default="")
    is_template = Bool(load_default=False)


class RoutineCreateSchema(_RoutineTextFields):
    name = Text(120)
    items = _items()
    copy_of = Id(
        metadata={"description": "Copy this routine or template (items and notes) instead of giving items"},
    )


class RoutineReplaceSchema(_RoutineTextFields):
    name = Text(120, required=True)
    items = _items(required=True)


class RoutineListQuerySchema(StrictSchema):
    templates = ma.fields.Boolean(
        metadata={"description": "true: only templates; false: only routines; absent: both"}
    )


class ExerciseBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    slug = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    kind = ma.fields.String()
    level = ma.fields.Integer()
    regions = ma.fields.List(ma.fields.String())
    equipment = ma.fields.List(ma.fields.String())
    illustration_url = computed(lambda e: illustration_url(e.illustration), "string", allow_none=True)


class RoutineItemSchema(ma.Schema):
    position = ma.fields.Integer()
    exercise = ma.fields.Nested(ExerciseBriefSchema)
    dose = ma.fields.Nested(DoseOutSchema)
    note = ma.fields.String()


class RoutineSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    slug = ma.fields.String(allow_none=True)
    is_template = ma.fields.Boolean()
    library = computed(
        lambda routine: routine.owner_id is None,
        "boolean",
        metadata={"description": "true for Limber's starter templates (read-only)"},
    )
    purpose = ma.fields.String()
    suits = ma.fields.String()
    frequency = ma.fields.String()
    frequency_per_week = ma.fields.Integer(allow_none=True)
    progression = ma.fields.String()
    estimated_minutes = computed(routine_minutes, "integer")
    items = ma.fields.List(ma.fields.Nested(RoutineItemSchema))
    updated_at = ma.fields.AwareDateTime()
