"""A therapist's clients, their invites and devices; claiming an invite on a phone."""

from flask import current_app, request

from server.api.access import current_therapist, device_label, signed_in, signed_in_account_key
from server.api.auth import signed_in_response
from server.extensions import limiter
from server.openapi import ApiBlueprint
from server.schemas.accounts import DeviceSessionSchema, MeSchema
from server.schemas.clients import (
    ClaimSchema,
    ClientCreateSchema,
    ClientListQuerySchema,
    ClientSchema,
    ClientUpdateSchema,
    InviteSchema,
)
from server.services import clients, invites

blp = ApiBlueprint(
    "clients", __name__, url_prefix="/api", description="Clients, invites and devices"
)


def _public_origin() -> str:
    return current_app.config["PUBLIC_URL"] or request.host_url.rstrip("/")


@blp.route("/clients", methods=["GET"])
@signed_in("therapist")
@blp.arguments(ClientListQuerySchema, location="query")
@blp.response(200, ClientSchema(many=True))
def list_clients(query):
    """My clients, by name."""
    return clients.list_clients(current_therapist(), query["include_archived"])


@blp.route("/clients", methods=["POST"])
@signed_in("therapist")
@blp.arguments(ClientCreateSchema)
@blp.response(201, ClientSchema)
def create_client(data):
    """Add a client."""
    return clients.create_client(current_therapist(), data["name"], data["timezone"], data["email"])


@blp.route("/clients/<id:client_id>", methods=["GET"])
@signed_in("therapist")
@blp.response(200, ClientSchema)
@blp.problem(404, "No such client of yours")
def get_client(client_id):
    """One client."""
    return clients.load_client(current_therapist(), client_id, "client.read")


@blp.route("/clients/<id:client_id>", methods=["PATCH"])
@signed_in("therapist")
@blp.arguments(ClientUpdateSchema)
@blp.response(200, ClientSchema)
@blp.problem(404, "No such client of yours")
def update_client(data, client_id):
    """Rename, change time zone or email, archive or restore a client."""
    return clients.update_client(current_therapist(), client_id, data)


@blp.route("/clients/<id:client_id>", methods=["DELETE"])
@signed_in("therapist")
@blp.response(204)
@blp.problem(404, "No such client of yours")
def delete_client(client_id):
    """Delete a client and everything recorded about them, for good."""
    clients.delete_client(current_therapist(), client_id)
    return "", 204


@blp.route("/clients/<id:client_id>/invites", methods=["POST"])
@signed_in("therapist")
@blp.response(201, InviteSchema)
@blp.problem(404, "No such client of yours")
@blp.problem(422, "The client is archived; restore them before inviting")
def create_invite(client_id):
    """A single-use invite for the client's phone (earlier unused ones stop working)."""
    code, invite = invites.create_invite(current_therapist(), client_id)
    return {
        "code": code,
        "url": invites.join_url(_public_origin(), code),
        "qr_svg_url": f"/api/invites/{code}/qr.svg",
        "expires_at": invite.expires_at,
    }


def _claim_limit() -> str:
    return current_app.config["CLAIM_RATE_LIMIT"]


@blp.route("/invites/<code>/qr.svg", methods=["GET"])
@signed_in("therapist")
# It takes a code too: unknown ones count against the account like claims against an address.
@limiter.limit(
    _claim_limit, key_func=signed_in_account_key, deduct_when=lambda r: r.status_code == 404
)
@blp.response(200, content_type="image/svg+xml", description="The join link as a QR code")
@blp.problem(404, "No such open invite of one of your clients")
@blp.problem(429, "Too many unknown codes looked up by this account")
def invite_qr(code):
    """The invite's join link as an SVG QR code, to show on screen or print."""
    svg = invites.invite_qr_svg(current_therapist(), code, _public_origin())
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return current_app.response_class(svg, mimetype="image/svg+xml", headers=headers)


@blp.route("/invites/claim", methods=["POST"])
@limiter.limit(_claim_limit)
@blp.arguments(ClaimSchema)
@blp.response(200, MeSchema)
@blp.problem(422, "The code is unknown, used or expired (all answer alike)")
@blp.problem(429, "Too many attempts from this address")
def claim_invite(data):
    """Use an invite on the client's phone: signs this device in as the client."""
    client, token = invites.claim_invite(data["code"], device_label(request.user_agent.string))
    return signed_in_response(token, 200, client=client)


@blp.route("/clients/<id:client_id>/devices", methods=["GET"])
@signed_in("therapist")
@blp.response(200, DeviceSessionSchema(many=True))
@blp.problem(404, "No such client of yours")
def list_devices(client_id):
    """The client's signed-in phones."""
    return clients.list_devices(current_therapist(), client_id)


@blp.route("/clients/<id:client_id>/devices/<id:session_id>", methods=["DELETE"])
@signed_in("therapist")
@blp.response(204)
@blp.problem(404, "No such client of yours, or no such device")
def revoke_device(client_id, session_id):
    """Sign one of the client's phones out."""
    clients.revoke_device(current_therapist(), client_id, session_id)
    return "", 204
