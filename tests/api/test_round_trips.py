"""What a nested query costs in DynamoDB round trips, counted from botocore's events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamo.customers import record_login
from dynamo.lifecycle import create_child_session
from dynamo.runner import BlockingCallRunner
from dynamo.sessions import create_session
from server.app import create_app
from server.services import Services
from tests.support.api import NESTED_QUERY, Api


class PendingCountingRunner(BlockingCallRunner):
    """Counts calls handed to the pool and not yet finished: the application's in-flight."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers)
        self.in_flight = 0
        self.max_pending = 0
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.in_flight += 1
            self.max_pending = max(self.max_pending, self.in_flight)
        try:
            return await super().run(fn, *args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.fixture
def customer_with_30_sessions(store):
    parents = [create_session(store, "bob", token_hash="x") for _ in range(30)]
    record_login(store, "bob", store.clock.now())  # as Mutation.login does
    for parent in parents:
        for n in range(3):
            create_child_session(store, parent, client=f"app{n}", token_hash="y")
    return parents


def _queries(calls, *, on_index: bool) -> int:
    return sum(1 for p in calls.params_of("Query") if ("IndexName" in p) == on_index)


def test_nested_query_costs_one_round_trip_per_level(api, calls, customer_with_30_sessions):
    calls.reset()
    data = api.admin(NESTED_QUERY, {"c": "bob"}).ok()

    edges = data["customer"]["sessions"]["edges"]
    assert len(edges) == 30
    for edge in edges:
        children = edge["node"]["childSessions"]["edges"]
        assert len(children) == 3
        for child in children:
            assert child["node"]["parent"]["sessionId"] == edge["node"]["sessionId"]
            assert child["node"]["customer"]["customerId"] == "bob"

    assert _queries(calls, on_index=True) == 1  # customer.sessions
    assert _queries(calls, on_index=False) == 30  # childSessions of each session
    assert calls.of("BatchGetItem") <= 1
    assert calls.of("GetItem") == 0
    assert calls.total == 31 + calls.of("BatchGetItem")


def test_cost_grows_with_depth_not_with_objects(api, calls, store):
    """Twice the sessions, the same number of calls per level (one Query per parent)."""
    for count in (5, 10):
        customer = f"c{count}"
        for _ in range(count):
            create_session(store, customer, token_hash="x")
        record_login(store, customer, store.clock.now())
        calls.reset()
        api.admin(
            "query($c: String!) { customer(customerId: $c) { sessions(first: 50) { edges { node { sessionId customer { customerId lastLoginTime } } } } } }",
            {"c": customer},
        ).ok()
        assert calls.of("Query") == 1
        assert calls.total <= 2  # the session page, and one batched read of the customer item


def test_child_queries_are_in_flight_together(
    settings, store, backend, calls, customer_with_30_sessions
):
    runner = PendingCountingRunner(1 if backend == "moto" else 16)
    services = Services(store=store, runner=runner)
    with TestClient(create_app(settings, services)) as client:
        calls.reset()
        Api(client).admin(NESTED_QUERY, {"c": "bob"}).ok()
    runner.close()
    # All 30 childSessions Queries are handed to the pool before the first one returns.
    assert runner.max_pending >= 30
    if backend == "dynamodb_local":
        # With a real pool, several Queries are on the wire at the same moment.
        assert calls.max_in_flight["Query"] > 1
