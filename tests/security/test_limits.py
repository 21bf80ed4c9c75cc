"""Requests over a limit: refused with BAD_USER_INPUT naming the limit, before any DynamoDB call.

Every request here carries a valid session token, so a refusal that costs no call shows the
limit is checked before the caller is looked up.
"""

from __future__ import annotations

import json
import time

import pytest

from dynamo.customers import get_customer
from tests.security.helpers import (
    ADMIN_TOKEN,
    LOGIN,
    PASSWORD,
    assert_refused,
    moto_only,
    only_error,
    serve,
)

pytestmark = moto_only

BODY_LIMIT_MESSAGE = (
    "the request body is over the limit of 65536 bytes (SESSIONGRAPH_MAX_BODY_BYTES)"
)


def _nested_parents(levels: int) -> str:
    return "query Deep { viewer " + "{ parent " * levels + "{ sessionId }" + " }" * levels + " }"


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: viewer {{ sessionId }}" for i in range(count)) + " }"


def test_a_query_at_the_depth_limit_is_answered(api, alice):
    token, _ = alice
    # A parent session has no parent: the answer stops at the first level.
    assert api(_nested_parents(11), token=token).ok() == {"viewer": {"parent": None}}


def test_a_deep_query_is_refused_naming_the_depth_limit(api, alice, calls):
    token, _ = alice
    calls.reset()
    result = api(_nested_parents(12), token=token)
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "the query is 13 levels deep; the depth limit is 12 (SESSIONGRAPH_MAX_DEPTH)",
    )
    assert calls.total == 0


def test_the_depth_limit_is_the_setting(store, calls):
    with serve(store, max_depth=3) as api:
        api.register("alice", PASSWORD)
        token, _ = api.login("alice", PASSWORD)
        calls.reset()
        result = api(_nested_parents(3), token=token)
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "the query is 4 levels deep; the depth limit is 3 (SESSIONGRAPH_MAX_DEPTH)",
    )
    assert calls.total == 0


def test_an_alias_bomb_is_refused_naming_the_alias_limit(api, alice, calls):
    token, session_id = alice
    assert api(_aliases(30), token=token).ok() == {
        f"a{i}": {"sessionId": session_id} for i in range(30)
    }
    calls.reset()
    result = api(_aliases(31), token=token)
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "the query uses 31 aliases (fragments included); the alias limit is 30 "
        "(SESSIONGRAPH_MAX_ALIASES)",
    )
    assert calls.total == 0


def test_aliases_multiplied_by_fragment_spreads_are_counted(api, alice, calls):
    token, _ = alice
    query = (
        "fragment F on Session { "
        + " ".join(f"x{i}: sessionId" for i in range(11))
        + " } query { viewer { ...F parent { ...F } childSessions { edges { node { ...F } } } } }"
    )
    calls.reset()
    result = api(query, token=token)
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "the query uses 33 aliases (fragments included); the alias limit is 30 "
        "(SESSIONGRAPH_MAX_ALIASES)",
    )
    assert calls.total == 0


def test_a_fragment_cycle_is_refused(api, alice, calls):
    token, _ = alice
    calls.reset()
    result = api(
        "query { ...A } fragment A on Query { viewer { sessionId } ...B } "
        "fragment B on Query { ...A }",
        token=token,
    )
    assert_refused(result, "BAD_USER_INPUT", "Cannot spread fragment 'A' within itself via 'B'.")
    assert calls.total == 0


def _fragment_bomb(fragments: int, nested: bool) -> str:
    """Each fragment spreads the one before it twice: 2**fragments fields once expanded,
    in a document of a few hundred tokens."""
    second = "parent { ...F%d }" if nested else "...F%d"
    body = ["fragment F0 on Session { sessionId }"] + [
        f"fragment F{i} on Session {{ ...F{i - 1} {second % (i - 1)} }}"
        for i in range(1, fragments)
    ]
    return f"query Bomb {{ viewer {{ ...F{fragments - 1} }} }} " + " ".join(body)


def test_a_deep_fragment_bomb_is_refused_naming_the_depth_limit(api, alice, calls):
    token, _ = alice
    calls.reset()
    result = api(_fragment_bomb(16, nested=True), token=token)
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "the query is 16 levels deep; the depth limit is 12 (SESSIONGRAPH_MAX_DEPTH)",
    )
    assert calls.total == 0


def test_a_flat_fragment_bomb_is_handled_in_linear_time(api, alice, calls):
    token, session_id = alice
    query = _fragment_bomb(20, nested=False)
    assert len(query) < 1000
    calls.reset()
    started = time.monotonic()
    result = api(query, token=token)
    elapsed = time.monotonic() - started
    # Either answer is right: the one field it names, or a refusal naming a limit.
    answered = result.body == {"data": {"viewer": {"sessionId": session_id}}}
    refused = result.data is None and result.codes == ["BAD_USER_INPUT"]
    assert answered or refused, result.body
    assert elapsed < 0.5, f"{elapsed:.2f} s for a document of {len(query)} bytes"


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { childSessions(first: 100000) { edges { cursor } } } }",
        "{ viewer { customer { sessions(first: 100000) { edges { cursor } } } } }",
        "query($n: Int) { viewer { childSessions(first: $n) { edges { cursor } } } }",
    ],
)
def test_first_100000_is_refused_naming_the_page_limit(api, alice, query):
    token, _ = alice
    result = api(query, {"n": 100000}, token=token)
    # Refused before execution: no field ran.
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "first must be between 0 and 100, got 100000 (the page size limit)",
        data=None,
    )


def test_first_100000_costs_no_dynamodb_call(api, alice, calls):
    token, _ = alice
    calls.reset()
    result = api("{ viewer { childSessions(first: 100000) { edges { cursor } } } }", token=token)
    assert result.codes == ["BAD_USER_INPUT"]
    assert calls.total == 0, dict(calls.counts)


def test_first_beyond_32_bits_is_refused_before_any_call(api, alice, calls):
    token, _ = alice
    calls.reset()
    result = api(
        "{ viewer { childSessions(first: 10000000000) { edges { cursor } } } }", token=token
    )
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "Int cannot represent non 32-bit signed integer value: 10000000000",
    )
    assert calls.total == 0


def test_array_batched_login_attempts_are_refused_unread(api, alice, calls, store, hasher):
    guesses = [f"guess number {i}" for i in range(20)] + [PASSWORD]
    operations = [{"query": LOGIN, "variables": {"c": "alice", "p": p}} for p in guesses]
    calls.reset()
    verified = len(hasher.verified)
    response = api.client.post("/graphql", json=operations)
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("Batching is not enabled: send one operation per request")
    assert calls.total == 0
    assert len(hasher.verified) == verified
    customer = get_customer(store, "alice")
    assert customer is not None
    assert customer.failed_logins == 0


def _body_of(size: int) -> bytes:
    """A valid GraphQL-over-HTTP body of exactly `size` bytes (JSON allows trailing spaces)."""
    body = json.dumps({"query": "{ viewer { sessionId } }"}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def test_a_body_at_the_limit_is_answered(api, alice):
    token, session_id = alice
    response = api.client.post(
        "/graphql",
        content=_body_of(65536),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"sessionId": session_id}}}


def test_an_oversized_body_is_refused_naming_the_limit(api, alice, calls):
    token, _ = alice
    calls.reset()
    response = api.client.post(
        "/graphql",
        content=_body_of(65537),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "data": None,
        "errors": [{"message": BODY_LIMIT_MESSAGE, "extensions": {"code": "BAD_USER_INPUT"}}],
    }
    assert calls.total == 0


def test_an_oversized_chunked_body_without_a_length_is_refused(api, alice, calls):
    token, _ = alice
    chunks_sent = []

    def chunks():
        for _ in range(200):
            chunks_sent.append(1)
            yield b" " * 1024

    calls.reset()
    response = api.client.post(
        "/graphql",
        content=chunks(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["errors"] == [
        {"message": BODY_LIMIT_MESSAGE, "extensions": {"code": "BAD_USER_INPUT"}}
    ]
    assert calls.total == 0


def test_the_body_limit_is_the_setting(store, calls):
    with serve(store, max_body_bytes=2048) as api:
        calls.reset()
        response = api.client.post(
            "/graphql", content=_body_of(2049), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == (
        "the request body is over the limit of 2048 bytes (SESSIONGRAPH_MAX_BODY_BYTES)"
    )
    assert calls.total == 0


def test_a_document_over_the_token_limit_is_refused_naming_the_limit(api, alice, calls):
    token, _ = alice
    query = "{ viewer { " + "sessionId " * 2100 + "} }"
    calls.reset()
    result = api(query, token=token)
    assert result.status == 200
    assert result.data is None
    assert calls.total == 0
    assert "more than 2000 tokens" in only_error(result)["message"]
    assert result.codes == ["BAD_USER_INPUT"]


def test_a_request_over_the_execution_timeout_is_cut_off(store, monkeypatch):
    import asyncio

    from resolvers import sessions

    async def never_answers(ctx, session_id):
        await asyncio.Event().wait()  # a store that does not answer

    monkeypatch.setattr(sessions, "session_by_id", never_answers)
    with serve(store, execution_timeout_seconds=0.2) as api:
        result = api('{ session(sessionId: "s1") { sessionId } }', token=ADMIN_TOKEN)
    assert result.status == 503
    assert result.body == {
        "data": None,
        "errors": [
            {
                "message": "the request took longer than the execution timeout of 0.2 s "
                "(SESSIONGRAPH_EXECUTION_TIMEOUT_SECONDS); a mutation may still have been "
                "applied: read before you retry",
                "extensions": {"code": "TIMEOUT"},
            }
        ],
    }
