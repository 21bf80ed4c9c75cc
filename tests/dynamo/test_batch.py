"""BatchGetItem / BatchWriteItem: pages within DynamoDB's limits, duplicates, unprocessed retries."""

from __future__ import annotations

from typing import Any

import pytest

from dynamo.batch import batch_delete, batch_get, batch_put
from dynamo.errors import UnprocessedError
from dynamo.keys import customer_key, parent_session_key
from dynamo.limits import BATCH_RETRY_ATTEMPTS
from dynamo.sessions import create_session, get_sessions_by_keys
from dynamo.store import Store, to_attributes
from tests.dynamo.helpers import hooked, raw_item, sent

NO_SLEEP = lambda seconds: None  # noqa: E731


def _make_sessions(store: Store, count: int, customer_id: str = "alice") -> list[dict[str, str]]:
    """`count` live parent sessions, written in BatchWriteItem pages (cheaper than PutItems)."""
    keys = [parent_session_key(f"s{i:04d}", customer_id) for i in range(count)]
    batch_put(
        store,
        [
            to_attributes(
                {
                    **key,
                    "customer_id": customer_id,
                    "session_state": "active",
                    "access_token": f"h{i}",
                }
            )
            for i, key in enumerate(keys)
        ],
        sleep=NO_SLEEP,
    )
    return keys


def _sent_keys(calls: Any, store: Store, operation: str = "BatchGetItem") -> list[list[str]]:
    return [
        [key["PK"]["S"] for key in body["RequestItems"][store.table_name]["Keys"]]
        for body in sent(calls, operation)
    ]


def test_reading_250_sessions_costs_three_batch_gets(store: Store, calls: Any) -> None:
    keys = _make_sessions(store, 250)
    wanted = list(reversed(keys))  # any order: results follow the keys
    calls.reset()
    sessions = get_sessions_by_keys(store, wanted)
    assert calls.counts == {"BatchGetItem": 3}
    assert [len(page) for page in _sent_keys(calls, store)] == [100, 100, 50]
    assert all(
        body["RequestItems"][store.table_name]["ConsistentRead"]
        for body in sent(calls, "BatchGetItem")
    )
    assert [s.key if s else None for s in sessions] == wanted
    assert [s.access_token_hash for s in sessions if s] == [f"h{i}" for i in reversed(range(250))]


def test_duplicates_are_read_once_and_missing_keys_are_none(store: Store, calls: Any) -> None:
    a, b = _make_sessions(store, 2)
    missing = parent_session_key("s-missing", "alice")
    calls.reset()
    results = get_sessions_by_keys(store, [a, b, a, missing, b, missing])
    assert calls.counts == {"BatchGetItem": 1}
    [sent_keys] = _sent_keys(calls, store)
    assert sorted(sent_keys) == ["suuid#s-missing", "suuid#s0000", "suuid#s0001"]
    assert [r.key if r else None for r in results] == [a, b, a, None, b, None]


def test_an_empty_read_makes_no_call(store: Store, calls: Any) -> None:
    calls.reset()
    assert batch_get(store, []) == []
    assert get_sessions_by_keys(store, []) == []
    assert calls.total == 0


def test_keys_of_other_kinds_read_as_none_from_the_session_reader(store: Store) -> None:
    [session] = _make_sessions(store, 1)
    store.client.put_item(
        TableName=store.table_name,
        Item={"PK": {"S": "c#alice"}, "SK": {"S": "c#alice"}, "customer_id": {"S": "alice"}},
    )
    assert [
        s is not None for s in get_sessions_by_keys(store, [session, customer_key("alice")])
    ] == [True, False]
    assert batch_get(store, [customer_key("alice")])[0] == {
        "PK": "c#alice",
        "SK": "c#alice",
        "customer_id": "alice",
    }


def test_unprocessed_keys_are_sent_again(store: Store, calls: Any) -> None:
    keys = _make_sessions(store, 7)
    table = store.table_name
    held_back: list[str] = []

    def hold_back_on_first_call(parsed: dict[str, Any], **_: Any) -> None:
        if held_back:
            return
        items = parsed["Responses"][table]
        moved, parsed["Responses"][table] = items[:3], items[3:]
        held_back.extend(i["PK"]["S"] for i in moved)
        parsed["UnprocessedKeys"] = {
            table: {
                "Keys": [{"PK": i["PK"], "SK": i["SK"]} for i in moved],
                "ConsistentRead": True,
            }
        }

    delays: list[float] = []
    calls.reset()
    with hooked(store.client, "after-call.dynamodb.BatchGetItem", hold_back_on_first_call):
        items = batch_get(store, keys, sleep=delays.append)
    assert calls.counts == {"BatchGetItem": 2}
    first, second = _sent_keys(calls, store)
    assert len(first) == 7
    assert sorted(second) == sorted(held_back)
    assert len(delays) == 1 and 0 < delays[0] < 1
    assert [(i["PK"], i["SK"]) if i else None for i in items] == [(k["PK"], k["SK"]) for k in keys]


def test_keys_left_unprocessed_after_every_retry_raise(store: Store, calls: Any) -> None:
    keys = _make_sessions(store, 2)
    table = store.table_name

    def never_process(parsed: dict[str, Any], **_: Any) -> None:
        items = parsed["Responses"].pop(table, [])
        keys = [{"PK": i["PK"], "SK": i["SK"]} for i in items]
        parsed["UnprocessedKeys"] = {table: {"Keys": keys, "ConsistentRead": True}}

    calls.reset()
    with (
        hooked(store.client, "after-call.dynamodb.BatchGetItem", never_process),
        pytest.raises(UnprocessedError),
    ):
        batch_get(store, keys, sleep=NO_SLEEP)
    assert calls.counts == {"BatchGetItem": BATCH_RETRY_ATTEMPTS + 1}


def test_batch_delete_writes_pages_of_25_once_per_key(store: Store, calls: Any) -> None:
    keys = _make_sessions(store, 60)
    survivor = create_session(store, "alice", token_hash="h", session_id="survivor")
    calls.reset()
    batch_delete(store, keys + keys[:10], sleep=NO_SLEEP)
    assert calls.counts == {"BatchWriteItem": 3}
    pages = [body["RequestItems"][store.table_name] for body in sent(calls, "BatchWriteItem")]
    assert [len(p) for p in pages] == [25, 25, 10]
    deleted = [r["DeleteRequest"]["Key"]["PK"]["S"] for p in pages for r in p]
    assert sorted(deleted) == sorted(k["PK"] for k in keys)
    assert get_sessions_by_keys(store, keys) == [None] * 60
    assert raw_item(store, survivor.key) is not None


def test_an_empty_delete_makes_no_call(store: Store, calls: Any) -> None:
    calls.reset()
    batch_delete(store, [])
    assert calls.total == 0


def test_unprocessed_deletes_are_sent_again(store: Store, calls: Any) -> None:
    """The first call really leaves 5 deletes undone (as DynamoDB would) and says so."""
    keys = _make_sessions(store, 30)
    table = store.table_name
    withheld: list[Any] = []

    def withhold_on_first_call(params: dict[str, Any], **_: Any) -> None:
        if not withheld:
            requests = params["RequestItems"][table]
            withheld.extend(requests[-5:])
            params["RequestItems"] = {table: requests[:-5]}

    def report_withheld(parsed: dict[str, Any], **_: Any) -> None:
        if withheld and not parsed.get("UnprocessedItems") and len(withheld) == 5:
            parsed["UnprocessedItems"] = {table: list(withheld)}
            withheld.append(None)  # report once

    delays: list[float] = []
    calls.reset()
    with (
        hooked(
            store.client, "before-parameter-build.dynamodb.BatchWriteItem", withhold_on_first_call
        ),
        hooked(store.client, "after-call.dynamodb.BatchWriteItem", report_withheld),
    ):
        batch_delete(store, keys, sleep=delays.append)
    # Pages of 25 and 5, and the 5 withheld from the first page sent again.
    assert calls.counts == {"BatchWriteItem": 3}
    sizes = [len(body["RequestItems"][table]) for body in sent(calls, "BatchWriteItem")]
    assert sizes == [20, 5, 5]
    assert len(delays) == 1
    assert get_sessions_by_keys(store, keys) == [None] * 30


def test_deletes_left_unprocessed_after_every_retry_raise(store: Store, calls: Any) -> None:
    keys = _make_sessions(store, 3)
    table = store.table_name

    def report_rest(parsed: dict[str, Any], **_: Any) -> None:
        parsed["UnprocessedItems"] = {
            table: [
                {"DeleteRequest": {"Key": {"PK": {"S": "suuid#s0002"}, "SK": {"S": "c#alice"}}}}
            ]
        }

    calls.reset()
    with (
        hooked(store.client, "after-call.dynamodb.BatchWriteItem", report_rest),
        pytest.raises(UnprocessedError),
    ):
        batch_delete(store, keys, sleep=NO_SLEEP)
    assert calls.counts == {"BatchWriteItem": BATCH_RETRY_ATTEMPTS + 1}
    assert raw_item(store, keys[0]) is None
