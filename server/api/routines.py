"""A therapist's routines and own templates."""


from server.api.access import current_therapist, signed_in
from server.openapi import ApiBlueprint
from server.schemas.routines import (
    RoutineCreateSchema,
    RoutineListQuerySchema,
    RoutineReplaceSchema,
    RoutineSchema,
)
from server.services import routines

blp = ApiBlueprint("routines", __name__, url_prefix="/api", description="Routines")


@blp.route("/routines", methods=["GET"])
@signed_in("therapist")
@blp.arguments(RoutineListQuerySchema, location="query")
@blp.response(200, RoutineSchema(many=True))
def list_routines(query):
    """My routines and templates, most recently changed first."""
    return routines.list_routines(current_therapist(), query.get("templates"))


@blp.route("/routines", methods=["POST"])
@signed_in("therapist")
@blp.arguments(RoutineCreateSchema)
@blp.response(201, RoutineSchema)
@blp.problem(404, "copy_of names no routine or template of yours")
def create_routine(data):
    """Build a routine from exercises, or copy a template or routine (copy_of)."""
    return routines.create_routine(current_therapist(), data)


@blp.route("/routines/<id:routine_id>", methods=["GET"])
@signed_in("therapist")
@blp.response(200, RoutineSchema)
@blp.problem(404, "No such routine of yours or template")
def get_routine(routine_id):
    """One of my routines, or a library template."""
    return routines.load_routine(current_therapist(), routine_id)


@blp.route("/routines/<id:routine_id>", methods=["PUT"])
@signed_in("therapist")
@blp.arguments(RoutineReplaceSchema)
@blp.response(200, RoutineSchema)
@blp.problem(404, "No such routine of yours")
def replace_routine(data, routine_id):
    """Replace a routine's name, notes and items (clients keep what they were given)."""
    return routines.replace_routine(current_therapist(), routine_id, data)


@blp.route("/routines/<id:routine_id>", methods=["DELETE"])
@signed_in("therapist")
@blp.response(204)
@blp.problem(404, "No such routine of yours")
def delete_routine(routine_id):
    """Delete a routine; assignments made from it are not affected."""
    routines.delete_routine(current_therapist(), routine_id)
    return "", 204
