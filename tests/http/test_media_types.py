"""GraphQL over HTTP: `Accept: application/graphql-response+json` gets that media type and its
status codes (a request error is a 4xx or 5xx with no `data`); `application/json`, `*/*` and no
Accept keep today's answers (200, `"data": null`). Error codes are the same in both."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from server.media import request_error_status, wants_graphql_response
from tests.security.helpers import VIEWER, moto_only, serve
from tests.support.api import ADMIN_TOKEN

GRAPHQL_RESPONSE = "application/graphql-response+json"
AS_GRAPHQL_RESPONSE = {"accept": GRAPHQL_RESPONSE}
PAGE_TOO_BIG = '{ customer(customerId: "alice") { sessions(first: 100000) { edges { cursor } } } }'


def _post(api, body, headers=None):
    return api.client.post("/graphql", json=body, headers=headers or {})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/*", False),
        (GRAPHQL_RESPONSE, True),
        (f"{GRAPHQL_RESPONSE}, application/json", True),
        (f"application/json, {GRAPHQL_RESPONSE}", True),
        (f"{GRAPHQL_RESPONSE},application/json;q=0.9", True),  # Apollo Client's default
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", False),
        (f"{GRAPHQL_RESPONSE};q=0, */*", False),
        (f"{GRAPHQL_RESPONSE};q=0.5, */*;q=0.1", True),
        ("text/html", False),
    ],
)
def test_accept_is_negotiated(accept, expected):
    assert wants_graphql_response(accept) is expected


@moto_only
def test_a_result_is_200_in_the_media_type_asked_for(api):
    response = _post(api, {"query": "{ __typename }"}, AS_GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "text/html"])
@moto_only
def test_json_and_anything_else_get_application_json(api, accept):
    headers = {"accept": accept} if accept else {}
    response = _post(api, {"query": "{ __typename }"}, headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"query": "{"}, "Syntax Error", id="parse"),
        pytest.param({"query": "{ noSuchField }"}, "Cannot query field", id="validation"),
        pytest.param(
            {"query": "query($c: String!) { customer(customerId: $c) { customerId } }"},
            "Variable '$c' has invalid value",
            id="variables",
        ),
        pytest.param({"query": PAGE_TOO_BIG}, "first must be between", id="argument-guard"),
    ],
)
@moto_only
def test_a_request_error_is_400_without_data(api, calls, body, message):
    calls.reset()
    response = _post(api, body, AS_GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    payload = response.json()
    assert "data" not in payload
    [error] = payload["errors"]
    assert message in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert calls.total == 0

    as_json = _post(api, body, {"accept": "application/json"})
    assert as_json.status_code == 200
    assert as_json.json()["data"] is None
    assert as_json.json()["errors"] == payload["errors"]


@moto_only
def test_a_field_error_is_200_with_data(api):
    """The request ran: a field's error (a bad token, where the caller matters) is partial
    success, 200 with `data`."""
    response = _post(
        api, {"query": VIEWER}, {**AS_GRAPHQL_RESPONSE, "authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"viewer": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


@moto_only
def test_a_store_failure_in_a_field_is_200_with_data(api, store):
    """The request ran and a field failed: partial success, not a request error."""

    def unreachable(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="http://dynamodb.invalid")

    store.client.meta.events.register("before-call.dynamodb", unreachable)
    try:
        response = _post(
            api,
            {"query": '{ customer(customerId: "alice") { customerId } }'},
            {**AS_GRAPHQL_RESPONSE, "authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    finally:
        store.client.meta.events.unregister("before-call.dynamodb", unreachable)
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {"customer": None}
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["STORE_UNAVAILABLE"]


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        (["BAD_USER_INPUT"], 400),
        ([None], 400),
        ([], 400),
        (["UNAUTHENTICATED"], 401),
        (["FORBIDDEN", "BAD_USER_INPUT"], 403),
        (["PERSISTED_QUERY_NOT_FOUND"], 404),
        (["RATE_LIMITED"], 429),
        (["INTERNAL_SERVER_ERROR"], 500),
        (["STORE_UNAVAILABLE"], 503),
    ],
)
def test_a_request_error_status_follows_its_first_code(codes, status):
    assert request_error_status(codes) == status


@moto_only
def test_protocol_errors_follow_the_media_type(api):
    response = api.client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={**AS_GRAPHQL_RESPONSE, "content-type": "text/plain"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    as_json = api.client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": "text/plain"}
    )
    assert as_json.status_code == 400
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["data"] is None


@moto_only
def test_a_guard_refusal_follows_the_media_type(store):
    with serve(store, cors_origins=["https://app.example.com"]) as api:
        response = _post(
            api,
            {"query": "{ __typename }"},
            {**AS_GRAPHQL_RESPONSE, "origin": "https://evil.example"},
        )
    assert response.status_code == 403
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
