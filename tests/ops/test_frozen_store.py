"""A frozen store (this module's own DynamoDB Local, stopped with SIGSTOP): `/readyz` turns 503
within seconds and 200 after; a request during the freeze answers TIMEOUT or
STORE_UNAVAILABLE (never BAD_USER_INPUT); requests succeed again soon after SIGCONT. And
SIGTERM with a request in flight: the request gets its answer, then the process exits 0."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from tests.ops.conftest import VIEWER, frozen, new_table, register_and_login, scrape
from tests.support.api import ADMIN_TOKEN
from tests.support.race import Background
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.dynamodb_local

FAST_FAILING = {
    "SESSIONGRAPH_DYNAMODB_CONNECT_TIMEOUT_SECONDS": "0.5",
    "SESSIONGRAPH_DYNAMODB_READ_TIMEOUT_SECONDS": "1",
    "SESSIONGRAPH_DYNAMODB_MAX_ATTEMPTS": "2",
    "SESSIONGRAPH_READINESS_TIMEOUT_SECONDS": "1",
    "SESSIONGRAPH_READINESS_CACHE_SECONDS": "0.5",
}
WITHIN = 15.0
"""Bound on every wait for the server to notice a change (polled, not slept on)."""


def _wait_for(condition, what: str, within: float = WITHIN):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        time.sleep(0.1)  # polling a server from outside, not ordering a race


@pytest.fixture
def server(own_dynamodb_local) -> Iterator[ServerProcess]:
    table = new_table(own_dynamodb_local)
    with ServerProcess.start(
        endpoint_url=own_dynamodb_local.endpoint_url,
        table_name=table,
        admin_token=ADMIN_TOKEN,
        env=FAST_FAILING,
    ) as server:
        yield server


def test_readyz_and_requests_while_the_store_is_frozen_and_after(server, own_dynamodb_local):
    token = register_and_login(server, "frozen")
    assert server.get("/readyz").status == 200
    with frozen(own_dynamodb_local):
        not_ready = _wait_for(
            lambda: (r := server.get("/readyz")).status == 503 and r, "/readyz turns 503"
        )
        assert not_ready.body["status"] == "not ready"
        assert not_ready.body["reason"]
        assert server.get("/healthz").status == 200  # liveness only
        during = server.graphql(VIEWER, token=token)
        assert during.codes in (["STORE_UNAVAILABLE"], ["TIMEOUT"]), during.body
        assert "BAD_USER_INPUT" not in during.codes
        if during.codes == ["STORE_UNAVAILABLE"]:
            assert during.headers.get("retry-after") == "1"
        login_during = server.graphql(
            'mutation { login(customerId: "frozen", password: "correct horse battery") '
            "{ accessToken } }"
        )
        assert login_during.codes in (["STORE_UNAVAILABLE"], ["TIMEOUT"]), login_during.body
    _wait_for(lambda: server.get("/readyz").status == 200, "/readyz turns 200 after SIGCONT")
    answer = _wait_for(
        lambda: (r := server.graphql(VIEWER, token=token)).codes == [] and r,
        "a request succeeds after SIGCONT",
        within=5,
    )
    assert answer.data["viewer"]["sessionId"]


def test_sigterm_lets_a_request_in_flight_finish(own_dynamodb_local):
    table = new_table(own_dynamodb_local)
    patient = {
        "SESSIONGRAPH_DYNAMODB_READ_TIMEOUT_SECONDS": "60",
        "SESSIONGRAPH_EXECUTION_TIMEOUT_SECONDS": "60",
        "SESSIONGRAPH_GRACEFUL_SHUTDOWN_SECONDS": "60",
    }
    server = ServerProcess.start(
        endpoint_url=own_dynamodb_local.endpoint_url,
        table_name=table,
        admin_token=ADMIN_TOKEN,
        env=patient,
    )
    try:
        token = register_and_login(server, "inflight")
        with frozen(own_dynamodb_local):
            request = Background(lambda: server.graphql(VIEWER, token=token))
            # Held at DynamoDB: the pool reports one call pending.
            _wait_for(
                lambda: (
                    scrape(server)["sessiongraph_queue_depth"].get((("pool", "dynamodb"),)) == 1
                ),
                "the request reaches DynamoDB",
            )
            server.signal(signal.SIGTERM)
            _wait_for(
                lambda: any("Waiting for connections to close" in line for line in server.output),
                "the server waits for the request in flight",
            )
            assert server.process.poll() is None
        answer = request.result()
        assert answer.status == 200 and answer.codes == [], answer.body
        assert answer.data["viewer"]["sessionId"]
        assert server.process.wait(timeout=WITHIN) == 0
        assert "pools closed" in server.output[-1]
    finally:
        server.stop()
