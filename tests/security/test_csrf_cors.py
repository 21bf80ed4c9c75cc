"""CSRF and CORS: mutations only by POST with a JSON body; browsers on other origins only when
listed in SESSIONGRAPH_CORS_ORIGINS (empty by default)."""

from __future__ import annotations

import json

import pytest

from dynamo.customers import get_customer
from server.settings import Settings
from tests.security.helpers import (
    LOGOUT_ALL,
    PASSWORD,
    SAME_ORIGIN,
    VIEWER,
    assert_token_works,
    moto_only,
    serve,
)

FRONTEND = "https://app.example.com"
EVIL = "https://evil.example"
REGISTER = (
    'mutation { registerCustomer(customerId: "mallory", password: "long enough") { customerId } }'
)


def _error_body(message: str, code: str) -> dict:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


@pytest.fixture
def cors(store):
    with serve(store, cors_origins=[FRONTEND]) as api:
        yield api


@moto_only
def test_a_mutation_over_get_is_refused_without_a_state_change(api, alice, calls, store):
    token, session_id = alice
    auth = {"authorization": f"Bearer {token}"}
    calls.reset()
    for query in (LOGOUT_ALL, REGISTER):
        response = api.client.get("/graphql", params={"query": query}, headers=auth)
        assert response.status_code == 400
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        assert error["message"].startswith("mutations are not allowed when using GET: ")
        assert "POST with `Content-Type: application/json`" in error["message"]
    assert calls.total == 0
    assert_token_works(api, token, session_id)
    assert get_customer(store, "mallory") is None


@moto_only
@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda c, q, h: c.post("/graphql", data={"query": q}, headers=h), id="form"),
        pytest.param(
            lambda c, q, h: c.post(
                "/graphql",
                content=json.dumps({"query": q}),
                headers={**h, "content-type": "text/plain"},
            ),
            id="text-plain",
        ),
        pytest.param(
            lambda c, q, h: c.post(
                "/graphql",
                files={"operations": (None, json.dumps({"query": q})), "map": (None, "{}")},
                headers=h,
            ),
            id="multipart",
        ),
        pytest.param(
            lambda c, q, h: c.post(
                "/graphql",
                content=json.dumps({"query": q}),
                headers={**h, "content-type": "application/x-www-form-urlencoded"},
            ),
            id="json-as-form",
        ),
    ],
)
def test_a_post_without_a_json_content_type_is_refused(api, alice, calls, store, send):
    """What a page on another site can send without a preflight: refused, nothing changes."""
    token, session_id = alice
    auth = {"authorization": f"Bearer {token}"}
    calls.reset()
    for query in (LOGOUT_ALL, REGISTER):
        response = send(api.client, query, auth)
        assert response.status_code == 400
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        assert error["message"].startswith("Unsupported content type (got ")
        assert "`Content-Type: application/json`" in error["message"]
    assert calls.total == 0
    assert_token_works(api, token, session_id)
    assert get_customer(store, "mallory") is None


@moto_only
def test_the_cors_allow_list_is_empty_by_default(api, alice, calls):
    assert Settings().cors_origins == []
    token, session_id = alice
    calls.reset()
    response = api.client.post(
        "/graphql",
        json={"query": LOGOUT_ALL},
        headers={"origin": FRONTEND, "authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert calls.total == 0
    assert_token_works(api, token, session_id)


def test_the_cors_allow_list_reads_a_comma_separated_variable(monkeypatch):
    monkeypatch.setenv("SESSIONGRAPH_CORS_ORIGINS", f" {FRONTEND}/ , https://b.example ,")
    assert Settings().cors_origins == [FRONTEND, "https://b.example"]


@moto_only
def test_an_allowed_origin_gets_a_preflight_answer(cors):
    response = cors.client.options(
        "/graphql",
        headers={
            "origin": FRONTEND,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


@moto_only
def test_an_allowed_origin_may_post(cors, store):
    response = cors.client.post("/graphql", json={"query": REGISTER}, headers={"origin": FRONTEND})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.json() == {"data": {"registerCustomer": {"customerId": "mallory"}}}
    assert get_customer(store, "mallory") is not None


@moto_only
def test_a_preflight_from_an_origin_not_on_the_list_is_not_allowed(cors):
    response = cors.client.options(
        "/graphql",
        headers={
            "origin": EVIL,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@moto_only
@pytest.mark.parametrize(
    "origin",
    [EVIL, "null", "http://testserver.evil.example", "https://app.example.com.evil.example"],
)
def test_a_post_from_an_origin_not_on_the_list_is_forbidden(cors, calls, store, origin):
    cors.register("alice", PASSWORD)
    token, session_id = cors.login("alice", PASSWORD)
    calls.reset()
    for query in (LOGOUT_ALL, REGISTER, VIEWER):
        response = cors.client.post(
            "/graphql",
            json={"query": query},
            headers={"origin": origin, "authorization": f"Bearer {token}"},
        )
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers
        assert response.json() == _error_body(
            f"requests from origin {origin!r} are not allowed "
            "(SESSIONGRAPH_CORS_ORIGINS lists the allowed ones)",
            "FORBIDDEN",
        )
    assert calls.total == 0
    assert_token_works(cors, token, session_id)
    assert get_customer(store, "mallory") is None


@moto_only
def test_a_get_from_an_origin_not_on_the_list_is_forbidden(cors, calls):
    calls.reset()
    response = cors.client.get("/graphql", params={"query": VIEWER}, headers={"origin": EVIL})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert calls.total == 0


@moto_only
def test_a_same_origin_request_works_with_an_empty_list(api, alice):
    token, session_id = alice
    response = api.client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"origin": SAME_ORIGIN, "authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"sessionId": session_id}}}
