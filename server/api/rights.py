"""People's rights over their data: who saw my record, download my data, hand over, delete."""

from flask import current_app, make_response

from server.api.access import (
    clear_session_cookie,
    current_client,
    current_therapist,
    password_lockout,
    require_principal,
    signed_in,
)
from server.openapi import ApiBlueprint
from server.orm import utcnow
from server.schemas.rights import (
    AccountDeleteSchema,
    AuditPageSchema,
    AuditQuerySchema,
    ClientExportSchema,
    ExportQuerySchema,
    HandoverSchema,
    PracticeExportSchema,
)
from server.services import audit, clients, rights

blp = ApiBlueprint(
    "rights", __name__, url_prefix="/api", description="Audit trail, exports, deletion"
)


def _export_doc(schema) -> dict:
    """An export answers JSON (the schema) or, with format=csv, the session logs as CSV."""
    csv_doc = {"schema": {"type": "string", "description": "Session logs, header row first"}}
    return {
        "responses": {
            "200": {
                "description": "A file to save (Content-Disposition: attachment)",
                "content": {"application/json": {"schema": schema}, "text/csv": csv_doc},
            }
        }
    }


DOWNLOAD_TYPES = {"csv": "text/csv", "json": "application/json"}


def _download(body: str, stem: str, extension: str):
    """A file to save, named after today, never kept by a browser cache or a proxy (it is
    health data)."""
    response = current_app.response_class(body, mimetype=DOWNLOAD_TYPES[extension])
    filename = f"{stem}-{utcnow().date().isoformat()}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/me/audit", methods=["GET"])
@signed_in("client")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def my_audit(query):
    """Who has seen or changed my record, and when, newest first (paged)."""
    limit = query["limit"]
    events = audit.client_trail(current_client(), query.get("before"), limit + 1)
    page = events[:limit]
    return {"events": page, "next_before": page[-1].id if len(events) > limit else None}


@blp.route("/me/export", methods=["GET"])
@signed_in("client")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200)
@blp.doc(**_export_doc(ClientExportSchema))
def my_export(query):
    """Everything Limber holds about me as JSON, or my session logs as CSV (format=csv)."""
    client = current_client()
    if query["format"] == "csv":
        return _download(rights.client_logs_csv(client), "limber-sessions", "csv")
    body = current_app.json.dumps(ClientExportSchema().dump(rights.client_export(client)))
    return _download(body, "limber-my-data", "json")


@blp.route("/practice/export", methods=["GET"])
@signed_in("therapist")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200)
@blp.doc(**_export_doc(PracticeExportSchema))
def practice_export(query):
    """My whole practice as JSON (clients, own routines and exercises, assignments, logs), or
    every client's session logs as CSV (format=csv). Each client's trail records it."""
    therapist = current_therapist()
    if query["format"] == "csv":
        return _download(rights.practice_logs_csv(therapist), "limber-practice-sessions", "csv")
    body = current_app.json.dumps(PracticeExportSchema().dump(rights.practice_export(therapist)))
    return _download(body, "limber-practice", "json")


@blp.route("/clients/<id:client_id>/handover", methods=["POST"])
@signed_in("therapist")
@blp.arguments(HandoverSchema)
@blp.response(204)
@blp.problem(404, "No such client of yours")
@blp.problem(422, "No therapist account has this email, or it is your own")
def hand_over(data, client_id):
    """Hand a client over to another therapist with a Limber account; the client keeps their
    routines, logs and signed-in phones."""
    rights.hand_over(current_therapist(), client_id, data["therapist_email"])
    return "", 204


@blp.route("/me", methods=["DELETE"])
@signed_in()
@password_lockout
@blp.arguments(AccountDeleteSchema, required=False)
@blp.response(204, description="Deleted; the session cookie is cleared")
@blp.problem(409, "A therapist still has clients (archived ones included)")
@blp.problem(422, "A therapist's password is missing or not right")
@blp.problem(429, "Too many wrong current passwords for this account")
def delete_me(data):
    """Delete my account for good. A client: everything about me (logs, phones, reminder,
    notifications, audit trail). A therapist: needs the password, and no clients left."""
    principal = require_principal()
    if principal.client is not None:
        clients.erase_client(principal.client)
    else:
        rights.delete_therapist(principal.therapist, data.get("password"))
    response = make_response("", 204)
    clear_session_cookie(response)
    return response
