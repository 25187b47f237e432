"""The flask-smorest Api, adapted so the generated OpenAPI document tells the truth about errors."""

from __future__ import annotations

import http

import marshmallow as ma
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from server.json_input import SafeJSONParser

PROBLEM_MIMETYPE = "application/problem+json"
# The security scheme of the X-CSRF-Token header (server.api), which only changes need.
CSRF_SCHEME = "csrfToken"
SAFE_METHODS = frozenset({"get", "head", "options"})


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document, the shape of every error this API returns."""

    type = ma.fields.String(metadata={"description": "Problem type URI (about:blank)"})
    title = ma.fields.String(metadata={"description": "The HTTP status phrase"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong, for a person"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={"description": "Validation messages per field (only on 4xx validation errors)"},
    )


class LimberApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        # server.errors registers the project's single error renderer instead of flask-smorest's.
        pass

    def _register_responses(self):
        """Document every error response as application/problem+json, which is what is sent."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = SafeJSONParser()

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        """As flask-smorest's, and `required=False` on a body also lets the parser accept none
        (it refuses a missing body otherwise: server/json_input.py), so the one declaration
        says it for the documentation and the behaviour alike."""
        if location == "json" and not required:
            schema = schema() if isinstance(schema, type) else schema
            schema.body_optional = True
        return super().arguments(schema, location=location, required=required, **kwargs)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_method_doc)

    @staticmethod
    def _prepare_method_doc(doc, doc_info, *, method, **kwargs):
        """Document what depends on the method: the CSRF header is checked on changes only (so
        is its 403), and a request body that is not JSON is refused with 400."""
        manual = doc_info.setdefault("manual_doc", {})
        security = manual.get("security")
        if security and method in SAFE_METHODS:
            manual["security"] = [
                {name: scopes for name, scopes in requirement.items() if name != CSRF_SCHEME}
                for requirement in security
            ]
        elif security:
            manual.setdefault("responses", {}).setdefault("403", "FORBIDDEN")
        if "requestBody" in doc:
            manual.setdefault("responses", {}).setdefault("400", "BAD_REQUEST")
        return doc

    def problem(self, status: int, description: str):
        """Document an error this operation answers with (always a problem document)."""
        return self.alt_response(
            status, schema=ProblemSchema, content_type=PROBLEM_MIMETYPE, description=description
        )
