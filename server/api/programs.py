"""Assignments (therapist side), today's routines and session logs (client side)."""

from flask import jsonify

from server.api.access import current_client, current_therapist, signed_in
from server.openapi import ApiBlueprint
from server.schemas.programs import (
    AssignmentCreateSchema,
    AssignmentSchema,
    AssignmentUpdateSchema,
    HistoryQuerySchema,
    SessionLogInSchema,
    SessionLogSchema,
    TodaySchema,
    today_json,
)
from server.services import assignments, session_logs

blp = ApiBlueprint("programs", __name__, url_prefix="/api", description="Assignments and sessions")


@blp.route("/clients/<id:client_id>/assignments", methods=["GET"])
@signed_in("therapist")
@blp.response(200, AssignmentSchema(many=True))
@blp.problem(404, "No such client of yours")
def list_assignments(client_id):
    """Everything given to a client, newest first."""
    return assignments.list_assignments(current_therapist(), client_id)


@blp.route("/clients/<id:client_id>/assignments", methods=["POST"])
@signed_in("therapist")
@blp.arguments(AssignmentCreateSchema)
@blp.response(201, AssignmentSchema)
@blp.problem(404, "No such client, routine or template of yours")
def create_assignment(data, client_id):
    """Assign a routine or template to a client with a schedule and today's note."""
    return assignments.create_assignment(current_therapist(), client_id, data)


@blp.route("/assignments/<id:assignment_id>", methods=["PATCH"])
@signed_in("therapist")
@blp.arguments(AssignmentUpdateSchema)
@blp.response(200, AssignmentSchema)
@blp.problem(404, "No such assignment of one of your clients")
@blp.problem(409, "The assignment has ended")
def update_assignment(data, assignment_id):
    """Pause, resume or end an assignment, or edit its schedule, end date, title or note."""
    return assignments.update_assignment(current_therapist(), assignment_id, data)


@blp.route("/clients/<id:client_id>/sessions", methods=["GET"])
@signed_in("therapist")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, SessionLogSchema(many=True))
@blp.problem(404, "No such client of yours")
def client_sessions(query, client_id):
    """A client's session logs between two of their local dates, newest first."""
    return session_logs.list_client_sessions(
        current_therapist(), client_id, query.get("from_"), query.get("to")
    )


@blp.route("/today", methods=["GET"])
@signed_in("client")
@blp.response(200, TodaySchema)
def today():
    """My routines for today in my time zone: what is due and what is done."""
    return jsonify(today_json(assignments.today_for_client(current_client())))


@blp.route("/sessions", methods=["GET"])
@signed_in("client")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, SessionLogSchema(many=True))
def my_sessions(query):
    """My session history between two local dates (default: the last year), newest first."""
    return session_logs.list_own_sessions(current_client(), query.get("from_"), query.get("to"))


@blp.route("/sessions", methods=["POST"])
@signed_in("client")
@blp.arguments(SessionLogInSchema)
@blp.response(201, SessionLogSchema, description="Stored")
@blp.alt_response(200, schema=SessionLogSchema, description="Already stored: the same upload again")
@blp.problem(409, "This id was already used for a different session")
def log_session(data):
    """Log a session done; safe to retry, the phone's UUID makes it happen once."""
    log, created = session_logs.record_session(current_client(), data)
    return log, 201 if created else 200
