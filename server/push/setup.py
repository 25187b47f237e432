"""Push settings, read and checked once when the app starts, so a wrong PUSH_CONTACT, host list
or VAPID key stops start-up with a message instead of failing at the first reminder."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, current_app

from server.push.keys import PushConfigError, VapidKeys, load_vapid_keys
from server.push.sender import PushSender
from server.push.validation import DEFAULT_CONTACT, EndpointPolicy, resolve_contact

log = logging.getLogger(__name__)
EXTENSION = "limber_push"


@dataclass(frozen=True)
class PushSettings:
    keys: VapidKeys
    contact: str
    policy: EndpointPolicy


def init_push(app: Flask) -> None:
    config = app.config
    for name in (
        "PUSH_WORKER_THREADS",
        "PUSH_LEASE_SECONDS",
        "PUSH_MAX_ATTEMPTS",
        "PUSH_TIMEOUT_SECONDS",
        "PUSH_RETRY_SECONDS",
    ):
        if int(config[name]) < 1:
            raise PushConfigError(f"{name} must be at least 1")
    if config["PUSH_LEASE_SECONDS"] <= 3 * config["PUSH_TIMEOUT_SECONDS"]:
        # A sending thread's batch may take two timeouts (see PushSender.send_many), plus the time
        # to record it: the lease must outlast that with room, or another worker would send the
        # same rows again meanwhile.
        raise PushConfigError("PUSH_LEASE_SECONDS must be more than 3 times PUSH_TIMEOUT_SECONDS")
    settings = PushSettings(
        keys=load_vapid_keys(
            config["VAPID_PRIVATE_KEY"], config["VAPID_PUBLIC_KEY"], app.instance_path
        ),
        contact=resolve_contact(config["PUSH_CONTACT"], config["PUBLIC_URL"]),
        policy=EndpointPolicy.from_setting(config["PUSH_ALLOWED_HOSTS"]),
    )
    if settings.contact == DEFAULT_CONTACT and not config["TESTING"]:
        log.warning("PUSH_CONTACT is not set: Apple's push service refuses %s", DEFAULT_CONTACT)
    app.extensions[EXTENSION] = settings


def push_settings() -> PushSettings:
    return current_app.extensions[EXTENSION]


def make_sender(app: Flask) -> PushSender:
    settings: PushSettings = app.extensions[EXTENSION]
    return PushSender(
        settings.keys,
        settings.contact,
        settings.policy,
        timeout=float(app.config["PUSH_TIMEOUT_SECONDS"]),
    )
