"""What a subscriber costs and when it wakes, on an app in this process reading the table's
stream (moto and DynamoDB Local) with a manual clock: one consistent read per change per
watching subscription, the deadline timer of customerSessionEvents, and the hub's reader
positioned by one owner when a subscriber is cancelled meanwhile."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest

from dynamo.clock import ManualClock
from dynamo.connect import Connection
from dynamo.keys import customer_key, parent_session_key
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store, from_attributes, to_attributes
from dynamo.streams import Change
from dynamo.timefmt import parse_epoch
from server.event_hub import EventHub
from server.services import Services
from server.settings import Settings
from tests.dynamo.test_streams import streams_client
from tests.realtime.helpers import (
    CUSTOMER_EVENTS,
    child,
    expect_complete,
    login,
    logout,
    next_payload,
)
from tests.realtime.test_in_process import InProcess, served
from tests.support.api import ADMIN_TOKEN
from tests.support.calls import CallCounter
from tests.support.race import paused
from tests.support.ws import GraphQLWS

PAUSE_SECONDS = 10.0


@pytest.fixture
def app(store: Store) -> Iterator[InProcess]:
    connection = Connection(
        client=store.client, kind="endpoint", max_concurrency=4, streams=streams_client(store)
    )
    runner = BlockingCallRunner(4)
    try:
        with served(Settings(admin_token=ADMIN_TOKEN), Services(store, runner, connection)) as app:
            assert app.app.state.events.mode == "stream"
            yield app
    finally:
        runner.close()


def customer() -> str:
    return f"sr-{uuid.uuid4().hex[:12]}"


def as_key(key: dict[str, str]) -> tuple[str, str]:
    return (key["PK"], key["SK"])


def keys_read(params: dict[str, Any]) -> set[tuple[str, str]]:
    [(_, request)] = params["RequestItems"].items()
    return {(k["PK"]["S"], k["SK"]["S"]) for k in request["Keys"]}


def pks(params: dict[str, Any]) -> set[str]:
    return {pk for pk, _ in keys_read(params)}


def events_of(ws: GraphQLWS, count: int) -> dict[str, list[Any]]:
    """The next `count` customerSessionEvents, by operation id."""
    got: dict[str, list[Any]] = {}
    while count:
        message = ws.receive(timeout=PAUSE_SECONDS)
        if message.get("type") == "pong":
            continue
        assert message["type"] == "next", message
        got.setdefault(message["id"], []).append(
            message["payload"]["data"]["customerSessionEvents"]
        )
        count -= 1
    return got


def test_one_change_costs_one_read_per_watching_subscription(app: InProcess, store: Store) -> None:
    who = customer()
    watcher = login(app, who)
    other = login(app, who)
    kid = child(app, other)
    mine = {parent_session_key(watcher.session_id, who)["PK"]}
    counter = CallCounter()
    counter.attach(store.client)
    with GraphQLWS.connect(app.ws_url, token=watcher.token) as ws:
        for op_id in ("one", "two"):
            # Watching (positioned on the stream) once it reads its items the first time.
            with paused(store.client, "BatchGetItem", lambda p: bool(mine & pks(p))) as first:
                ws.subscribe(op_id, CUSTOMER_EVENTS)
                first.wait_reached(PAUSE_SECONDS)
        # Both are in their loop once they told of a session started after them.
        started = login(app, who)
        assert {k: [e["sessionId"] for e in v] for k, v in events_of(ws, 2).items()} == {
            "one": [started.session_id],
            "two": [started.session_id],
        }
        counter.reset()
        logout(app, kid)  # one write: the child's DeleteItem
        ended = events_of(ws, 2)
    assert (
        ended["one"]
        == ended["two"]
        == [{"kind": "ENDED", "sessionId": kid.session_id, "isChild": True, "reason": "LOGOUT"}]
    )
    reads = [p for p in counter.params_of("BatchGetItem") if mine & pks(p)]
    assert len(reads) == 2  # one consistent read each: its items and its token from one answer
    watched = {as_key(parent_session_key(watcher.session_id, who)), as_key(customer_key(who))}
    assert all(keys_read(p) == watched for p in reads)


def test_customer_session_events_ends_when_the_subscribers_own_session_idles_out(
    app: InProcess, store: Store, clock: ManualClock
) -> None:
    who = customer()
    watcher = login(app, who)
    own = parent_session_key(watcher.session_id, who)
    with GraphQLWS.connect(app.ws_url, token=watcher.token) as ws:
        item = from_attributes(
            store.client.get_item(
                TableName=store.table_name, Key=to_attributes(own), ConsistentRead=True
            )["Item"]
        )
        deadline = parse_epoch(item["expires_at"])
        assert deadline is not None
        clock.set(deadline - timedelta(seconds=1))  # its timer: about a second from now
        reads = itertools.count()

        def the_timers_read(params: dict[str, Any]) -> bool:
            """The subscriber's reads of its items: the first check's, then the timer's."""
            return own["PK"] in pks(params) and next(reads) == 1

        with paused(store.client, "BatchGetItem", the_timers_read) as pause:
            ws.subscribe("events", CUSTOMER_EVENTS)
            pause.wait_reached(PAUSE_SECONDS)  # no change came: only a timer reads again
            clock.advance(timedelta(seconds=2))  # the session idled out meanwhile
            pause.release()
            payload = next_payload(ws, "events")
        assert payload == {
            "data": {
                "customerSessionEvents": {
                    "kind": "ENDED",
                    "sessionId": watcher.session_id,
                    "isChild": False,
                    "reason": "EXPIRED",
                }
            }
        }
        expect_complete(ws, "events")


def test_a_subscriber_cancelled_while_the_reader_is_positioned_leaves_it_one_owner(
    store: Store,
) -> None:
    """The first subscriber is cancelled while positioning is held at ListStreams; the next
    one waits for that same positioning instead of positioning the reader again beside it."""
    streams = streams_client(store)
    listed: list[str] = []
    streams.meta.events.register(
        "before-call.dynamodb-streams.ListStreams", lambda **_: listed.append("ListStreams")
    )
    runner = BlockingCallRunner(2)
    events = EventHub(store, runner, streams)
    key = parent_session_key("s1", "alice")
    entered = asyncio.Event()

    async def first_subscriber() -> None:
        async with events.watch([(key["PK"], key["SK"])]):
            entered.set()

    async def second_subscriber() -> Change | None:
        async with events.watch([(key["PK"], key["SK"])]) as watch:
            item = {**key, "customer_id": "alice", "session_state": "active"}
            store.client.put_item(TableName=store.table_name, Item=to_attributes(item))
            return await watch.next(PAUSE_SECONDS)

    async def scenario() -> Change | None:
        with paused(streams, "ListStreams") as pause:
            first = asyncio.create_task(first_subscriber())
            await asyncio.to_thread(pause.wait_reached, PAUSE_SECONDS)
            first.cancel()
            with suppress(asyncio.CancelledError):
                await first
            second = asyncio.create_task(second_subscriber())
            await asyncio.sleep(0)  # one turn of the loop: it registers and waits
            assert len(events._watches) == 1
            pause.release()
            got = await second
        await events.close()
        return got

    try:
        change = asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        runner.close()
    assert not entered.is_set()
    assert change is not None and change.key == (key["PK"], key["SK"])
    assert len(listed) == 1  # positioned once, by the hub's loop alone
