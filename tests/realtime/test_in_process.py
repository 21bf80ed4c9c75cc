"""Subscriptions on one app served in this process (uvicorn in a thread, a real WebSocket
client): the embedded store (moto, whose stream the hub reads in process), the limits of a
connection, the transport rules, and the race between a subscriber's first read and a logout.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from dynamo.connect import connect_embedded, connect_endpoint
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.table import create_table
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.realtime.conftest import table_name
from tests.realtime.helpers import (
    CUSTOMER_EVENTS,
    SESSION_ENDED,
    child,
    expect_session_ended,
    login,
    logout,
    subscribe_session_ended,
)
from tests.support.api import ADMIN_TOKEN
from tests.support.race import Background, paused
from tests.support.servers import Response, free_port
from tests.support.ws import GraphQLWS

STARTUP_SECONDS = 20.0


@dataclass
class InProcess:
    """Just enough of `tests.support.servers.ServerProcess` for the helpers: `graphql`."""

    app: Starlette
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Response:
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Response(answer.status, {}, json.load(answer))
        except urllib.error.HTTPError as error:
            return Response(error.code, {}, json.load(error))


@contextmanager
def served(settings: Settings, services: Services) -> Iterator[InProcess]:
    app = create_app(settings, services)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="realtime-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start")
        time.sleep(0.02)  # polling a starting server, not a race
    try:
        yield InProcess(app, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def embedded() -> Iterator[InProcess]:
    """The embedded store as `sessiongraph serve` opens it, with tight connection limits."""
    name = table_name()
    connection = connect_embedded(name)
    services = Services(
        Store(client=connection.client, table_name=name),
        BlockingCallRunner(connection.max_concurrency),
        connection,
    )
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        connections_per_session=1,
        subscriptions_per_connection=1,
        connection_init_timeout_seconds=0.5,
        max_aliases=3,
    )
    try:
        with served(settings, services) as app:
            yield app
    finally:
        services.close()


def customer() -> str:
    return f"ip-{uuid.uuid4().hex[:12]}"


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    assert message["type"] in ("error", "next"), message
    payload = message["payload"]
    return list(payload if message["type"] == "error" else payload.get("errors") or [])


def test_the_embedded_store_delivers_a_logout_through_its_stream(embedded: InProcess) -> None:
    assert embedded.app.state.events.mode == "stream"  # moto's stream, read in process
    session = login(embedded, customer())
    with subscribe_session_ended(embedded.ws_url, session) as ws:
        logout(embedded, session)
        expect_session_ended(ws, session, "LOGOUT")


def test_acknowledged_connections_are_counted_in_the_metrics(embedded: InProcess) -> None:
    def connected() -> float:
        return REGISTRY.get_sample_value("sessiongraph_websocket_connections") or 0.0

    before = connected()
    session = login(embedded, customer())
    with GraphQLWS.connect(embedded.ws_url, token=session.token) as ws:
        assert connected() == before + 1  # counted before connection_ack was sent
        ws.ping()


def test_a_connection_without_connection_init_is_closed(embedded: InProcess) -> None:
    with GraphQLWS.open(embedded.ws_url) as ws:
        assert ws.closed(timeout=5).code == 4408


def test_connection_init_without_a_token_is_closed_with_4401(embedded: InProcess) -> None:
    with GraphQLWS.open(embedded.ws_url) as ws:
        ws.init(payload={})
        assert ws.closed().code == 4401


def test_a_session_holds_at_most_its_connections(embedded: InProcess) -> None:
    session = login(embedded, customer())
    with GraphQLWS.connect(embedded.ws_url, token=session.token) as first:
        with GraphQLWS.open(embedded.ws_url) as second:
            second.init(token=session.token)
            assert second.closed().code == 4429
        first.ping()
    # Closing the first frees its place.
    with GraphQLWS.connect(embedded.ws_url, token=session.token) as again:
        again.ping()


def test_a_connection_runs_at_most_its_subscriptions(embedded: InProcess) -> None:
    session = login(embedded, customer())
    with GraphQLWS.connect(embedded.ws_url, token=session.token) as ws:
        ws.subscribe("1", SESSION_ENDED)
        ws.subscribe("2", SESSION_ENDED)
        message = ws.receive()
    assert message["id"] == "2"
    assert "limit" in errors_of(message)[0]["message"]


def test_query_limits_apply_over_websocket(embedded: InProcess) -> None:
    session = login(embedded, customer())
    with GraphQLWS.connect(embedded.ws_url, token=session.token) as ws:
        ws.subscribe(
            "1",
            "subscription { sessionEnded { a: sessionId b: sessionId c: sessionId d: reason } }",
        )
        message = ws.receive()
    [error] = errors_of(message)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "alias" in error["message"].lower()


def test_queries_and_mutations_go_over_http_only(embedded: InProcess) -> None:
    session = login(embedded, customer())
    with GraphQLWS.connect(embedded.ws_url, token=session.token) as ws:
        ws.subscribe("1", "{ viewer { sessionId } }")
        message = ws.receive()
    assert [e["extensions"]["code"] for e in errors_of(message)] == ["BAD_USER_INPUT"]


def test_subscriptions_go_over_websocket_only(embedded: InProcess) -> None:
    session = login(embedded, customer())
    answer = embedded.graphql(SESSION_ENDED, token=session.token)
    assert answer.codes == ["BAD_USER_INPUT"], answer.body
    assert "WebSocket" in answer.body["errors"][0]["message"]


def test_the_admin_has_no_session_to_follow_but_names_a_customer(embedded: InProcess) -> None:
    with GraphQLWS.connect(embedded.ws_url, token=ADMIN_TOKEN) as ws:
        ws.subscribe("1", SESSION_ENDED)
        ended = ws.receive()
    assert [e["extensions"]["code"] for e in errors_of(ended)] == ["BAD_USER_INPUT"]
    with GraphQLWS.connect(embedded.ws_url, token=ADMIN_TOKEN) as ws:
        ws.subscribe("1", CUSTOMER_EVENTS)
        events = ws.receive()
    assert [e["extensions"]["code"] for e in errors_of(events)] == ["BAD_USER_INPUT"]


@pytest.mark.dynamodb_local
def test_a_logout_between_the_subscribers_first_read_and_its_wait_is_not_lost(
    dynamodb_local_server: Any,
) -> None:
    """The worst interleaving: the subscriber has read its session (alive) but not yet
    started waiting when the logout is written. It watches before it reads, so the change
    still reaches it."""
    name = table_name()
    connection = connect_endpoint(dynamodb_local_server.endpoint_url, pool_size=4)
    create_table(connection.client, name)
    services = Services(
        Store(client=connection.client, table_name=name), BlockingCallRunner(4), connection
    )
    try:
        with served(Settings(admin_token=ADMIN_TOKEN), services) as app:
            assert app.app.state.events.mode == "stream"
            session = login(app, customer())
            with GraphQLWS.connect(app.ws_url, token=session.token) as ws:
                reads = itertools.count()

                def the_subscribers_last_read(params: dict[str, Any]) -> bool:
                    """Its first check reads once (items and token from one answer): that."""
                    keys = params["RequestItems"][name]["Keys"]
                    mine = any(k["PK"]["S"] == f"suuid#{session.session_id}" for k in keys)
                    return mine and next(reads) == 0

                with paused(
                    connection.client, "BatchGetItem", the_subscribers_last_read, after=True
                ) as pause:
                    ws.subscribe("ended", SESSION_ENDED)
                    pause.wait_reached()
                    ended = Background(lambda: logout(app, session))
                    assert ended.result() == [session.session_id]
                    pause.release()
                    expect_session_ended(ws, session, "LOGOUT")
    finally:
        services.close()


@pytest.mark.dynamodb_local
def test_a_parent_ending_between_a_childs_read_and_its_wait_is_still_parent_ended(
    dynamodb_local_server: Any,
) -> None:
    """A child subscriber reads its items (alive), then its parent is logged out before the
    answer reaches it: the change prompts a new read, and the reason comes from the items as
    they are then (PARENT_ENDED), not LOGOUT."""
    name = table_name()
    connection = connect_endpoint(dynamodb_local_server.endpoint_url, pool_size=4)
    create_table(connection.client, name)
    services = Services(
        Store(client=connection.client, table_name=name), BlockingCallRunner(4), connection
    )
    try:
        with served(Settings(admin_token=ADMIN_TOKEN), services) as app:
            parent = login(app, customer())
            kid = child(app, parent)
            with GraphQLWS.connect(app.ws_url, token=kid.token) as ws:

                def the_childs_item_read(params: dict[str, Any]) -> bool:
                    keys = params["RequestItems"][name]["Keys"]
                    return any(k["SK"]["S"] == f"child#suuid#{kid.session_id}" for k in keys)

                with paused(
                    connection.client, "BatchGetItem", the_childs_item_read, after=True
                ) as pause:
                    ws.subscribe("ended", SESSION_ENDED)
                    pause.wait_reached()
                    assert Background(lambda: logout(app, parent)).result()
                    pause.release()
                    expect_session_ended(ws, kid, "PARENT_ENDED")
    finally:
        services.close()
