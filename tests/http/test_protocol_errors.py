"""Protocol errors say what to send (which header, which body, which setting), with the codes
and statuses they had."""

from __future__ import annotations

import pytest

from tests.security.helpers import moto_only, serve


def _only_error(response) -> dict:
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    return error


@moto_only
@pytest.mark.parametrize(
    ("content_type", "got"),
    [
        ("text/plain", "got 'text/plain'"),
        ("application/x-www-form-urlencoded", "got 'application/x-www-form-urlencoded'"),
        (None, "no Content-Type header was sent"),
    ],
)
def test_an_unsupported_content_type_says_to_send_json(api, content_type, got):
    headers = {"content-type": content_type} if content_type else {}
    response = api.client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
    assert response.status_code == 400
    message = _only_error(response)["message"]
    assert message.startswith(f"Unsupported content type ({got}): ")
    assert "`Content-Type: application/json`" in message
    assert "accepted: POST with Content-Type: application/json, or GET with ?query=" in message


@moto_only
def test_a_body_that_is_not_json_says_what_json_to_send(api):
    response = api.client.post(
        "/graphql",
        content=b"{ viewer { sessionId } }",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    message = _only_error(response)["message"]
    assert message.startswith("Unable to parse request body as JSON: ")
    assert '{"query": "...", "variables": {...}}' in message


@moto_only
def test_a_body_without_a_query_says_where_the_query_goes(api):
    response = api.client.post("/graphql", json={"qeury": "{ __typename }"})
    assert response.status_code == 400
    message = _only_error(response)["message"]
    assert message.startswith("No GraphQL query found in the request: send `query`")
    assert "extensions.persistedQuery or documentId" in message


@moto_only
def test_a_batch_says_to_send_one_operation(api):
    response = api.client.post("/graphql", json=[{"query": "{ __typename }"}])
    assert response.status_code == 400
    assert _only_error(response)["message"].startswith(
        "Batching is not enabled: send one operation per request"
    )


@moto_only
def test_a_get_with_get_off_names_the_setting(store):
    with serve(store, allow_get=False) as api:
        response = api.client.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 400
    message = _only_error(response)["message"]
    assert "SESSIONGRAPH_ALLOW_GET" in message
    assert "`Content-Type: application/json`" in message


@moto_only
def test_graphiql_off_names_the_setting(store):
    with serve(store, graphiql=False) as api:
        response = api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "SESSIONGRAPH_GRAPHIQL" in _only_error(response)["message"]


def test_an_unknown_reason_passes_through():
    from server.protocol_errors import teach

    assert teach("File(s) missing in form data") == "File(s) missing in form data"
