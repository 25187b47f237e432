"""Adherence and the therapist's dashboard."""

from flask import jsonify

from server.api.access import current_therapist, signed_in
from server.openapi import ApiBlueprint
from server.schemas.programs import AdherenceSchema, DashboardSchema, adherence_summary_json
from server.services import adherence

blp = ApiBlueprint("adherence", __name__, url_prefix="/api", description="Adherence and dashboard")


@blp.route("/clients/<id:client_id>/adherence", methods=["GET"])
@signed_in("therapist")
@blp.response(200, AdherenceSchema)
@blp.problem(404, "No such client of yours")
def client_adherence(client_id):
    """Sessions done against planned (7 and 28 days), streak, pain trend and flags."""
    return adherence.client_adherence(current_therapist(), client_id)


@blp.route("/dashboard", methods=["GET"])
@signed_in("therapist")
@blp.response(200, DashboardSchema)
def dashboard():
    """All my current clients, those needing attention first."""
    summaries = adherence.dashboard(current_therapist())
    return jsonify({"clients": [adherence_summary_json(s) for s in summaries]})
