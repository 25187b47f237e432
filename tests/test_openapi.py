"""The OpenAPI document is valid, complete, and the docs are served from this server."""

import re

from openapi_spec_validator import validate

SIGN_IN_OPERATIONS = {("post", "/api/auth/register"), ("post", "/api/auth/login"), ("post", "/api/invites/claim")}
PUBLIC_OPERATIONS = SIGN_IN_OPERATIONS | {("get", "/api/safety"), ("get", "/api/push/vapid-public-key")}


def spec_of(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3(client):
    spec = spec_of(client)
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_route_and_method_is_documented(app, client):
    paths = spec_of(client)["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule.startswith("/api/docs") or rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in paths, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], (method, path)


def test_every_operation_documents_its_answers(client):
    spec = spec_of(client)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            where = (method, path)
            assert operation.get("summary"), where
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), where
            assert "default" in statuses, where
            if (method, path) not in PUBLIC_OPERATIONS:
                assert "401" in statuses and operation.get("security"), where
                # The CSRF header (and its 403) belongs to changes, not to reads.
                schemes = {name for requirement in operation["security"] for name in requirement}
                assert ("csrfToken" in schemes) == (method != "get"), where
                if method != "get":
                    assert "403" in statuses, where
            if method in ("post", "put", "patch") and "requestBody" in operation:
                assert "application/json" in operation["requestBody"]["content"], where
                assert {"400", "422"} <= statuses, where
            for status, response in operation["responses"].items():
                if status.startswith("4") and "content" in response:
                    assert list(response["content"]) == ["application/problem+json"], (where, status)


def test_request_bodies_are_documented_where_the_api_reads_them(client):
    paths = spec_of(client)["paths"]
    for method, path in [
        ("post", "/api/auth/register"), ("post", "/api/auth/login"), ("post", "/api/clients"),
        ("patch", "/api/clients/{client_id}"), ("post", "/api/invites/claim"), ("post", "/api/exercises"),
        ("post", "/api/routines"), ("put", "/api/routines/{routine_id}"),
        ("post", "/api/clients/{client_id}/assignments"), ("patch", "/api/assignments/{assignment_id}"),
        ("post", "/api/sessions"),
    ]:  # fmt: skip
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("$ref"), (method, path)


def test_error_components_are_problem_documents(client):
    spec = spec_of(client)
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    error = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(error["content"]) == ["application/problem+json"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["in"] == "cookie" and schemes["csrfToken"]["name"] == "X-CSRF-Token"


def test_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "<script>" not in html  # no inline script
    for asset in re.findall(r"(?:src|href)=\"(/api/docs/[^\"]+)\"", html):
        with client.get(asset) as response:
            assert response.status_code == 200 and len(response.data) > 100, asset
    assert client.get("/api/docs/assets/index.html").status_code == 404
