"""Errors: the store's outages become STORE_UNAVAILABLE; anything unexpected is masked as
INTERNAL_SERVER_ERROR with a request id (no stack trace, no botocore text), and logged with it."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from resolvers import sessions
from tests.security.helpers import VIEWER, assert_refused, moto_only
from tests.support.api import ADMIN_TOKEN

pytestmark = moto_only

STORE_UNAVAILABLE = "the session store is unavailable right now; try again shortly"
SECRET = "secret botocore detail"


def _throttled(operation_name: str = "Query", **_: object) -> None:
    raise ClientError(
        {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": f"Rate of requests exceeds the allowed throughput ({SECRET})",
            }
        },
        operation_name,
    )


def _unreachable(**_: object) -> None:
    raise EndpointConnectionError(endpoint_url=f"http://dynamodb.invalid/{SECRET}")


def _invalid(**_: object) -> None:
    raise ClientError(
        {"Error": {"Code": "ValidationException", "Message": f"One or more values ({SECRET})"}},
        "Query",
    )


def _crash(**_: object) -> None:
    raise RuntimeError(SECRET)


def _inject(store, event: str, handler) -> None:
    store.client.meta.events.register(event, handler, unique_id=f"security-{event}")


def _assert_no_leak(body: dict) -> None:
    text = json.dumps(body)
    for leak in (SECRET, "Traceback", "botocore", "ClientError", "ProvisionedThroughput", "File "):
        assert leak not in text, body


@pytest.mark.parametrize("failure", [_throttled, _unreachable], ids=["throttled", "unreachable"])
def test_a_failing_query_call_is_store_unavailable(api, store, failure, caplog):
    _inject(store, "before-call.dynamodb.Query", failure)
    with caplog.at_level(logging.WARNING, logger="sessiongraph"):
        result = api('{ session(sessionId: "s1") { sessionId } }', token=ADMIN_TOKEN)
    assert_refused(result, "STORE_UNAVAILABLE", STORE_UNAVAILABLE, data={"session": None})
    assert result.errors[0]["path"] == ["session"]
    _assert_no_leak(result.body)
    assert any("store unavailable [request " in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("failure", [_throttled, _unreachable], ids=["throttled", "unreachable"])
def test_a_failing_token_lookup_is_store_unavailable(api, alice, store, failure):
    token, _ = alice
    _inject(store, "before-call.dynamodb.BatchGetItem", failure)
    result = api(VIEWER, token=token)
    assert_refused(result, "STORE_UNAVAILABLE", STORE_UNAVAILABLE, data={"viewer": None})
    _assert_no_leak(result.body)
    mutation = api("mutation { logoutAll { endedSessionIds } }", token=token)
    assert_refused(mutation, "STORE_UNAVAILABLE", STORE_UNAVAILABLE)


@pytest.mark.parametrize("failure", [_throttled, _unreachable], ids=["throttled", "unreachable"])
def test_a_failing_write_is_store_unavailable(api, store, failure):
    _inject(store, "before-call.dynamodb.PutItem", failure)
    result = api(
        'mutation { registerCustomer(customerId: "alice", password: "long enough") { customerId } }'
    )
    assert_refused(result, "STORE_UNAVAILABLE", STORE_UNAVAILABLE)
    assert result.headers.get("retry-after") == "1"  # "not now": try again shortly
    _assert_no_leak(result.body)


def _assert_masked(result, caplog, data) -> str:
    assert result.status == 200
    assert result.data == data, result.body
    assert len(result.errors) == 1, result.body
    error = result.errors[0]
    request_id = error.get("extensions", {}).get("requestId")
    assert isinstance(request_id, str), result.body
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    assert error["message"] == f"internal error (request id {request_id})"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    _assert_no_leak(result.body)
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged, [r.getMessage() for r in caplog.records]
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert SECRET in str(logged[0].exc_info[1])
    return request_id


def test_an_unexpected_resolver_exception_is_masked_and_logged(api, alice, monkeypatch, caplog):
    token, _ = alice

    def broken(ctx):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(sessions, "viewer", broken)
    with caplog.at_level(logging.ERROR, logger="sessiongraph"):
        result = api(VIEWER, token=token)
    _assert_masked(result, caplog, {"viewer": None})


def test_each_request_gets_its_own_request_id(api, monkeypatch, caplog):
    def broken(ctx):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(sessions, "viewer", broken)
    with caplog.at_level(logging.ERROR, logger="sessiongraph"):
        first = _assert_masked(api(VIEWER), caplog, {"viewer": None})
        caplog.clear()
        second = _assert_masked(api(VIEWER), caplog, {"viewer": None})
    assert first != second


def test_an_unexpected_dynamodb_error_in_a_resolver_is_masked(api, store, caplog):
    _inject(store, "before-call.dynamodb.Query", _invalid)
    with caplog.at_level(logging.ERROR, logger="sessiongraph"):
        result = api('{ session(sessionId: "s1") { sessionId } }', token=ADMIN_TOKEN)
    _assert_masked(result, caplog, {"session": None})


def test_an_unexpected_exception_in_the_token_lookup_is_masked(api, alice, store, caplog):
    token, _ = alice
    _inject(store, "before-call.dynamodb.BatchGetItem", _crash)
    with caplog.at_level(logging.ERROR, logger="sessiongraph"):
        result = api(VIEWER, token=token)
    _assert_masked(result, caplog, None)


def test_an_unexpected_dynamodb_error_in_the_token_lookup_is_masked(api, alice, store, caplog):
    token, _ = alice
    _inject(store, "before-call.dynamodb.BatchGetItem", _invalid)
    with caplog.at_level(logging.ERROR, logger="sessiongraph"):
        result = api(VIEWER, token=token)
    _assert_masked(result, caplog, None)


def test_a_syntax_error_is_bad_user_input(api, calls):
    calls.reset()
    result = api("{ viewer { ")
    assert_refused(result, "BAD_USER_INPUT", "Syntax Error: Expected Name, found <EOF>.")
    assert calls.total == 0
