"""A JSON POST is answered with headers the view makes itself (`SessionGraphView._json_response`);
every answer must be the one Strawberry's own `process_result` and `create_response` give the
same request: status, headers in order, body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from strawberry.types import ExecutionResult

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from server.app import create_app
from server.graphql_view import SessionGraphView
from server.services import Services
from server.settings import Settings
from tests.security.helpers import PASSWORD
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS

GRAPHQL_RESPONSE = "application/graphql-response+json"
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
REQUEST_ID = frozenset({b"x-request-id"})
"""Headers whose value differs between two answers to the same request; their names and
places are still compared."""
NEW_TOKEN = REQUEST_ID | {b"set-cookie", b"content-length"}
"""... and for a login, its new token (and so the body's length)."""


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


def answer(
    client: TestClient, query: str, headers: dict[str, str], varying: frozenset[bytes]
) -> tuple[int, list, Any]:
    response = client.post(
        "/graphql",
        content=json.dumps({"query": query}),
        headers={"content-type": "application/json", **headers},
    )
    raw = [(name, None if name in varying else value) for name, value in response.headers.raw]
    return response.status_code, raw, response.json()


def assert_same_answer(
    clients: tuple[TestClient, TestClient],
    query: str,
    headers: dict[str, str],
    varying: frozenset[bytes] = REQUEST_ID,
) -> tuple[int, list, Any]:
    direct, generic = (answer(client, query, headers, varying) for client in clients)
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
    ],
)
def test_both_paths_answer_alike(store, query, headers, status, content_type):
    with both_paths(store) as clients:
        for _ in range(2):  # the second time the document takes the schema's plain path
            got_status, raw, _body = assert_same_answer(clients, query, headers)
            assert got_status == status
            assert dict(raw)[b"content-type"].decode().startswith(content_type)


@pytest.mark.parametrize("accept", [{}, {"accept": GRAPHQL_RESPONSE}])
def test_a_not_now_error_gets_retry_after_on_both_paths(store, accept):
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
                accept,
            )
    finally:
        store.client.meta.events.unregister(
            "before-call.dynamodb.PutItem", unique_id="json-response-throttled"
        )
    assert body["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert (b"retry-after", b"1") in raw


SITE = {"origin": "https://testserver"}  # cookie logins need HTTPS


def test_a_cookie_login_sets_its_cookie_alike_on_both_paths(store):
    login = (
        f'mutation {{ loginWithCookie(customerId: "dora", password: "{PASSWORD}") '
        "{ session { isChild } } }"
    )
    with both_paths(store, base_url="https://testserver", cookie_mode=True) as clients:
        clients[0].post(
            "/graphql",
            json={
                "query": f'mutation {{ registerCustomer(customerId: "dora", password: '
                f'"{PASSWORD}") {{ customerId }} }}'
            },
            headers=SITE,
        )
        status, raw, body = assert_same_answer(clients, login, SITE, varying=NEW_TOKEN)
    assert status == 200 and body == {"data": {"loginWithCookie": {"session": {"isChild": False}}}}
    assert [name for name, _ in raw].count(b"set-cookie") == 1


def test_in_cookie_mode_a_request_error_gets_its_status_alike_on_both_paths(store):
    """The sub-response carries the status on Strawberry's path; the JSON path sets it."""
    with both_paths(store, base_url="https://testserver", cookie_mode=True) as clients:
        for _ in range(2):
            status, _raw, body = assert_same_answer(
                clients,
                "query($s: String!) { session(sessionId: $s) { sessionId } }",
                {**SITE, **ADMIN, "accept": GRAPHQL_RESPONSE},
            )
            assert status == 400 and "data" not in body


def test_a_body_orjson_refuses_is_written_alike(store):
    """A lone surrogate (JSON can carry it, UTF-8 cannot): orjson refuses it, and both paths
    fall back to `json`. GraphQL's parser refuses one in a document, so the result is made
    here and given to both paths' response code directly."""
    with both_paths(store) as (direct, _generic):
        view = graphql_view(direct.app)  # type: ignore[arg-type]

        def result() -> ExecutionResult:
            return ExecutionResult(
                data={"a": "x\ud800"}, errors=None, extensions={"cost": "\ud801"}
            )

        async def both() -> tuple[Response, Response]:
            request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
            sub_response = await view.get_sub_response(request)
            generic = view.create_response(
                await view.process_result(request, result()), sub_response
            )
            return view._json_response(result(), False, None), generic

        mine, theirs = asyncio.run(both())
    assert mine.status_code == theirs.status_code == 200
    assert mine.raw_headers == theirs.raw_headers
    assert (
        mine.body
        == theirs.body
        == b'{"data": {"a": "x\\ud800"}, "extensions": {"cost": "\\ud801"}}'
    )
