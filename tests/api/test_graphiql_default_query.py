"""GraphiQL's default document teaches the first steps, and they work as it says."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, parse, validate

from schema.build import build_schema
from server.graphiql import DEFAULT_QUERY


def _run(api, operation: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = api.client.post(
        "/graphql",
        json={"query": DEFAULT_QUERY, "operationName": operation},
        headers=headers,
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_default_document_is_valid_against_the_schema():
    document = parse(DEFAULT_QUERY)
    assert validate(build_schema()._schema, document) == []
    names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert names == ["Register", "Login", "Viewer"]
    for step in ("Headers", '{"Authorization": "Bearer <accessToken>"}', "null", "admin token"):
        assert step in DEFAULT_QUERY


def test_its_steps_work_in_the_order_it_gives(api):
    # Before step 2, Viewer answers null: the comment says why.
    assert _run(api, "Viewer") == {"data": {"viewer": None}}
    assert _run(api, "Register") == {"data": {"registerCustomer": {"customerId": "alice"}}}
    login = _run(api, "Login")["data"]["login"]
    viewer = _run(api, "Viewer", token=login["accessToken"])["data"]["viewer"]
    assert viewer["sessionId"] == login["session"]["sessionId"]
    assert viewer["state"] == "ACTIVE"
    assert viewer["customer"]["customerId"] == "alice"
    assert viewer["customer"]["lastLoginTime"] is not None
