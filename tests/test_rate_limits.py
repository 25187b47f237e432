"""Every input that takes a password or a code is rate limited: past the limit a 429 problem
with Retry-After, and the right answer again once the window has passed (limiter.reset() stands
for the passing window; the limits are the defaults from server/config.py)."""

from __future__ import annotations

import pytest

from server.extensions import limiter

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new long passphrase"


def assert_limited(response) -> None:
    assert response.status_code == 429, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 429
    assert int(response.headers["Retry-After"]) > 0


def change_password(user, current: str, new: str = NEW_PASSWORD):
    return user.post("/api/auth/password", json={"current_password": current, "new_password": new})


def test_wrong_current_passwords_lock_the_account_out_of_password_checks(make, app):
    therapist = make.therapist()
    email = therapist.me["therapist"]["email"]
    # A weak new password with the right current one is not a wrong password: not counted.
    for _ in range(6):
        assert change_password(therapist, PASSWORD, "short").status_code == 422
    for _ in range(5):
        wrong = change_password(therapist, "not my password")
        assert wrong.status_code == 422 and "current_password" in wrong.get_json()["errors"]
    assert_limited(change_password(therapist, PASSWORD))
    # Per account, not per device: the same therapist on another device is locked out too.
    laptop = app.test_client()
    me = laptop.post("/api/auth/login", json={"email": email, "password": PASSWORD}).get_json()
    laptop_user = type(therapist)(laptop, me)
    assert_limited(change_password(laptop_user, PASSWORD))
    # Nobody else is.
    other = make.therapist()
    assert change_password(other, PASSWORD).status_code == 204
    limiter.reset()
    assert change_password(therapist, PASSWORD).status_code == 204


def test_sign_ups_are_limited_per_address(client, app):
    def sign_up(browser, n: int, address: str = "127.0.0.1"):
        return browser.post(
            "/api/auth/register",
            json={"email": f"new{n}@example.org", "password": PASSWORD, "name": "N"},
            environ_base={"REMOTE_ADDR": address},
        )

    # Probing which emails have an account (409) counts like a sign-up.
    assert sign_up(client, 0).status_code == 201
    answers = [sign_up(app.test_client(), 0).status_code for _ in range(9)]
    assert answers == [409] * 9
    assert_limited(sign_up(app.test_client(), 1))
    assert sign_up(app.test_client(), 2, address="10.0.0.7").status_code == 201
    limiter.reset()
    assert sign_up(app.test_client(), 1).status_code == 201


def test_login_limits_recover_after_the_window(app, client):
    client.post(
        "/api/auth/register",
        json={"email": "dana@example.org", "password": PASSWORD, "name": "Dana"},
    )
    for i in range(10):
        wrong = app.test_client().post(
            "/api/auth/login",
            json={"email": "dana@example.org", "password": "wrong password"},
            environ_base={"REMOTE_ADDR": f"10.0.1.{i + 1}"},
        )
        assert wrong.status_code == 401
    right = {"email": "dana@example.org", "password": PASSWORD}
    assert_limited(app.test_client().post("/api/auth/login", json=right))
    limiter.reset()
    assert app.test_client().post("/api/auth/login", json=right).status_code == 200


def test_invite_claims_recover_after_the_window(make, app):
    therapist = make.therapist()
    client = make.client_of(therapist)
    code = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    phone = app.test_client()
    for _ in range(10):
        assert phone.post("/api/invites/claim", json={"code": "ABCDE-FGHJK"}).status_code == 422
    assert_limited(phone.post("/api/invites/claim", json={"code": code}))
    limiter.reset()
    assert phone.post("/api/invites/claim", json={"code": code}).status_code == 200


def test_unknown_codes_looked_up_for_a_qr_code_are_limited_per_account(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    code = therapist.post(f"/api/clients/{client['id']}/invites").get_json()["code"]
    for _ in range(12):  # real codes are not counted
        assert therapist.get(f"/api/invites/{code}/qr.svg").status_code == 200
    for n in range(10):
        assert therapist.get(f"/api/invites/ABCDE-FGH{n:02d}/qr.svg").status_code == 404
    assert_limited(therapist.get(f"/api/invites/{code}/qr.svg"))
    other = make.therapist()
    assert other.get("/api/invites/ABCDE-FGHJK/qr.svg").status_code == 404
    limiter.reset()
    assert therapist.get(f"/api/invites/{code}/qr.svg").status_code == 200


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/auth/login", "post"),
        ("/api/auth/register", "post"),
        ("/api/auth/password", "post"),
        ("/api/invites/claim", "post"),
        ("/api/invites/{code}/qr.svg", "get"),
    ],
)
def test_every_limited_input_documents_its_429(client, path, method):
    operation = client.get("/api/openapi.json").get_json()["paths"][path][method]
    assert "429" in operation["responses"]
