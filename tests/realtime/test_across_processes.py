"""Subscriptions across processes: mutations through one `sessiongraph serve`, subscribers on
another, one DynamoDB Local table between them (its stream carries the events).

Each reason reaches the subscriber within 3 seconds of the write, then the subscription
completes. The revocation by generation (logoutAll, changePassword) is written here as the
contract between helpers says it is stored (`session_generation`, `revoked_reason` on the
customer item), and also driven through the mutations as they are on this branch.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import ALLOWED_ORIGIN, Pair
from tests.realtime.helpers import (
    CUSTOMER_EVENTS,
    DELIVERY_SECONDS,
    Session,
    child,
    expect_complete,
    expect_session_ended,
    login,
    logout,
    next_payload,
    register,
    subscribe_session_ended,
)
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess
from tests.support.ws import GraphQLWS

pytestmark = pytest.mark.dynamodb_local


def customer() -> str:
    return f"rt-{uuid.uuid4().hex[:12]}"


def bump_generation(
    client: Any,
    table: str,
    customer_id: str,
    generation: int,
    reason: str,
    kept: Session | None = None,
) -> None:
    """What logoutAll and changePassword write (the revocation contract): one UpdateItem;
    changePassword also names the caller's parent session, which it keeps."""
    key = {"S": f"c#{customer_id}"}
    values = {":g": {"N": str(generation)}, ":r": {"S": reason}}
    update = "SET session_generation = :g, revoked_reason = :r"
    if kept is not None:
        update += ", kept_session_id = :k"
        values[":k"] = {"S": kept.session_id}
    client.update_item(
        TableName=table,
        Key={"PK": key, "SK": key},
        UpdateExpression=update,
        ExpressionAttributeValues=values,
    )


def stamp_session(client: Any, table: str, session: Session, customer_id: str, generation: int):
    """changePassword's caller is restamped to the new generation (after the bump)."""
    client.update_item(
        TableName=table,
        Key={"PK": {"S": f"suuid#{session.session_id}"}, "SK": {"S": f"c#{customer_id}"}},
        UpdateExpression="SET session_generation = :g",
        ExpressionAttributeValues={":g": {"N": str(generation)}},
    )


def expect_silence(ws: GraphQLWS, seconds: float) -> None:
    """Nothing but the pong of a ping arrives on `ws` (bounded wait)."""
    with pytest.raises(TimeoutError):
        ws.receive(timeout=seconds)
    ws.ping()


def until_watching(server: ServerProcess, who: str, sockets: list[GraphQLWS]) -> None:
    """customerSessionEvents tells what happens after it started watching, and nothing says
    when that is: log in probe sessions until every socket has told one's STARTED."""
    for _ in range(10):
        probe = login(server, who)
        try:
            for ws in sockets:
                while True:
                    event = next_payload(ws, "events", within=1.0)["data"]["customerSessionEvents"]
                    if event["kind"] == "STARTED" and event["sessionId"] == probe.session_id:
                        break
            return
        except TimeoutError:
            continue
    raise AssertionError("customerSessionEvents did not start watching")


def test_logout_through_one_server_reaches_a_subscriber_on_the_other(pair: Pair) -> None:
    session = login(pair.writer, customer())
    with subscribe_session_ended(pair.ws_url, session) as ws:
        assert logout(pair.writer, session) == [session.session_id]
        took = expect_session_ended(ws, session, "LOGOUT")
    assert took < DELIVERY_SECONDS


def test_a_parent_logout_ends_its_children_with_parent_ended(pair: Pair) -> None:
    parent = login(pair.writer, customer())
    kid = child(pair.writer, parent)
    with (
        subscribe_session_ended(pair.ws_url, parent) as parent_ws,
        subscribe_session_ended(pair.ws_url, kid) as child_ws,
    ):
        logout(pair.writer, parent)
        expect_session_ended(child_ws, kid, "PARENT_ENDED")
        expect_session_ended(parent_ws, parent, "LOGOUT")


def test_a_child_logout_is_a_logout_and_leaves_the_parent_alone(pair: Pair) -> None:
    parent = login(pair.writer, customer())
    kid = child(pair.writer, parent)
    with (
        subscribe_session_ended(pair.ws_url, parent) as parent_ws,
        subscribe_session_ended(pair.ws_url, kid) as child_ws,
    ):
        assert logout(pair.writer, kid) == [kid.session_id]
        expect_session_ended(child_ws, kid, "LOGOUT")
        expect_silence(parent_ws, 1.0)


def test_a_generation_bump_ends_every_session_with_logout_all(
    pair: Pair, dynamodb_local_server: Any
) -> None:
    who = customer()
    first, second = login(pair.writer, who), login(pair.writer, who)
    kid = child(pair.writer, first)
    client = dynamodb_local_server.client()
    with (
        subscribe_session_ended(pair.ws_url, first) as first_ws,
        subscribe_session_ended(pair.ws_url, second) as second_ws,
        subscribe_session_ended(pair.ws_url, kid) as child_ws,
    ):
        bump_generation(client, pair.table_name, who, 1, "LOGOUT_ALL")
        expect_session_ended(first_ws, first, "LOGOUT_ALL")
        expect_session_ended(second_ws, second, "LOGOUT_ALL")
        expect_session_ended(child_ws, kid, "LOGOUT_ALL")


def test_a_generation_bump_for_a_password_change_spares_the_restamped_caller(
    pair: Pair, dynamodb_local_server: Any
) -> None:
    who = customer()
    caller, other = login(pair.writer, who), login(pair.writer, who)
    client = dynamodb_local_server.client()
    with (
        subscribe_session_ended(pair.ws_url, caller) as caller_ws,
        subscribe_session_ended(pair.ws_url, other) as other_ws,
    ):
        bump_generation(client, pair.table_name, who, 1, "PASSWORD_CHANGED", kept=caller)
        expect_silence(caller_ws, 0.5)  # kept, one generation behind, until restamped
        stamp_session(client, pair.table_name, caller, who, 1)
        expect_session_ended(other_ws, other, "PASSWORD_CHANGED")
        expect_silence(caller_ws, 1.5)
    assert pair.reader.graphql("{ viewer { sessionId } }", token=caller.token).ok() == {
        "viewer": {"sessionId": caller.session_id}
    }


def test_logout_all_through_the_mutation(pair: Pair) -> None:
    who = customer()
    first, second = login(pair.writer, who), login(pair.writer, who)
    with subscribe_session_ended(pair.ws_url, second) as ws:
        pair.writer.graphql("mutation { logoutAll { endedSessionIds } }", token=first.token).ok()
        expect_session_ended(ws, second, "LOGOUT_ALL")


def test_change_password_through_the_mutation(pair: Pair) -> None:
    who, password = customer(), "correct horse battery"
    register(pair.writer, who, password)
    caller, other = login(pair.writer, who, password), login(pair.writer, who, password)
    with (
        subscribe_session_ended(pair.ws_url, caller) as caller_ws,
        subscribe_session_ended(pair.ws_url, other) as other_ws,
    ):
        pair.writer.graphql(
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c,"
            " newPassword: $n) { endedSessionIds } }",
            {"c": password, "n": "another horse battery"},
            token=caller.token,
        ).ok()
        expect_session_ended(other_ws, other, "PASSWORD_CHANGED")
        expect_silence(caller_ws, 1.5)


def test_an_idle_deadline_gives_expired_at_the_deadline(
    pair: Pair, dynamodb_local_server: Any
) -> None:
    """Logged in through a server with a 6-second idle timeout; the other server's timer
    (re-reading the session before it fires) ends it at its deadline."""
    short = ServerProcess.start(
        endpoint_url=pair.endpoint_url,
        table_name=pair.table_name,
        admin_token=ADMIN_TOKEN,
        env={"SESSIONGRAPH_IDLE_TIMEOUT_MINUTES": "0.1"},
    )
    try:
        session = login(short, customer())
    finally:
        short.stop()
    assert session.expires_at is not None
    deadline = datetime.fromisoformat(session.expires_at).timestamp()
    with subscribe_session_ended(pair.ws_url, session) as ws:
        payload = next_payload(ws, "ended", within=deadline - time.time() + DELIVERY_SECONDS)
        arrived = time.time()
        assert payload == {
            "data": {"sessionEnded": {"sessionId": session.session_id, "reason": "EXPIRED"}}
        }
        expect_complete(ws, "ended")
    assert deadline <= arrived < deadline + DELIVERY_SECONDS


def test_a_garbage_token_is_closed_with_4401_and_no_ack(pair: Pair) -> None:
    with GraphQLWS.open(pair.ws_url) as ws:
        ws.init(token="garbage")
        closed = ws.closed()
    assert closed.code == 4401


def test_an_ended_token_is_closed_with_4401(pair: Pair) -> None:
    session = login(pair.writer, customer())
    logout(pair.writer, session)
    with GraphQLWS.open(pair.ws_url) as ws:
        ws.init(token=session.token)
        assert ws.closed().code == 4401


def test_a_foreign_origin_is_refused_at_the_upgrade(pair: Pair) -> None:
    with pytest.raises(InvalidStatus) as refused:
        GraphQLWS.open(pair.ws_url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    # The CORS allow-list lets its origins in, as over HTTP.
    session = login(pair.writer, customer())
    with GraphQLWS.connect(pair.ws_url, token=session.token, origin=ALLOWED_ORIGIN) as ws:
        ws.ping()


def test_an_idle_subscriber_is_kept_alive_past_the_execution_timeout(pair: Pair) -> None:
    """The reader's execution timeout is 1 s: a subscription waits three times that, its
    connection answering pings, and still gets its event."""
    session = login(pair.writer, customer())
    with subscribe_session_ended(pair.ws_url, session) as ws:
        for _ in range(6):
            expect_silence(ws, 0.5)
        logout(pair.writer, session)
        expect_session_ended(ws, session, "LOGOUT")


def test_a_parent_token_is_refused_another_customers_events(pair: Pair) -> None:
    mine, theirs = login(pair.writer, customer()), customer()
    with GraphQLWS.connect(pair.ws_url, token=mine.token) as ws:
        ws.subscribe("events", CUSTOMER_EVENTS, {"c": theirs})
        message = ws.receive()
    assert message["id"] == "events"
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


def test_customer_session_events_tell_sessions_starting_and_ending(pair: Pair) -> None:
    who = customer()
    watcher = login(pair.writer, who)
    with (
        GraphQLWS.connect(pair.ws_url, token=watcher.token) as own_ws,
        GraphQLWS.connect(pair.ws_url, token=ADMIN_TOKEN) as admin_ws,
    ):
        own_ws.subscribe("events", CUSTOMER_EVENTS)
        admin_ws.subscribe("events", CUSTOMER_EVENTS, {"c": who})
        until_watching(pair.writer, who, [own_ws, admin_ws])
        other = login(pair.writer, who)
        kid = child(pair.writer, other)
        logout(pair.writer, other)
        expected = [
            {"kind": "STARTED", "sessionId": other.session_id, "isChild": False, "reason": None},
            {"kind": "STARTED", "sessionId": kid.session_id, "isChild": True, "reason": None},
            {"kind": "ENDED", "sessionId": other.session_id, "isChild": False, "reason": "LOGOUT"},
            {
                "kind": "ENDED",
                "sessionId": kid.session_id,
                "isChild": True,
                "reason": "PARENT_ENDED",
            },
        ]
        for ws in (own_ws, admin_ws):
            got = [next_payload(ws, "events")["data"]["customerSessionEvents"] for _ in expected]
            assert got == expected
        # The watcher's own end is its last event.
        logout(pair.writer, watcher)
        assert next_payload(own_ws, "events")["data"]["customerSessionEvents"] == {
            "kind": "ENDED",
            "sessionId": watcher.session_id,
            "isChild": False,
            "reason": "LOGOUT",
        }
        expect_complete(own_ws, "events")


def test_a_child_token_may_not_watch_its_customer(pair: Pair) -> None:
    kid = child(pair.writer, login(pair.writer, customer()))
    with GraphQLWS.connect(pair.ws_url, token=kid.token) as ws:
        ws.subscribe("events", CUSTOMER_EVENTS)
        message = ws.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


def test_a_websocket_message_is_capped_like_a_request_body(pair: Pair) -> None:
    session = login(pair.writer, customer())
    with GraphQLWS.connect(pair.ws_url, token=session.token) as ws:
        ws.subscribe("big", "subscription { sessionEnded { sessionId } }" + " " * 70_000)
        assert ws.closed().code == 1009  # over SESSIONGRAPH_MAX_BODY_BYTES (64 KiB)
