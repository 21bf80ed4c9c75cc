"""A JSON POST is answered with headers the view makes itself (`SessionGraphView._json_response`);
every answer must be the one Strawberry's own `process_result` and `create_response` give the
same request: status, headers in order, body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from server.app import create_app
from server.graphql_view import SessionGraphView
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS

GRAPHQL_RESPONSE = "application/graphql-response+json"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
VARYING = {b"x-request-id", b"set-cookie", b"content-length"}
"""Headers whose value differs between two answers to the same request (the request id; a
login's new token and so its length); their names and places are still compared."""


def graphql_view(app: Starlette) -> SessionGraphView:
    for route in app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            endpoint = route.endpoint
            assert isinstance(endpoint, SessionGraphView)
            return endpoint
    raise AssertionError("no /graphql route")


@contextmanager
def both_paths(
    store: Store, base_url: str = "http://testserver", **settings: Any
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on one store: the first answers JSON POSTs on the view's own path, the second
    sends them through Strawberry's generic one."""
    runner = BlockingCallRunner(1)
    try:
        direct = create_app(Settings(admin_token=ADMIN_TOKEN, **settings), Services(store, runner))
        generic = create_app(Settings(admin_token=ADMIN_TOKEN, **settings), Services(store, runner))
        assert graphql_view(direct).reads_json_directly
        graphql_view(generic).reads_json_directly = False
        with (
            TestClient(direct, base_url=base_url, client=CLIENT_ADDRESS) as direct_client,
            TestClient(generic, base_url=base_url, client=CLIENT_ADDRESS) as generic_client,
        ):
            yield direct_client, generic_client
    finally:
        runner.close()


def answer(client: TestClient, query: str, headers: dict[str, str]) -> tuple[int, list, Any]:
    response = client.post(
        "/graphql",
        content=json.dumps({"query": query}),
        headers={"content-type": "application/json", **headers},
    )
    raw = [(name, None if name in VARYING else value) for name, value in response.headers.raw]
    return response.status_code, raw, response.json()


def assert_same_answer(
    clients: tuple[TestClient, TestClient], query: str, headers: dict[str, str]
) -> tuple[int, list, Any]:
    direct, generic = (answer(client, query, headers) for client in clients)
    assert direct == generic
    return direct


@pytest.mark.parametrize(
    ("query", "headers", "status", "content_type"),
    [
        ("{ __typename }", {}, 200, "application/json"),
        ("{ __typename }", {"accept": GRAPHQL_RESPONSE}, 200, GRAPHQL_RESPONSE),
        ("{ nope }", {}, 200, "application/json"),
        ("{ nope }", {"accept": GRAPHQL_RESPONSE}, 400, GRAPHQL_RESPONSE),
        (  # a field error: the field's data is there (null), so 200
            "{ viewer { sessionId } }",
            {"accept": GRAPHQL_RESPONSE, "authorization": "Bearer not-a-token"},
            200,
            GRAPHQL_RESPONSE,
        ),
        (  # variables that do not coerce: a request error, no data
            "query($s: String!) { session(sessionId: $s) { sessionId } }",
            {"accept": GRAPHQL_RESPONSE, **ADMIN},
            400,
            GRAPHQL_RESPONSE,
        ),
        ('{ session(sessionId: "s1") { sessionId } }', ADMIN, 200, "application/json"),
        # a lone surrogate in the answer (the error names the refused character): orjson
        # refuses it, so both paths fall back to `json`
        ('{ session(sessionId: "a\\ud800") { sessionId } }', ADMIN, 200, "application/json"),
    ],
)
def test_both_paths_answer_alike(store, query, headers, status, content_type):
    with both_paths(store) as clients:
        for _ in range(2):  # the second time the document takes the schema's plain path
            got_status, raw, _body = assert_same_answer(clients, query, headers)
            assert got_status == status
            assert dict(raw)[b"content-type"].decode().startswith(content_type)


def test_a_not_now_error_gets_retry_after_on_both_paths(store):
    def throttled(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem"
        )

    store.client.meta.events.register(
        "before-call.dynamodb.PutItem", throttled, unique_id="json-response-throttled"
    )
    try:
        with both_paths(store) as clients:
            _status, raw, body = assert_same_answer(
                clients,
                'mutation { registerCustomer(customerId: "carol", password: "long enough") '
                "{ customerId } }",
                {},
            )
    finally:
        store.client.meta.events.unregister(
            "before-call.dynamodb.PutItem", unique_id="json-response-throttled"
        )
    assert body["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert (b"retry-after", b"1") in raw


def test_a_cookie_login_sets_its_cookie_alike_on_both_paths(store):
    from tests.security.helpers import PASSWORD

    login = (
        f'mutation {{ loginWithCookie(customerId: "dora", password: "{PASSWORD}") '
        "{ session { isChild } } }"
    )
    site = {"origin": "https://testserver"}  # cookie logins need HTTPS
    with both_paths(store, base_url="https://testserver", cookie_mode=True) as clients:
        clients[0].post(
            "/graphql",
            json={
                "query": f'mutation {{ registerCustomer(customerId: "dora", password: '
                f'"{PASSWORD}") {{ customerId }} }}'
            },
            headers=site,
        )
        status, raw, body = assert_same_answer(clients, login, site)
    assert status == 200 and body == {"data": {"loginWithCookie": {"session": {"isChild": False}}}}
    assert [name for name, _ in raw].count(b"set-cookie") == 1
