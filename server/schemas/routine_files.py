"""Schemas for the content files in routines/ (exercises, templates, safety text)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from server.schemas.common import (
    EQUIPMENT,
    KINDS,
    REGIONS,
    DoseOverrideSchema,
    DoseSchema,
    Int,
    StrictSchema,
    Text,
    list_of_choices,
    one_of,
)

SLUG = validate.Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", error="Use lower-case words joined by dashes.")


def _texts(max_length: int, min_items: int, max_items: int) -> ma.fields.List:
    return ma.fields.List(
        Text(max_length), required=True, validate=validate.Length(min_items, max_items)
    )


class FileDoseSchema(DoseSchema):
    """A library default dose: the ranges the routines README documents."""

    sets = Int(1, 6, required=True)
    reps = Int(1, 30, allow_none=True, load_default=None)
    hold_seconds = Int(5, 120, allow_none=True, load_default=None)
    sides = Int(1, 2, required=True)
    rest_seconds = Int(0, 180, required=True)


class ExerciseEntrySchema(StrictSchema):
    slug = ma.fields.String(required=True, validate=[validate.Length(max=80), SLUG])
    name = Text(120, required=True)
    summary = Text(200, required=True)
    regions = list_of_choices(REGIONS, required=True)
    kind = one_of(KINDS, required=True)
    level = Int(1, 3, required=True)
    equipment = list_of_choices(EQUIPMENT, required=True)
    steps = _texts(300, 3, 7)
    cues = _texts(160, 1, 3)
    cautions = _texts(240, 1, 4)
    illustration = ma.fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]+\.svg$"))
    dose = ma.fields.Nested(FileDoseSchema, required=True)

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        if "none" in data.get("equipment", []) and len(data["equipment"]) > 1:
            raise ma.ValidationError("'none' cannot be combined with other equipment.", "equipment")
        if data.get("illustration") and data.get("slug") and data["illustration"] != data["slug"] + ".svg":
            raise ma.ValidationError("The illustration must be named <slug>.svg.", "illustration")


class ExerciseFileSchema(StrictSchema):
    exercise = ma.fields.List(ma.fields.Nested(ExerciseEntrySchema), required=True)


class TemplateItemSchema(DoseOverrideSchema):
    exercise = ma.fields.String(required=True, validate=SLUG)
    note = Text(300, allow_empty=True, load_default="")
    sets = Int(1, 6)
    reps = Int(1, 30)
    hold_seconds = Int(5, 120)
    sides = Int(1, 2)
    rest_seconds = Int(0, 180)


class TemplateFileSchema(StrictSchema):
    slug = ma.fields.String(required=True, validate=[validate.Length(max=80), SLUG])
    name = Text(120, required=True)
    purpose = Text(600, required=True)
    suits = Text(600, required=True)
    frequency_per_week = Int(1, 7, required=True)
    frequency = Text(120, required=True)
    progression = Text(1000, required=True)
    item = ma.fields.List(
        ma.fields.Nested(TemplateItemSchema), required=True, validate=validate.Length(3, 10)
    )


class SafetyFileSchema(StrictSchema):
    title = Text(120, required=True)
    intro = Text(1000, required=True)
    clearance_needed = _texts(300, 1, 20)
    stop_and_seek_care = _texts(300, 1, 20)
    normal_soreness = Text(1200, required=True)
    report_to_therapist = _texts(300, 1, 20)
    acknowledgement = Text(300, required=True)
