"""Web Push: the server's public key, phones' subscriptions, reminder settings, a therapist's
nudge, and the actions a client takes from a notification."""

from flask import request

from server.api.access import current_client, current_therapist, device_label, signed_in
from server.openapi import ApiBlueprint
from server.schemas.push import (
    NotificationActionInSchema,
    NotificationActionSchema,
    NudgeInSchema,
    NudgeSchema,
    ReminderSettingsInSchema,
    ReminderSettingsSchema,
    SubscriptionInSchema,
    SubscriptionSchema,
    UnsubscribeSchema,
    VapidKeySchema,
)
from server.services import push

blp = ApiBlueprint("push", __name__, url_prefix="/api", description="Notifications and reminders")


@blp.route("/push/vapid-public-key", methods=["GET"])
@blp.response(200, VapidKeySchema)
def vapid_public_key():
    """The server's VAPID public key, for pushManager.subscribe({applicationServerKey})."""
    return {"public_key": push.vapid_public_key()}


@blp.route("/push/subscriptions", methods=["GET"])
@signed_in("client")
@blp.response(200, SubscriptionSchema(many=True))
def list_subscriptions():
    """My phones that receive notifications."""
    return push.list_subscriptions(current_client())


@blp.route("/push/subscriptions", methods=["POST"])
@signed_in("client")
@blp.arguments(SubscriptionInSchema)
@blp.response(201, SubscriptionSchema, description="Stored")
@blp.alt_response(200, schema=SubscriptionSchema, description="Already stored: refreshed")
@blp.problem(422, "Bad keys, or an endpoint that is not https on a known push service")
def subscribe(data):
    """Store or refresh this phone's push subscription (send it on every app open)."""
    subscription, created = push.subscribe(
        current_client(),
        data,
        device_label(request.user_agent.string),
        request.host_url.rstrip("/"),
    )
    return subscription, 201 if created else 200


@blp.route("/push/subscriptions", methods=["DELETE"])
@signed_in("client")
@blp.arguments(UnsubscribeSchema)
@blp.response(204)
def unsubscribe(data):
    """Stop notifications to this phone (also when it was never subscribed)."""
    push.unsubscribe(current_client(), data["endpoint"])
    return "", 204


@blp.route("/reminders", methods=["GET"])
@signed_in("client")
@blp.response(200, ReminderSettingsSchema)
def get_reminders():
    """My reminder: time, days and quiet hours in my time zone, and when it comes next."""
    return push.reminder_settings(current_client())


@blp.route("/reminders", methods=["PUT"])
@signed_in("client")
@blp.arguments(ReminderSettingsInSchema)
@blp.response(200, ReminderSettingsSchema)
@blp.problem(422, "Bad time or days, or the time falls in the quiet hours")
def put_reminders(data):
    """Set my reminder's time, days and quiet hours, or switch it off."""
    return push.update_reminder_settings(current_client(), data)


@blp.route("/clients/<id:client_id>/nudge", methods=["POST"])
@signed_in("therapist")
@blp.arguments(NudgeInSchema)
@blp.response(202, NudgeSchema, description="Queued for the client's phones")
@blp.problem(404, "No such client of yours")
@blp.problem(429, "Nudged less than an hour ago; Retry-After says when to try again")
def nudge(data, client_id):
    """Send a client a nudge (at most one an hour per client)."""
    return push.nudge(current_therapist(), client_id, data["message"])


@blp.route("/notifications/<uuid:notification_id>/actions", methods=["POST"])
@signed_in("client")
@blp.arguments(NotificationActionInSchema)
@blp.response(200, NotificationActionSchema)
@blp.problem(404, "No such notification of mine")
@blp.problem(409, "Done, but nothing is planned for today")
def notification_action(data, notification_id):
    """Act on a notification: "done" logs today's routine once, "snooze" reminds in an hour."""
    return push.act_on_notification(current_client(), str(notification_id), data["action"])
