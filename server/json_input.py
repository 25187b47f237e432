"""JSON request bodies that cannot crash the app, and are there when an operation reads one.

Python's json module raises RecursionError (not ValueError) on deeply nested input such as
`[[[[...]]]]`; left alone that becomes a 500. Both readers of request bodies, Flask's
`request.get_json` and webargs' parser, turn it into ordinary invalid JSON (a 400).

webargs reads a missing body, or one sent as another media type, as `{}`; an operation whose
fields are all optional (PATCH) would then answer 200 to a request that said nothing. Every
body the API reads is documented as required JSON, so its absence is a 422, unless its operation
says `@blp.arguments(..., required=False)` (which marks its schema `body_optional`: ApiBlueprint).
"""

from __future__ import annotations

import json

from flask.json.provider import DefaultJSONProvider
from webargs import core
from webargs.flaskparser import FlaskParser, abort

TOO_DEEP = "The JSON body is nested too deeply."
NO_BODY = "Send a JSON body, with Content-Type: application/json."


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError(TOO_DEEP) from error


class SafeJSONParser(FlaskParser):
    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError as error:
            raise json.JSONDecodeError(TOO_DEEP, "", 0) from error

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        if data is core.missing and not getattr(schema, "body_optional", False):
            abort(422, messages={"json": [NO_BODY]})
        return data
