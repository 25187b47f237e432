"""schemathesis fuzzes every operation of /api/openapi.json, in-process, as three people.

Anonymous, a therapist and a client's phone each send schemathesis' coverage cases (boundary
values, missing and wrong-typed parts) and Hypothesis-generated examples, valid and invalid, to
every operation in the document, so an endpoint added later is fuzzed without editing this file.
Path ids point at real objects (a client with an assignment, a phone, an open invite, a routine,
a notification) often enough to reach the 2xx answers, not only 404s; whatever a request ends or
deletes (a sign-out, a deleted client, an archived one) is rebuilt before the next request.

Every answer must be no 5xx, a status the operation documents explicitly (not merely under
`default`), and the documented content type and schema; invalid input must be refused with a 4xx.
Afterwards every status each operation documents must have been seen: a few that random input
cannot reach (a duplicate email, a replayed upload, a rate limit) are sent on purpose, and those
answers go through the same checks. The figures go to test-artifacts/schemathesis.json.

Run alone: `.venv/bin/python -m pytest tests/test_schemathesis.py -q -s` (LIMBER_FUZZ_EXAMPLES
sets the generated examples per operation, person and mode; default 6).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_schema_conformance,
    unsupported_method,
)
from sqlalchemy import select

from server.config import PROJECT_ROOT
from server.extensions import db
from server.models import (
    Assignment,
    Client,
    DeviceSession,
    Invite,
    Notification,
    Routine,
    Therapist,
)
from server.orm import utcnow
from server.services import device_sessions
from tests.conftest import ApiUser, Factory, session_upload
from tests.support import log_scan
from tests.test_push_api import subscription

EXAMPLES = int(os.environ.get("LIMBER_FUZZ_EXAMPLES") or 6)
# Positive cases answered only 401/403 after this many: the operation is not for this person,
# and more examples would only repeat the refusal.
PROBE = 3
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COOKIE, CSRF = "limber_session", "X-CSRF-Token"
PASSWORD = "correct horse battery staple"  # what tests.conftest.Factory registers with
IDENTITIES = ("anonymous", "therapist", "client")
ARTIFACT = PROJECT_ROOT / "test-artifacts" / "schemathesis.json"


def documented_statuses(operation) -> set[str]:
    return set(operation.responses.status_codes) - {"default"}


@schemathesis.check
def status_is_documented(ctx, response, case):
    """Stricter than status_code_conformance, which passes any status once `default` is listed
    (and every operation lists it, for the problem document format)."""
    if case.method.upper() != case.operation.method.upper():
        return None  # a probe with a method the path does not have: unsupported_method judges it
    documented = documented_statuses(case.operation)
    if str(response.status_code) not in documented:
        raise AssertionError(
            f"{response.status_code} is not documented; documented: {', '.join(sorted(documented))}"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_is_documented,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
]


def session_id_of(user: ApiUser) -> int:
    sessions = user.get("/api/me/sessions").get_json()
    return next(s["id"] for s in sessions if s["current"])


def token_of(user: ApiUser) -> str:
    return user.http.get_cookie(COOKIE).value


class World:
    """Real objects for path ids, and the signed-in people, rebuilt whenever a request breaks them."""

    def __init__(self, app):
        self.app = app
        self.make = Factory(app)
        self.rebuilds: Counter = Counter()
        self.build()

    # -- building ---------------------------------------------------------------------------

    def build(self) -> None:
        """A therapist with a second device and a routine of their own, and a client (new_client)."""
        self.therapist = self.make.therapist("Fuzz Therapist")
        self.email = self.therapist.me["therapist"]["email"]
        self.password = PASSWORD
        self.therapist_id = self.therapist.me["therapist"]["id"]
        self.therapist_session = session_id_of(self.therapist)
        self.spare_session = self.new_device()[1]
        self.exercise_id = self.therapist.get("/api/exercises").get_json()[0]["id"]
        self.template_id = self.make.template_id(self.therapist)
        self.routine_id = self._routine()
        self.new_client()

    def new_device(self) -> tuple[ApiUser, int]:
        """Another signed-in device of the therapist, and its session id. Made through the session
        service, not POST /api/auth/login: the fuzzer signs the therapist out often, and every
        login is a deliberately slow password check."""
        with self.app.app_context():
            therapist = db.session.get(Therapist, self.therapist_id)
            token, session = device_sessions.start_session(therapist=therapist, label="Fuzz")
            db.session.commit()
            user = {"csrf_token": device_sessions.csrf_token_for(token)}
            session_id = session.id
            db.session.remove()
        browser = self.app.test_client()
        browser.set_cookie(COOKIE, token)
        return ApiUser(browser, user), session_id

    def _routine(self) -> int:
        response = self.therapist.post("/api/routines", json={"copy_of": self.template_id})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def new_client(self) -> None:
        """A client with an active assignment, a phone with a push subscription and a
        notification, and an open invite (made last: a new invite ends the earlier ones)."""
        self.client = self.make.client_of(self.therapist, "Fuzz Client")
        self.assignment_id = self.make.assignment(self.therapist, self.client["id"])["id"]
        self.phone = self.make.phone(self.therapist, self.client["id"])
        self.phone_session = session_id_of(self.phone)
        endpoint = f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}"
        subscribed = self.phone.post("/api/push/subscriptions", json=subscription(endpoint))
        assert subscribed.status_code == 201, subscribed.get_json()
        nudged = self.therapist.post(f"/api/clients/{self.client['id']}/nudge", json={})
        assert nudged.status_code == 202, nudged.get_json()
        self.notification_id = nudged.get_json()["notification_id"]
        self._invite()

    def _invite(self) -> None:
        response = self.therapist.post(f"/api/clients/{self.client['id']}/invites")
        assert response.status_code == 201, response.get_json()
        self.invite_code = response.get_json()["code"]
        with self.app.app_context():
            self.invite_row = db.session.scalar(
                select(Invite.id)
                .where(Invite.client_id == self.client["id"])
                .order_by(Invite.id.desc())
            )
            db.session.remove()

    # -- repairing --------------------------------------------------------------------------

    def broken(self) -> set[str]:
        """The parts of the world that requests have ended, deleted, archived or used up."""
        now = utcnow()
        with self.app.app_context():
            get = db.session.get

            def live(session_id) -> bool:
                session = get(DeviceSession, session_id)
                return session is not None and session.expires_at > now

            client = get(Client, self.client["id"])
            assignment = get(Assignment, self.assignment_id)
            invite = get(Invite, self.invite_row)
            notification = db.session.scalar(
                select(Notification.id).where(Notification.message_id == self.notification_id)
            )
            intact = {
                "account": get(Therapist, self.therapist_id) is not None,
                "therapist": live(self.therapist_session),
                "spare session": live(self.spare_session),
                "routine": get(Routine, self.routine_id) is not None,
                "client": client is not None
                and client.archived_at is None
                and live(self.phone_session)
                and notification is not None,
                "assignment": assignment is not None and assignment.status == "active",
                "invite": invite is not None and invite.used_at is None and invite.expires_at > now,
            }
            db.session.remove()
        return {part for part, ok in intact.items() if not ok}

    def repair(self) -> None:
        broken = self.broken()
        self.rebuilds.update(broken)
        if "account" in broken:  # the therapist deleted their account, and everything with it
            self.build()
            return
        if "therapist" in broken:
            self.therapist, self.therapist_session = self.new_device()
        if "spare session" in broken:
            self.spare_session = self.new_device()[1]
        if "routine" in broken:
            self.routine_id = self._routine()
        if "client" in broken:
            self.new_client()
            return
        if "assignment" in broken:
            self.assignment_id = self.make.assignment(self.therapist, self.client["id"])["id"]
        if "invite" in broken:
            self._invite()

    # -- what the fuzzer uses ---------------------------------------------------------------

    def credentials(self, identity: str) -> ApiUser | None:
        return {"therapist": self.therapist, "client": self.phone}.get(identity)

    def path_values(self) -> dict[str, list]:
        """Real values for path parameters, by name; a name not listed keeps generated values."""
        return {
            "client_id": [self.client["id"]],
            "session_id": [self.spare_session, self.phone_session],
            "code": [self.invite_code],
            "routine_id": [self.routine_id, self.template_id],
            "exercise_id": [self.exercise_id],
            "assignment_id": [self.assignment_id],
            "notification_id": [self.notification_id],
        }


@dataclass
class Run:
    """What was sent and seen, per person and operation, and what failed."""

    schema: object
    world: World
    requests: Counter = field(default_factory=Counter)
    seen: dict = field(default_factory=lambda: defaultdict(set))
    failures: dict = field(default_factory=dict)

    def send(self, identity: str, case, real_ids: int | None = None, **call_kwargs):
        """Send one case as `identity` (path ids from the world when `real_ids` picks one) and
        check the answer; rebuild whatever a successful change broke."""
        user = self.world.credentials(identity)
        if user is not None:
            # Fill the credentials the case carries; a case that leaves one out tests its absence.
            if COOKIE in case.cookies:
                case.cookies[COOKIE] = token_of(user)
            if CSRF in case.headers:
                case.headers[CSRF] = user.csrf
        if real_ids is not None:
            values = self.world.path_values()
            case.path_parameters = {
                name: values[name][real_ids % len(values[name])] if name in values else value
                for name, value in case.path_parameters.items()
            }
        label = case.operation.label
        self.requests[identity] += 1
        try:
            # Generated passwords, notes and codes are random text, not secrets to look for in logs.
            with log_scan.RUN.generated_input():
                response = case.call(**call_kwargs)
        except Exception as error:  # the app raised: with TESTING on, Flask lets it through
            self._fail(identity, label, "server error", f"{type(error).__name__}: {error}", case)
            self.world.repair()
            return None
        self.seen[label].add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                self._fail(
                    identity, label, failure.title, failure.message, case, response.status_code
                )
        if case.method.upper() in UNSAFE and response.status_code < 300:
            self.world.repair()
        return response

    def request(self, identity: str, method: str, path: str, path_parameters=None, body=NOT_SET):
        """A case made by hand, for what random input cannot reach; checked like the others."""
        case = self.schema[path][method].Case(
            path_parameters=path_parameters or {},
            cookies={COOKIE: ""},
            headers={CSRF: ""},
            body=body,
        )
        return self.send(identity, case)

    def _fail(self, identity, label, title, message, case, status=None):
        key = (label, title, status)
        if key not in self.failures:
            self.failures[key] = {
                "operation": label, "identity": identity, "check": title, "status": status,
                "message": message[:800], "curl": case.as_curl_command(),
            }  # fmt: skip


def coverage_cases(schema, operation) -> list:
    """schemathesis' deterministic cases (boundaries, missing and wrong-typed parts), valid first."""
    config = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=config,
    )
    return sorted(cases, key=lambda case: case.meta.generation.mode.is_negative)


def aims_at_path(case) -> bool:
    location = getattr(case.meta.phase.data, "parameter_location", None)
    return location is not None and location.value == "path"


def fuzz_operation(run: Run, schema, operation, identity: str) -> bool:
    """Coverage cases, then generated examples; False when the operation refuses this person
    (it needs a sign-in and its first valid cases all answered 401 or 403), so further examples
    would only repeat that."""
    answered = []
    needs_sign_in = bool(operation.definition.raw.get("security"))
    for case in coverage_cases(schema, operation):
        positive = case.meta.generation.mode is GenerationMode.POSITIVE
        if needs_sign_in and (len(answered) == PROBE or not positive):
            if set(answered) <= {401, 403}:
                return False
            needs_sign_in = False  # decided: this person gets through
        response = run.send(identity, case, None if aims_at_path(case) else 0)
        if positive and response is not None:
            answered.append(response.status_code)

    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: CI fails on the code, not on luck
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, real_ids=st.one_of(st.none(), st.integers(0, 7), st.integers(0, 7)))
    def examples(case, real_ids):
        run.send(identity, case, real_ids)

    examples()
    return True


@pytest.fixture()
def fuzz_app(another_app):
    # Generous sign-in limits so the fuzzer is not answered 429 throughout; the limiter object is
    # shared by every app in the run, so it stays on (as in tests/browser). 429 is reached below.
    return another_app(**{name: "100000 per hour" for name in LIMITS})


def test_every_operation_survives_fuzzing_and_reaches_every_documented_status(
    fuzz_app, another_app
):
    started, cpu_started = time.monotonic(), time.process_time()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    world = World(fuzz_app)
    run = Run(schema, world)
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed_as = defaultdict(list)
    for operation in operations:
        for identity in IDENTITIES:
            if fuzz_operation(run, schema, operation, identity):
                fuzzed_as[operation.label].append(identity)
    fuzzed = dict(run.requests)

    limited_app = another_app(**{name: "1 per hour" for name in LIMITS})
    reach_the_rest(run, schema, operations, fuzzed_as, limited_app)

    unreached = {
        operation.label: sorted(
            documented_statuses(operation) - {str(s) for s in run.seen[operation.label]}
        )
        for operation in operations
    }
    unreached = {label: statuses for label, statuses in unreached.items() if statuses}
    summary = {
        "operations": len(operations),
        "generated_examples_per_operation_and_person": EXAMPLES * 2,
        "fuzz_requests_per_person": fuzzed,
        "targeted_requests": sum(run.requests.values()) - sum(fuzzed.values()),
        "requests": sum(run.requests.values()),
        "rebuilds": dict(world.rebuilds),
        "seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "database": fuzz_app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0],
        "fuzzed_as": fuzzed_as,
        "statuses_seen": {label: sorted(codes) for label, codes in sorted(run.seen.items())},
        "unreached_documented_statuses": unreached,
        "failures": list(run.failures.values()),
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(summary, indent=2))
    print(
        f"\nschemathesis: {len(operations)} operations, {summary['requests']} requests "
        f"(fuzzing {fuzzed}, targeted {summary['targeted_requests']}), "
        f"{len(run.failures)} failures, {len(unreached)} operations with unreached statuses, "
        f"{summary['seconds']} s ({summary['cpu_seconds']} s CPU); {ARTIFACT}"
    )
    assert not run.failures, json.dumps(summary["failures"], indent=2)
    assert not unreached, unreached
    # Every operation got past sign-in as someone, so it was fuzzed, not only refused.
    assert all(fuzzed_as[operation.label] for operation in operations), dict(fuzzed_as)


# Every rate limit the API has: generous while fuzzing, one an hour to reach the 429s.
LIMITS = ("LOGIN_RATE_LIMIT", "CLAIM_RATE_LIMIT", "REGISTER_RATE_LIMIT", "PASSWORD_RATE_LIMIT")


def reach_the_rest(run: Run, schema, operations, fuzzed_as, limited_app) -> None:
    """Send, through the same checks, what random input cannot reach, for statuses still unseen.

    Two are generic: 400 (a body that is not JSON) and 429 (the same request again, on an app
    whose limits allow one an hour). The rest need a particular state, made through the API.
    """
    done = set()
    for operation in operations:
        label = operation.label
        for status in sorted(documented_statuses(operation) - {str(s) for s in run.seen[label]}):
            identity = (fuzzed_as[label] or ["anonymous"])[-1]
            if (label, status) in SITUATIONS:
                if SITUATIONS[label, status] not in done:
                    done.add(SITUATIONS[label, status])
                    SITUATIONS[label, status](run, run.world, limited_app)
                    run.world.repair()
            elif status == "400":
                case = coverage_cases(schema, operation)[0]
                run.send(
                    identity,
                    case,
                    0,
                    data="{not json",
                    headers={"Content-Type": "application/json"},
                )
            elif status == "429":
                for _ in range(3):
                    response = run.send(
                        identity, coverage_cases(schema, operation)[0], 0, app=limited_app
                    )
                    if response is None or response.status_code == 429:
                        break


def sign_in_with_the_password(run: Run, world: World, limited_app=None) -> None:
    body = {"email": world.email, "password": world.password}
    run.request("anonymous", "POST", "/api/auth/login", body=body)


def change_the_password(run: Run, world: World, limited_app=None) -> None:
    new = f"another horse battery {uuid.uuid4().hex[:6]}"
    body = {"current_password": world.password, "new_password": new}
    # Set first: the change ends the spare session, which is rebuilt by signing in with it.
    old, world.password = world.password, new
    if run.request("therapist", "POST", "/api/auth/password", body=body).status_code != 204:
        world.password = old


def register_a_taken_email(run: Run, world: World, limited_app=None) -> None:
    body = {"email": world.email, "password": PASSWORD, "name": "Someone Else"}
    run.request("anonymous", "POST", "/api/auth/register", body=body)


def claim_the_open_invite(run: Run, world: World, limited_app=None) -> None:
    run.request("anonymous", "POST", "/api/invites/claim", body={"code": world.invite_code})


def invite_an_archived_client(run: Run, world: World, limited_app=None) -> None:
    client_id = world.client["id"]
    world.therapist.patch(f"/api/clients/{client_id}", json={"archived": True})
    run.request("therapist", "POST", "/api/clients/{client_id}/invites", {"client_id": client_id})


def change_an_ended_assignment(run: Run, world: World, limited_app=None) -> None:
    world.therapist.patch(f"/api/assignments/{world.assignment_id}", json={"action": "end"})
    path = "/api/assignments/{assignment_id}"
    run.request(
        "therapist", "PATCH", path, {"assignment_id": world.assignment_id}, {"action": "pause"}
    )


def upload_a_session_twice_then_changed(run: Run, world: World, limited_app=None) -> None:
    assignments = world.therapist.get(f"/api/clients/{world.client['id']}/assignments").get_json()
    body = session_upload(next(a for a in assignments if a["id"] == world.assignment_id))
    run.request("client", "POST", "/api/sessions", body=body)  # 201
    run.request("client", "POST", "/api/sessions", body=body)  # 200: the same upload again
    run.request("client", "POST", "/api/sessions", body={**body, "note": "Changed"})  # 409


def subscribe_twice(run: Run, world: World, limited_app=None) -> None:
    body = subscription(f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}")
    run.request("client", "POST", "/api/push/subscriptions", body=body)  # 201
    run.request("client", "POST", "/api/push/subscriptions", body=body)  # 200: refreshed


def nudge_a_new_client(run: Run, world: World, limited_app=None) -> None:
    client_id = world.make.client_of(world.therapist, "Newly Added")["id"]
    run.request("therapist", "POST", "/api/clients/{client_id}/nudge", {"client_id": client_id}, {})


def done_with_nothing_planned(run: Run, world: World, limited_app=None) -> None:
    world.new_client()  # a notification no one has acted on ("done" twice answers 200)
    world.therapist.patch(f"/api/assignments/{world.assignment_id}", json={"action": "end"})
    path = "/api/notifications/{notification_id}/actions"
    run.request(
        "client", "POST", path, {"notification_id": world.notification_id}, {"action": "done"}
    )


def register_with_a_weak_password(run: Run, world: World, limited_app=None) -> None:
    body = {"email": f"new-{uuid.uuid4().hex[:8]}@example.org", "password": "password", "name": "N"}
    run.request("anonymous", "POST", "/api/auth/register", body=body)


def delete_a_therapist_who_has_clients(run: Run, world: World, limited_app=None) -> None:
    run.request("therapist", "DELETE", "/api/me", body={"password": world.password})


def ask_for_unknown_qr_codes(run: Run, world: World, limited_app=None) -> None:
    """Unknown codes count against the account; the second is refused on a one-an-hour app."""
    path = "/api/invites/{code}/qr.svg"
    for _ in range(2):
        case = run.schema[path]["GET"].Case(
            path_parameters={"code": "AAAAA-AAAAA"}, cookies={COOKIE: ""}, headers={CSRF: ""}
        )
        run.send("therapist", case, app=limited_app)


def guess_the_password_to_delete(run: Run, world: World, limited_app=None) -> None:
    """Wrong passwords lock the account out; the second is refused on a one-an-hour app."""
    for _ in range(2):
        case = run.schema["/api/me"]["DELETE"].Case(
            cookies={COOKIE: ""}, headers={CSRF: ""}, body={"password": "not the password"}
        )
        run.send("therapist", case, app=limited_app)


def hand_a_client_over(run: Run, world: World, limited_app=None) -> None:
    # A client of their own, so the world's client stays where the other operations expect it.
    client_id = world.make.client_of(world.therapist, "Handed Over")["id"]
    colleague = world.make.therapist("Colleague")
    body = {"therapist_email": colleague.me["therapist"]["email"]}
    run.request(
        "therapist", "POST", "/api/clients/{client_id}/handover", {"client_id": client_id}, body
    )


SITUATIONS = {
    ("POST /api/auth/register", "422"): register_with_a_weak_password,
    ("DELETE /api/me", "409"): delete_a_therapist_who_has_clients,
    ("GET /api/invites/{code}/qr.svg", "429"): ask_for_unknown_qr_codes,
    ("DELETE /api/me", "429"): guess_the_password_to_delete,
    ("POST /api/clients/{client_id}/handover", "204"): hand_a_client_over,
    ("POST /api/auth/login", "200"): sign_in_with_the_password,
    ("POST /api/auth/password", "204"): change_the_password,
    ("POST /api/auth/register", "409"): register_a_taken_email,
    ("POST /api/invites/claim", "200"): claim_the_open_invite,
    ("POST /api/clients/{client_id}/invites", "422"): invite_an_archived_client,
    ("PATCH /api/assignments/{assignment_id}", "409"): change_an_ended_assignment,
    ("POST /api/sessions", "200"): upload_a_session_twice_then_changed,
    ("POST /api/sessions", "201"): upload_a_session_twice_then_changed,
    ("POST /api/sessions", "409"): upload_a_session_twice_then_changed,
    ("POST /api/push/subscriptions", "200"): subscribe_twice,
    ("POST /api/push/subscriptions", "201"): subscribe_twice,
    ("POST /api/clients/{client_id}/nudge", "202"): nudge_a_new_client,
    ("POST /api/notifications/{notification_id}/actions", "409"): done_with_nothing_planned,
}
