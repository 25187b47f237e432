"""The exercise library, templates and the safety text."""

import marshmallow as ma

from server.schemas.common import (
    EQUIPMENT,
    KINDS,
    REGIONS,
    DoseOutSchema,
    DoseSchema,
    Int,
    StrictSchema,
    Text,
    computed,
    list_of_choices,
    one_of,
)
from server.services.library import illustration_url


class ExerciseQuerySchema(StrictSchema):
    region = one_of(REGIONS)
    kind = one_of(KINDS)
    equipment = one_of(EQUIPMENT)
    level = Int(1, 3, strict=False)
    q = Text(100, metadata={"description": "Words to find in the name, summary, steps or cues"})


class ExerciseSchema(ma.Schema):
    id = ma.fields.Integer()
    slug = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    summary = ma.fields.String()
    regions = ma.fields.List(ma.fields.String())
    kind = ma.fields.String()
    level = ma.fields.Integer()
    equipment = ma.fields.List(ma.fields.String())
    steps = ma.fields.List(ma.fields.String())
    cues = ma.fields.List(ma.fields.String())
    cautions = ma.fields.List(ma.fields.String())
    dose = ma.fields.Nested(DoseOutSchema, metadata={"description": "The default dose"})
    illustration_url = computed(
        lambda exercise: illustration_url(exercise.illustration), "string", allow_none=True
    )
    own = computed(lambda exercise: exercise.owner_id is not None, "boolean")


class ExerciseCreateSchema(StrictSchema):
    """A therapist's own exercise; it has no illustration."""

    name = Text(120, required=True)
    summary = Text(200, allow_empty=True, load_default="")
    regions = list_of_choices(REGIONS, required=True)
    kind = one_of(KINDS, required=True)
    level = Int(1, 3, load_default=1)
    equipment = list_of_choices(EQUIPMENT, load_default=["none"])
    steps = ma.fields.List(Text(300), required=True, validate=ma.validate.Length(1, 10))
    cues = ma.fields.List(Text(160), load_default=list, validate=ma.validate.Length(0, 5))
    cautions = ma.fields.List(Text(240), load_default=list, validate=ma.validate.Length(0, 5))
    dose = ma.fields.Nested(DoseSchema, required=True)


class SafetySchema(ma.Schema):
    title = ma.fields.String()
    intro = ma.fields.String()
    clearance_needed = ma.fields.List(ma.fields.String())
    stop_and_seek_care = ma.fields.List(ma.fields.String())
    normal_soreness = ma.fields.String()
    report_to_therapist = ma.fields.List(ma.fields.String())
    acknowledgement = ma.fields.String()
