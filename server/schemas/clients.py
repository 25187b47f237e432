"""Clients and their invites."""

import marshmallow as ma
from marshmallow import validate

from server.schemas.common import Bool, StrictSchema, Text, TimeZone, computed


class ClientCreateSchema(StrictSchema):
    name = Text(120, required=True)
    timezone = TimeZone(required=True, metadata={"example": "Europe/London"})
    email = ma.fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=254))


class ClientUpdateSchema(StrictSchema):
    name = Text(120)
    timezone = TimeZone()
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    archived = Bool(
        metadata={"description": "true archives the client (signing out their devices); false restores"}
    )


class ClientSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    archived = computed(lambda client: client.archived_at is not None, "boolean")


class ClientListQuerySchema(StrictSchema):
    include_archived = ma.fields.Boolean(load_default=False)


class InviteSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Shown once; only a hash is kept"})
    url = ma.fields.String(metadata={"description": "The join link, /join/<code>"})
    qr_svg_url = ma.fields.String()
    expires_at = ma.fields.AwareDateTime()


class ClaimSchema(StrictSchema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
