"""The exercise library, starter templates and the safety text."""

from flask import current_app

from server.api.access import current_therapist, signed_in
from server.openapi import ApiBlueprint
from server.schemas.library import (
    ExerciseCreateSchema,
    ExerciseQuerySchema,
    ExerciseSchema,
    SafetySchema,
)
from server.schemas.routines import RoutineSchema
from server.services import library, routine_files

blp = ApiBlueprint("library", __name__, url_prefix="/api", description="Exercise library and templates")


@blp.route("/exercises", methods=["GET"])
@signed_in("therapist")
@blp.arguments(ExerciseQuerySchema, location="query")
@blp.response(200, ExerciseSchema(many=True))
def search_exercises(query):
    """Search the library and my own exercises (best name matches first)."""
    return library.search_exercises(current_therapist(), **query)


@blp.route("/exercises/<id:exercise_id>", methods=["GET"])
@signed_in("therapist")
@blp.response(200, ExerciseSchema)
@blp.problem(404, "No such exercise")
def get_exercise(exercise_id):
    """One exercise with its steps, cues, cautions and default dose."""
    return library.load_exercise(current_therapist(), exercise_id)


@blp.route("/exercises", methods=["POST"])
@signed_in("therapist")
@blp.arguments(ExerciseCreateSchema)
@blp.response(201, ExerciseSchema)
def create_exercise(data):
    """Add an exercise of my own (visible to me alone)."""
    return library.create_own_exercise(current_therapist(), data)


@blp.route("/templates", methods=["GET"])
@signed_in("therapist")
@blp.response(200, RoutineSchema(many=True))
def list_templates():
    """Starter templates, then my own saved templates."""
    return library.list_templates(current_therapist())


@blp.route("/safety", methods=["GET"])
@blp.response(200, SafetySchema)
def safety():
    """The pre-exercise screening text, shown before a client's first routine."""
    return routine_files.safety_text(current_app.config["ROUTINES_PATH"])
