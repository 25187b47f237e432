"""Sign-up, sign-in and who-am-I."""

import marshmallow as ma
from marshmallow import validate

from server.schemas.common import StrictSchema, Text, computed

# Long passphrases are welcome; the cap only stops hashing megabytes.
PASSWORD = dict(required=True, validate=validate.Length(min=10, max=256), load_only=True)


class RegisterSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(**PASSWORD)
    name = Text(120, required=True)


class LoginSchema(StrictSchema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class PasswordChangeSchema(StrictSchema):
    current_password = ma.fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)
    new_password = ma.fields.String(**PASSWORD)


class TherapistSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()


class ClientSelfSchema(ma.Schema):
    """What a signed-in client sees of their own record."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    timezone = ma.fields.String()
    therapist_name = computed(lambda client: client.therapist.name, "string")


class MeSchema(ma.Schema):
    role = ma.fields.String(metadata={"enum": ["therapist", "client"]})
    therapist = ma.fields.Nested(TherapistSchema, allow_none=True)
    client = ma.fields.Nested(ClientSelfSchema, allow_none=True)
    csrf_token = ma.fields.String(
        metadata={"description": "Send as the X-CSRF-Token header on every POST, PUT, PATCH, DELETE"}
    )


class DeviceSessionSchema(ma.Schema):
    id = ma.fields.Integer()
    label = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()
    current = ma.fields.Boolean()
