"""Accounts, sign-in, sessions, CSRF and rate limits."""

from datetime import timedelta

from sqlalchemy import select, update

from server.models import DeviceSession, Therapist
from server.orm import utcnow
from server.services.secrets import hash_token
from tests.conftest import ApiUser

PASSWORD = "correct horse battery staple"


def register(client, email="dana@example.org", password=PASSWORD, name="Dana"):
    return client.post("/api/auth/register", json={"email": email, "password": password, "name": name})


def cookie_header(response) -> str:
    return response.headers["Set-Cookie"]


def test_register_signs_in_with_a_hardened_cookie(client):
    response = register(client)
    assert response.status_code == 201
    body = response.get_json()
    assert body["role"] == "therapist" and body["therapist"]["email"] == "dana@example.org"
    assert len(body["csrf_token"]) >= 32
    cookie = cookie_header(response)
    assert cookie.startswith("limber_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert f"Max-Age={14 * 24 * 3600}" in cookie
    assert client.get("/api/me").get_json()["therapist"]["name"] == "Dana"


def test_session_token_is_stored_only_as_a_hash(client, db):
    response = register(client)
    token = cookie_header(response).split(";")[0].split("=", 1)[1]
    assert len(token) >= 32
    stored = db.session.scalars(select(DeviceSession.token_hash)).all()
    assert hash_token(token) in stored and token not in stored


def test_secure_cookie_with_host_prefix_over_https(another_app):
    secure = another_app(HTTPS=True)
    browser = secure.test_client()
    response = browser.post(
        "/api/auth/register",
        json={"email": "secure@example.org", "password": PASSWORD, "name": "S"},
        base_url="https://localhost",
    )
    assert response.status_code == 201
    cookie = cookie_header(response)
    assert cookie.startswith("__Host-limber_session=") and "Secure" in cookie


def test_email_is_unique_whatever_its_case(client):
    assert register(client).status_code == 201
    again = register(client.application.test_client(), email="DANA@example.org")
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"


def test_passwords_must_be_long_and_uncommon(client):
    short = register(client, password="short1234")
    assert short.status_code == 422 and "password" in short.get_json()["errors"]
    common = register(client, password="password123")
    assert common.status_code == 422 and "common" in common.get_json()["detail"]
    long_passphrase = register(client, password="x" * 20 + " my very long passphrase " + "y" * 40)
    assert long_passphrase.status_code == 201


def test_password_is_hashed_with_argon2id(client, db):
    register(client)
    stored = db.session.scalar(select(Therapist.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_wrong_password_and_unknown_email_answer_alike(client):
    register(client)
    wrong = client.post("/api/auth/login", json={"email": "dana@example.org", "password": "not the password"})
    unknown = client.post("/api/auth/login", json={"email": "nobody@example.org", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_login_makes_a_new_session_each_time(app):
    register(app.test_client())
    first = app.test_client().post("/api/auth/login", json={"email": "Dana@Example.org", "password": PASSWORD})
    second = app.test_client().post("/api/auth/login", json={"email": "dana@example.org", "password": PASSWORD})
    assert first.status_code == second.status_code == 200
    assert cookie_header(first).split(";")[0] != cookie_header(second).split(";")[0]


def test_signing_in_again_ends_the_browsers_previous_session(client, db):
    register(client)
    client.post("/api/auth/login", json={"email": "dana@example.org", "password": PASSWORD})
    assert db.session.scalar(select(db.func.count()).select_from(DeviceSession)) == 1


def test_changes_need_the_csrf_header(make):
    therapist = make.therapist()
    without = therapist.http.post("/api/clients", json={"name": "A", "timezone": "Europe/London"})
    wrong = therapist.http.post(
        "/api/clients", json={"name": "A", "timezone": "Europe/London"}, headers={"X-CSRF-Token": "nope"}
    )
    assert without.status_code == wrong.status_code == 403
    assert "X-CSRF-Token" in without.get_json()["detail"]
    assert therapist.post("/api/clients", json={"name": "A", "timezone": "Europe/London"}).status_code == 201
    assert therapist.get("/api/me").get_json()["csrf_token"] == therapist.csrf


def test_logout_ends_the_session(make):
    therapist = make.therapist()
    assert therapist.post("/api/auth/logout").status_code == 204
    assert therapist.get("/api/me").status_code == 401


def test_anonymous_requests_get_401(client):
    for path in ("/api/me", "/api/clients", "/api/today", "/api/dashboard", "/api/exercises"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.mimetype == "application/problem+json"


def test_roles_are_kept_apart(make):
    therapist = make.therapist()
    phone = make.phone(therapist, make.client_of(therapist)["id"])
    assert phone.get("/api/clients").status_code == 403
    assert phone.get("/api/dashboard").status_code == 403
    assert therapist.get("/api/today").status_code == 403
    assert therapist.post("/api/sessions", json={}).status_code == 403


def test_expired_sessions_are_refused(make, db):
    therapist = make.therapist()
    db.session.execute(update(DeviceSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert therapist.get("/api/me").status_code == 401


def test_expiry_slides_when_the_session_is_used(make, db):
    therapist = make.therapist()
    long_ago = utcnow() - timedelta(days=3)
    db.session.execute(update(DeviceSession).values(last_seen_at=long_ago, expires_at=long_ago + timedelta(days=14)))
    db.session.commit()
    response = therapist.get("/api/me")
    assert response.status_code == 200
    assert "Max-Age" in response.headers.get("Set-Cookie", "")
    db.session.rollback()  # end the test's own read transaction to see the committed row
    session = db.session.scalar(select(DeviceSession))
    assert session.expires_at > utcnow() + timedelta(days=13)


def test_client_devices_live_180_days(make):
    therapist = make.therapist()
    client_id = make.client_of(therapist)["id"]
    invite = therapist.post(f"/api/clients/{client_id}/invites").get_json()
    claimed = make.app.test_client().post("/api/invites/claim", json={"code": invite["code"]})
    assert f"Max-Age={180 * 24 * 3600}" in cookie_header(claimed)


def test_password_change_ends_other_sessions(make, app):
    therapist = make.therapist()
    email = therapist.me["therapist"]["email"]
    other = app.test_client()
    assert other.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    wrong = therapist.post("/api/auth/password", json={"current_password": "nope", "new_password": "another long passphrase"})
    assert wrong.status_code == 422
    changed = therapist.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
    )
    assert changed.status_code == 204
    assert other.get("/api/me").status_code == 401
    assert therapist.get("/api/me").status_code == 200
    fresh = app.test_client().post("/api/auth/login", json={"email": email, "password": "another long passphrase"})
    assert fresh.status_code == 200


def test_sessions_list_and_sign_out_elsewhere(make, app):
    therapist = make.therapist()
    email = therapist.me["therapist"]["email"]
    laptop = app.test_client()
    laptop.post("/api/auth/login", json={"email": email, "password": PASSWORD},
                headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36"})
    sessions = therapist.get("/api/me/sessions").get_json()
    assert len(sessions) == 2
    assert sum(s["current"] for s in sessions) == 1
    other = next(s for s in sessions if not s["current"])
    assert other["label"] == "Chrome on Windows"
    assert therapist.delete(f"/api/me/sessions/{other['id']}").status_code == 204
    assert laptop.get("/api/me").status_code == 401
    assert therapist.delete(f"/api/me/sessions/{other['id']}").status_code == 404
    assert therapist.delete("/api/me/sessions").status_code == 204
    assert therapist.get("/api/me").status_code == 401


def test_login_is_rate_limited_per_address(client):
    register(client)
    answers = [
        client.post("/api/auth/login", json={"email": f"x{i}@example.org", "password": "wrong password"}).status_code
        for i in range(11)
    ]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429
    limited = client.post("/api/auth/login", json={"email": "dana@example.org", "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0


def test_login_is_rate_limited_per_account(app):
    register(app.test_client())
    answers = []
    for i in range(11):
        # Each attempt from a different address: only the per-account limit can stop them.
        browser = app.test_client()
        answers.append(
            browser.post(
                "/api/auth/login",
                json={"email": "dana@example.org", "password": "wrong password"},
                environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},
            ).status_code
        )
    assert answers[:10] == [401] * 10 and answers[10] == 429


def test_invite_claims_are_rate_limited(client):
    answers = [client.post("/api/invites/claim", json={"code": "ABCDE-FGHJK"}).status_code for _ in range(11)]
    assert answers[:10] == [422] * 10 and answers[10] == 429


def test_api_user_helper_sends_csrf(make):
    therapist = make.therapist()
    assert isinstance(therapist, ApiUser)
    assert therapist.post("/api/clients", json={"name": "B", "timezone": "UTC"}).status_code == 201
