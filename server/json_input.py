"""JSON request bodies that cannot crash the app.

Python's json module raises RecursionError (not ValueError) on deeply nested input such as
`[[[[...]]]]`; left alone that becomes a 500. Both readers of request bodies, Flask's
`request.get_json` and webargs' parser, turn it into ordinary invalid JSON (a 400).
"""

from __future__ import annotations

import json

from flask.json.provider import DefaultJSONProvider
from webargs.flaskparser import FlaskParser

TOO_DEEP = "The JSON body is nested too deeply."


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
