"""Work done once rather than per request: the limits still hold on cached documents, hooks
prepared once per extension class still run, and callers that need no store read take no
thread hand-off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from schema.build import CachedNameConverter, QueryLimits, build_schema
from schema.extension_hooks import PreparedExtensionsRunner
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, Api

DEEP = "query Deep { viewer { parent { parent { parent { sessionId } } } } }"
DEPTH_MESSAGE = "the query is 4 levels deep; the depth limit is 2 (SESSIONGRAPH_MAX_DEPTH)"


class CountingRunner(BlockingCallRunner):
    """Counts the calls handed to the thread pool."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers)
        self.handed_off: list[str] = []

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.handed_off.append(getattr(fn, "__name__", repr(fn)))
        return await super().run(fn, *args, **kwargs)


@pytest.fixture
def counted(store, backend) -> Any:
    runner = CountingRunner(4 if backend == "dynamodb_local" else 1)
    yield Services(store=store, runner=runner), runner
    runner.close()


def test_a_depth_limit_holds_for_a_document_sent_again(store, services, calls):
    """The validation cache keeps a result per document; the limit rule is part of that
    validation, so the second copy of a refused document is refused too."""
    settings = Settings(admin_token=ADMIN_TOKEN, max_depth=2)
    with TestClient(create_app(settings, services)) as client:
        api = Api(client)
        calls.reset()
        for _ in range(3):
            result = api(DEEP, token=ADMIN_TOKEN)
            assert [e["message"] for e in result.errors] == [DEPTH_MESSAGE]
            assert result.codes == ["BAD_USER_INPUT"]
        assert calls.total == 0


def test_a_token_limit_holds_for_a_document_sent_again(services):
    settings = Settings(admin_token=ADMIN_TOKEN, max_tokens=10)
    query = "{ a: viewer { sessionId } b: viewer { sessionId } c: viewer { sessionId } }"
    with TestClient(create_app(settings, services)) as client:
        api = Api(client)
        for _ in range(2):
            result = api(query, token=ADMIN_TOKEN)
            assert len(result.errors) == 1
            assert "more than 10 tokens" in result.errors[0]["message"]


def test_the_admin_token_is_checked_without_a_thread_hand_off(counted, settings):
    services, runner = counted
    with TestClient(create_app(settings, services)) as client:
        result = Api(client)("{ viewer { sessionId } }", token=ADMIN_TOKEN)
    assert result.ok() == {"viewer": None}
    assert runner.handed_off == []


def test_no_token_and_a_malformed_header_take_no_thread_hand_off(counted, settings):
    services, runner = counted
    with TestClient(create_app(settings, services)) as client:
        api = Api(client)
        assert api("{ viewer { sessionId } }").ok() == {"viewer": None}
        refused = api("{ viewer { sessionId } }", headers={"Authorization": "Basic abc"})
    assert refused.codes == ["UNAUTHENTICATED"]
    assert runner.handed_off == []


def test_a_session_token_is_checked_in_one_hand_off(counted, settings, api):
    api.register("hand-off-customer")
    token, _ = api.login("hand-off-customer")
    services, runner = counted
    with TestClient(create_app(settings, services)) as client:
        data = Api(client)("{ viewer { sessionId isChild } }", token=token).ok()
    assert data["viewer"]["isChild"] is False
    assert runner.handed_off == ["resolve_caller"]


SESSION_BY_ID = "query($s: String!) { session(sessionId: $s) { sessionId state } }"


def test_a_session_and_its_customer_are_read_in_one_hand_off(counted, settings, api, calls):
    """`session(sessionId:)` reads the session, then its customer item for the revocation
    check: the same two DynamoDB calls in the same order, in one trip through the pool."""
    api.register("one-trip")
    _, session_id = api.login("one-trip")
    services, runner = counted
    with TestClient(create_app(settings, services)) as client:
        calls.reset()
        data = Api(client)(SESSION_BY_ID, {"s": session_id}, token=ADMIN_TOKEN).ok()
    assert data["session"] == {"sessionId": session_id, "state": "ACTIVE"}
    assert runner.handed_off == ["read_parent_and_customer"]
    assert [operation for operation, _ in calls.log] == ["Query", "BatchGetItem"]


def test_a_customer_the_token_check_read_is_not_read_again(counted, settings, api, calls):
    """Another session of the caller's own customer: the token check read that customer."""
    api.register("one-trip-own")
    token, _ = api.login("one-trip-own")
    _, other_session = api.login("one-trip-own")
    services, runner = counted
    with TestClient(create_app(settings, services)) as client:
        calls.reset()
        data = Api(client)(SESSION_BY_ID, {"s": other_session}, token=token).ok()
    assert data["session"]["sessionId"] == other_session
    assert runner.handed_off == ["resolve_caller", "read_parent_and_customer"]
    assert calls.counts == {"BatchGetItem": 1, "Query": 1}  # the token check; the session


def test_argument_names_are_converted_once_and_alike():
    converter = CachedNameConverter()
    assert converter.apply_naming_config("child_session_id") == "childSessionId"
    assert converter.apply_naming_config("child_session_id") == "childSessionId"
    assert converter.apply_naming_config("first") == "first"


def test_the_schema_runs_extensions_through_prepared_hooks():
    schema = build_schema(QueryLimits(max_depth=1))
    assert isinstance(schema.create_extensions_runner(None, []), PreparedExtensionsRunner)  # type: ignore[arg-type]


def test_responses_are_encoded_by_orjson_and_a_lone_surrogate_still_goes_out(services):
    app = create_app(Settings(admin_token=ADMIN_TOKEN), services)
    view = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/graphql")
    assert view.encode_json({"data": {"a": "é"}}) == '{"data":{"a":"é"}}'
    assert json.loads(view.encode_json({"data": {"a": "x\ud800"}})) == {"data": {"a": "x\ud800"}}


def test_the_callers_own_session_and_customer_are_not_read_again(counted, settings, api, calls):
    """The token check's reads are primed into the request's loaders (made only when a
    field reads through them): the caller's own session and customer cost no second read."""
    api.register("own-again")
    token, session_id = api.login("own-again")
    services, runner = counted
    query = "query($s: String!) { session(sessionId: $s) { sessionId } viewer { customer { customerId } } }"
    with TestClient(create_app(settings, services)) as client:
        calls.reset()
        data = Api(client)(query, {"s": session_id}, token=token).ok()
    assert data == {
        "session": {"sessionId": session_id},
        "viewer": {"customer": {"customerId": "own-again"}},
    }
    assert runner.handed_off == ["resolve_caller"]
    assert calls.counts == {"BatchGetItem": 1}  # the token check only


def test_primes_kept_for_a_loader_made_later_give_the_same_cache(store, api, calls):
    """A prime never overwrites an earlier one, whether the loader existed then or not."""
    from dataclasses import replace

    from dynamo.runner import BlockingCallRunner
    from dynamo.sessions import get_session_by_session_id
    from resolvers.loaders import Loaders, session_key

    api.register("primes")
    _, first_id = api.login("primes")
    _, second_id = api.login("primes")
    first = get_session_by_session_id(store, first_id)
    second = get_session_by_session_id(store, second_id)
    assert first is not None and second is not None
    runner = BlockingCallRunner(1)

    async def scenario() -> None:
        loaders = Loaders(store, runner)
        loaders.prime([first])
        loaders.prime([replace(first, state="closing")])  # same key: the first prime stands
        calls.reset()
        assert await loaders.parent_session_by_id.load(first_id) is first
        loaders.prime([second])  # the loaders exist now: primed directly
        assert await loaders.session_by_key.load(session_key(second)) is second
        assert await loaders.parent_session_by_id.load(second_id) is second
        assert await loaders.session_by_key.load(session_key(first)) is first
        assert calls.total == 0

    try:
        asyncio.run(scenario())
    finally:
        runner.close()
