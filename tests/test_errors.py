"""Bad input never causes a 500: every API route, every method, as every kind of caller.

Each answer to bad input is a 4xx in the one problem+json format, and the data saved before the
barrage is still there afterwards.
"""

import json
import re

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, OperationalError

from tests.conftest import session_upload

BAD_BODIES = [
    ("none", None, None),
    ("empty object", "{}", "application/json"),
    ("array", "[1, 2]", "application/json"),
    ("string", '"hello"', "application/json"),
    ("null", "null", "application/json"),
    ("malformed", '{"name": ', "application/json"),
    ("not utf-8", b"\xff\xfe\x00{", "application/json"),
    (
        "wrong types",
        json.dumps(
            {
                k: [{"x": None}]
                for k in (
                    "name",
                    "timezone",
                    "email",
                    "password",
                    "items",
                    "id",
                    "assignment_id",
                    "performed_at",
                    "pain_after",
                    "routine_id",
                    "weekdays",
                    "code",
                    "action",
                    "dose",
                    "regions",
                )
            }
        ),
        "application/json",
    ),  # fmt: skip
    (
        "huge numbers",
        json.dumps(
            {
                k: 10**30
                for k in (
                    "routine_id",
                    "assignment_id",
                    "copy_of",
                    "times_per_week",
                    "pain_after",
                    "sets",
                )
            }
        ),
        "application/json",
    ),  # fmt: skip
    ("deep nesting", "[" * 5000 + "]" * 5000, "application/json"),
    ("form encoded", "name=x&timezone=UTC", "application/x-www-form-urlencoded"),
    ("text", "hello", "text/plain"),
]
PATH_VALUES = {"int": ["1", "0", "99999999999999999999", "-1"], "code": ["A", "%00", "x" * 300]}


def _paths(rule) -> list[str]:
    """The route with each parameter replaced by awkward values."""
    names = re.findall(r"<(?:(\w+):)?(\w+)>", rule.rule)
    if not names:
        return [rule.rule]
    paths = []
    for index in range(4):
        path = rule.rule
        for converter, name in names:
            values = PATH_VALUES["int"] if converter in ("id", "int") else PATH_VALUES["code"]
            path = re.sub(rf"<(?:\w+:)?{name}>", values[index % len(values)], path, count=1)
        paths.append(path)
    return paths


@pytest.fixture()
def callers(make):
    therapist = make.therapist()
    client = make.client_of(therapist)
    assignment = make.assignment(therapist, client["id"])
    phone = make.phone(therapist, client["id"])
    assert phone.post("/api/sessions", json=session_upload(assignment)).status_code == 201
    return {"anonymous": None, "therapist": therapist, "client": phone}, client, assignment


def test_no_input_causes_a_500(app, callers):
    users, client, assignment = callers
    rules = [
        r for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and "docs" not in r.rule
    ]
    assert len(rules) > 30
    answered = 0
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path in _paths(rule):
                for role, user in users.items():
                    http = user.http if user else app.test_client()
                    headers = {"X-CSRF-Token": user.csrf} if user else {}
                    for label, body, content_type in BAD_BODIES:
                        response = http.open(
                            path,
                            method=method,
                            data=body,
                            content_type=content_type,
                            headers=headers,
                        )
                        where = f"{method} {path} as {role} with {label}"
                        assert response.status_code < 500, (
                            where,
                            response.get_data(as_text=True)[:300],
                        )
                        if response.status_code >= 400:
                            assert response.mimetype == "application/problem+json", where
                            problem = response.get_json()
                            assert (
                                problem["status"] == response.status_code and problem["detail"]
                            ), where
                        answered += 1
    assert answered > 2000
    # The barrage deleted nothing that had been saved (client deletion with id 1 aside,
    # which only a therapist owning client 1 could do, and then it is their own client).
    therapist, phone = users["therapist"], users["client"]
    if therapist.get(f"/api/clients/{client['id']}").status_code == 200:
        assert len(phone.get("/api/sessions").get_json()) == 1


def test_oversized_bodies_are_refused_before_parsing(callers):
    users, client, _ = callers
    therapist = users["therapist"]
    huge = {"name": "A", "timezone": "Europe/London", "email": None, "padding": "x" * 70_000}
    response = therapist.post("/api/clients", json=huge)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert [c["id"] for c in therapist.get("/api/clients").get_json()] == [client["id"]]


def test_validation_errors_name_each_field(callers):
    therapist = callers[0]["therapist"]
    response = therapist.post("/api/clients", json={"name": "", "timezone": "Nowhere", "extra": 1})
    problem = response.get_json()
    assert response.status_code == 422
    assert set(problem["errors"]) == {"name", "timezone", "extra"}
    assert problem["type"] == "about:blank" and problem["title"] == "Unprocessable Entity"
    assert "timezone" in problem["detail"]


def test_wrong_method_and_unknown_route(callers):
    therapist = callers[0]["therapist"]
    wrong = therapist.put("/api/clients")
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]
    assert wrong.mimetype == "application/problem+json"
    missing = therapist.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def _sqlite_error(path, statement: str, hold_write_lock: bool = False) -> OperationalError:
    """A real OperationalError from SQLite, raised through SQLAlchemy as in a request."""
    holder = create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
    waiter = create_engine(
        f"sqlite:///{path}", connect_args={"timeout": 0, "isolation_level": None}
    )
    try:
        with holder.connect() as holding:
            if hold_write_lock:
                holding.exec_driver_sql("BEGIN IMMEDIATE")
            with waiter.connect() as waiting, pytest.raises(OperationalError) as raised:
                waiting.exec_driver_sql(statement)
            if hold_write_lock:
                holding.exec_driver_sql("ROLLBACK")
    finally:
        holder.dispose()
        waiter.dispose()
    return raised.value


def _answer_when_raising(another_app, error: Exception):
    app = another_app()

    @app.get("/raise")
    def raise_it():
        raise error

    return app.test_client().get("/raise")


@pytest.mark.parametrize(
    "cause",
    ["postgresql unreachable", "connection cut", "sqlite busy"],
)
def test_an_unreachable_or_busy_database_is_a_503_with_retry_after(another_app, tmp_path, cause):
    """Phones retry a 503 after Retry-After; a 500 would say the upload itself was wrong."""
    error = {
        "postgresql unreachable": lambda: OperationalError(
            "SELECT 1", {}, psycopg.OperationalError("connection failed: Connection refused")
        ),
        "connection cut": lambda: DBAPIError(
            "COMMIT",
            {},
            psycopg.InterfaceError("the connection is lost"),
            connection_invalidated=True,
        ),
        "sqlite busy": lambda: _sqlite_error(
            tmp_path / "busy.sqlite3", "BEGIN IMMEDIATE", hold_write_lock=True
        ),
    }[cause]()
    response = _answer_when_raising(another_app, error)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    assert response.get_json()["status"] == 503


def test_a_database_programming_error_is_not_a_503(another_app, tmp_path):
    # SQLite reports a missing table as OperationalError too; that is a bug, never "try later".
    error = _sqlite_error(tmp_path / "empty.sqlite3", "SELECT * FROM no_such_table")
    with pytest.raises(OperationalError, match="no such table"):
        _answer_when_raising(another_app, error)


def test_an_operation_that_reads_a_body_refuses_none_or_another_media_type(callers):
    therapist, client_id = callers[0]["therapist"], callers[1]["id"]
    form = {"data": "archived=true", "content_type": "application/x-www-form-urlencoded"}
    for request in ({}, form):
        response = therapist.patch(f"/api/clients/{client_id}", **request)
        assert response.status_code == 422 and "JSON body" in response.get_json()["detail"]
    # JSON booleans are true or false; 1 is refused, as "5" is for a number.
    assert therapist.patch(f"/api/clients/{client_id}", json={"archived": 1}).status_code == 422
    assert therapist.get(f"/api/clients/{client_id}").get_json()["archived"] is False


def test_an_id_that_cannot_exist_is_404_whatever_the_method(callers):
    therapist = callers[0]["therapist"]
    for method in ("GET", "PATCH", "DELETE"):
        for impossible in ("0", "2147483648"):
            response = getattr(therapist, method.lower())(f"/api/clients/{impossible}", json={})
            assert response.status_code == 404, (method, impossible)
