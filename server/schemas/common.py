"""Building blocks shared by the schemas of every area."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

import marshmallow as ma
from marshmallow import validate

from server.services.schedule import WEEKDAY_NAMES

REGIONS = ("hips", "glutes", "hamstrings", "core", "lower_back")
KINDS = ("stretch", "strength", "mobility")
EQUIPMENT = ("none", "mat", "chair", "wall", "towel", "resistance_band", "foam_roller")


class StrictSchema(ma.Schema):
    """Unknown fields are refused, so a typo is an error rather than silently ignored."""

    class Meta:
        unknown = ma.RAISE


class Text(ma.fields.String):
    """A string trimmed of surrounding white space, with a length limit and no control characters."""

    def __init__(self, max_length: int, *, allow_empty: bool = False, **kwargs):
        validators = list(kwargs.pop("validate", []))
        validators.append(validate.Length(min=0 if allow_empty else 1, max=max_length))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in text) or "\x00" in text:
            raise self.make_error("invalid")
        return text


def Int(minimum: int, maximum: int, *, strict: bool = True, **kwargs) -> ma.fields.Integer:
    """A whole number in a range. In JSON, "5" or 5.5 is refused rather than quietly converted;
    query strings (strict=False) are text, so "5" is read as 5 there."""
    return ma.fields.Integer(strict=strict, validate=validate.Range(minimum, maximum), **kwargs)


class Bool(ma.fields.Boolean):
    """true or false. In JSON, 1, "yes" or "true" is refused rather than quietly converted, as
    Int(strict=True) refuses "5"; query strings are text and keep marshmallow's Boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


# Ids are 32-bit integers in both databases; anything larger can only be a missing object.
MAX_ID = 2**31 - 1


def Id(**kwargs) -> ma.fields.Integer:
    """A reference to a stored object by its id."""
    return ma.fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kwargs)


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


class TimeZone(ma.fields.String):
    """An IANA time zone name such as Europe/London."""

    default_error_messages = {"unknown": "Unknown time zone; use an IANA name like Europe/London."}

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if name not in _known_timezones():
            raise self.make_error("unknown")
        return name


def computed(function, openapi_type: str, **kwargs) -> ma.fields.Function:
    """An output value computed from the object, with its type stated for the OpenAPI document."""
    metadata = {"type": openapi_type, **kwargs.pop("metadata", {})}
    return ma.fields.Function(function, metadata=metadata, **kwargs)


class DoseOverrideSchema(StrictSchema):
    """Dose fields an item may set over its exercise's default; at most one of reps and hold."""

    @ma.validates_schema
    def _reps_or_hold(self, data, **kwargs):
        if "reps" in data and "hold_seconds" in data:
            raise ma.ValidationError("Give reps or hold_seconds, not both.", "reps")


class DoseOutSchema(ma.Schema):
    sets = ma.fields.Integer()
    reps = ma.fields.Integer(allow_none=True)
    hold_seconds = ma.fields.Integer(allow_none=True)
    sides = ma.fields.Integer(metadata={"description": "2 = left side then right side"})
    rest_seconds = ma.fields.Integer()


def one_of(choices, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.OneOf(choices), **kwargs)


def list_of_choices(choices, *, min_items: int = 1, **kwargs) -> ma.fields.List:
    return ma.fields.List(
        one_of(choices), validate=validate.Length(min=min_items, max=len(choices)), **kwargs
    )


def weekdays(**kwargs) -> ma.fields.List:
    return list_of_choices(WEEKDAY_NAMES, **kwargs)


class DoseSchema(StrictSchema):
    """How much of one exercise: sets, and either repetitions or a hold, per side, with rest."""

    sets = Int(1, 10, required=True)
    reps = Int(1, 100, allow_none=True, load_default=None)
    hold_seconds = Int(1, 600, allow_none=True, load_default=None)
    sides = Int(1, 2, load_default=1, metadata={"description": "2 = left side then right side"})
    rest_seconds = Int(0, 600, load_default=30)

    @ma.validates_schema
    def _reps_or_hold(self, data, **kwargs):
        if (data.get("reps") is None) == (data.get("hold_seconds") is None):
            raise ma.ValidationError("Give either reps or hold_seconds, not both.", "reps")
