"""dynamo.streams: the table's stream read as typed changes (moto and DynamoDB Local), shards
that close or split, and the key poller for engines without a stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.store import Store, to_attributes
from dynamo.streams import Change, KeyPoller, NoStream, StreamReader, change_from_record
from dynamo.table import table_definition

READ_ATTEMPTS = 50


def streams_client(store: Store) -> Any:
    """A dynamodbstreams client beside the store's client (same endpoint, moto or not)."""
    import boto3
    from botocore.config import Config

    meta = store.client.meta
    extra = {}
    if "amazonaws.com" not in meta.endpoint_url:
        extra = {
            "endpoint_url": meta.endpoint_url,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
    return boto3.client(
        "dynamodbstreams",
        region_name=meta.region_name,
        config=Config(account_id_endpoint_mode="disabled"),
        **extra,
    )


def read_until(reader: StreamReader, count: int) -> list[Change]:
    """Read until `count` changes came (GetRecords answers at once; bounded attempts)."""
    changes: list[Change] = []
    for _ in range(READ_ATTEMPTS):
        changes.extend(reader.read().changes)
        if len(changes) >= count:
            return changes
    raise AssertionError(f"only {len(changes)} of {count} changes came: {changes}")


def test_the_stream_tells_inserts_updates_and_removals_with_both_images(store: Store) -> None:
    reader = StreamReader(streams_client(store), store.table_name)
    assert reader.position() >= 1
    key = parent_session_key("s1", "alice")
    item = {**key, "customer_id": "alice", "session_state": "active"}
    store.client.put_item(TableName=store.table_name, Item=to_attributes(item))
    store.client.update_item(
        TableName=store.table_name,
        Key=to_attributes(key),
        UpdateExpression="SET session_state = :c",
        ExpressionAttributeValues=to_attributes({":c": "closing"}),
    )
    store.client.delete_item(TableName=store.table_name, Key=to_attributes(key))

    inserted, modified, removed = read_until(reader, 3)

    assert (inserted.kind, inserted.old, inserted.new) == ("INSERT", None, item)
    assert modified.kind == "MODIFY"
    assert modified.old == item
    assert modified.new == {**item, "session_state": "closing"}
    assert (removed.kind, removed.new) == ("REMOVE", None)
    assert removed.old == {**item, "session_state": "closing"}
    assert {c.key for c in (inserted, modified, removed)} == {(key["PK"], key["SK"])}
    assert all(c.customer_id == "alice" and not c.by_ttl for c in (inserted, modified, removed))


def test_changes_before_positioning_are_not_read(store: Store) -> None:
    key = customer_key("bob")
    store.client.put_item(TableName=store.table_name, Item=to_attributes(key))
    reader = StreamReader(streams_client(store), store.table_name)
    reader.position()
    assert reader.read().changes == []


def test_a_table_without_a_stream_says_so(store: Store) -> None:
    name = store.table_name + "_nostream"
    store.client.create_table(**table_definition(name))
    store.client.get_waiter("table_exists").wait(TableName=name)
    try:
        reader = StreamReader(streams_client(store), name)
        with pytest.raises(NoStream, match="no stream"):
            reader.position()
    finally:
        store.client.delete_table(TableName=name)


def test_a_child_change_names_its_customer_from_the_item() -> None:
    key = child_session_key("p1", "k1")
    change = Change("INSERT", key["PK"], key["SK"], new={**key, "customer_id": "carol"})
    assert change.customer_id == "carol"
    assert Change("REMOVE", key["PK"], key["SK"], old=dict(key)).customer_id is None


def test_a_ttl_removal_is_told_apart() -> None:
    record = {
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": {"PK": {"S": "suuid#s1"}, "SK": {"S": "c#alice"}},
            "OldImage": {"PK": {"S": "suuid#s1"}, "SK": {"S": "c#alice"}, "expires_at": {"N": "5"}},
        },
    }
    change = change_from_record(record)
    assert (
        change is not None
        and change.by_ttl
        and change.old
        == {
            "PK": "suuid#s1",
            "SK": "c#alice",
            "expires_at": 5,
        }
    )
    del record["userIdentity"]
    assert change_from_record(record).by_ttl is False  # type: ignore[union-attr]
    assert change_from_record({"eventName": "REMOVE", "dynamodb": {"Keys": {}}}) is None


# shards that close, split and expire: a stand-in for the streams API --------------------------


def _record(pk: str) -> dict[str, Any]:
    keys = {"PK": {"S": pk}, "SK": {"S": "c#alice"}}
    return {"eventName": "INSERT", "dynamodb": {"Keys": keys, "NewImage": keys}}


@dataclass
class FakeStreams:
    """Shards as lists of records; `closed` shards end once read; iterators are (shard, pos)."""

    shards: dict[str, list[dict[str, Any]]]
    closed: set[str] = field(default_factory=set)
    parents: dict[str, str] = field(default_factory=dict)
    expire_next: set[str] = field(default_factory=set)
    throttle_next: set[str] = field(default_factory=set)
    iterator_types: list[tuple[str, str]] = field(default_factory=list)

    def list_streams(self, TableName: str) -> dict[str, Any]:
        return {"Streams": [{"StreamArn": "arn:stream", "StreamLabel": "1"}]}

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        shards = []
        for shard_id in self.shards:
            entry: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {}}
            if shard_id in self.closed:
                entry["SequenceNumberRange"]["EndingSequenceNumber"] = "9"
            if shard_id in self.parents:
                entry["ParentShardId"] = self.parents[shard_id]
            shards.append(entry)
        return {"StreamDescription": {"Shards": shards}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> Any:
        self.iterator_types.append((ShardId, ShardIteratorType))
        start = len(self.shards[ShardId]) if ShardIteratorType == "LATEST" else 0
        return {"ShardIterator": f"{ShardId}:{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, position = ShardIterator.split(":")
        if shard_id in self.expire_next:
            self.expire_next.discard(shard_id)
            raise ClientError(
                {"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}},
                "GetRecords",
            )
        if shard_id in self.throttle_next:
            self.throttle_next.discard(shard_id)
            raise ClientError(
                {"Error": {"Code": "LimitExceededException", "Message": "slow down"}},
                "GetRecords",
            )
        records = self.shards[shard_id][int(position) :]
        end = len(self.shards[shard_id])
        following = None if shard_id in self.closed else f"{shard_id}:{end}"
        return {"Records": records, "NextShardIterator": following}


def test_a_closed_shard_hands_over_to_its_children_from_their_start() -> None:
    streams = FakeStreams({"shard-1": [_record("suuid#old")]})
    reader = StreamReader(streams, "t")
    assert reader.position() == 1
    assert streams.iterator_types == [("shard-1", "LATEST")]

    # A write lands in shard-1, which then closes; its children took later writes.
    streams.shards["shard-1"].append(_record("suuid#a"))
    streams.closed.add("shard-1")
    streams.shards["shard-2"] = [_record("suuid#b")]
    streams.shards["shard-3"] = [_record("suuid#c")]
    streams.parents.update({"shard-2": "shard-1", "shard-3": "shard-1"})

    first = [c.pk for c in reader.read().changes]
    second = [c.pk for c in reader.read().changes]

    assert first == ["suuid#a"]
    assert sorted(second) == ["suuid#b", "suuid#c"]
    assert ("shard-2", "TRIM_HORIZON") in streams.iterator_types
    assert ("shard-3", "TRIM_HORIZON") in streams.iterator_types
    assert reader.shard_count == 2


def test_closed_shards_found_at_positioning_are_not_read() -> None:
    streams = FakeStreams({"shard-0": [_record("suuid#x")], "shard-1": []}, closed={"shard-0"})
    reader = StreamReader(streams, "t")
    assert reader.position() == 1
    assert reader.read().changes == []


def test_an_expired_iterator_reads_on_from_latest() -> None:
    streams = FakeStreams({"shard-1": []})
    reader = StreamReader(streams, "t")
    reader.position()
    streams.expire_next.add("shard-1")
    lost = reader.read()
    assert lost.changes == [] and lost.lost_track  # what went by meanwhile is unknown: said
    streams.shards["shard-1"].append(_record("suuid#after"))
    after = reader.read()
    assert [c.pk for c in after.changes] == ["suuid#after"] and not after.lost_track
    assert streams.iterator_types.count(("shard-1", "LATEST")) == 2


def test_a_throttled_round_keeps_the_iterators_and_what_it_read() -> None:
    streams = FakeStreams({"shard-1": [], "shard-2": []})
    reader = StreamReader(streams, "t")
    reader.position()
    streams.shards["shard-1"].append(_record("suuid#a"))
    streams.shards["shard-2"].append(_record("suuid#b"))
    streams.throttle_next.add("shard-2")
    throttled = reader.read()
    assert throttled.throttled and not throttled.lost_track
    assert [c.pk for c in throttled.changes] == ["suuid#a"]
    again = reader.read()  # shard-2 from where it was: its record is not skipped
    assert [c.pk for c in again.changes] == ["suuid#b"] and not again.throttled
    assert streams.iterator_types.count(("shard-2", "LATEST")) == 1  # not repositioned


# the key poller ------------------------------------------------------------------------------


def test_the_poller_reports_watched_keys_and_a_customers_sessions(store: Store) -> None:
    poller = KeyPoller(store)
    session = parent_session_key("s1", "dora")
    watched = (session["PK"], session["SK"])
    store.client.put_item(
        TableName=store.table_name,
        Item=to_attributes({**session, "customer_id": "dora", "session_state": "active"}),
    )

    first = poller.poll([watched], ["dora"])
    # A key read for the first time is a baseline: a prompt to re-read, not a change.
    assert {(c.key, c.kind, c.baseline) for c in first} == {
        (watched, "MODIFY", True),
        (("c#dora", "c#dora"), "REMOVE", True),  # no customer item yet
    }
    assert poller.poll([watched], ["dora"]) == []

    other = parent_session_key("s2", "dora")
    store.client.put_item(
        TableName=store.table_name,
        Item=to_attributes({**other, "customer_id": "dora", "session_state": "active"}),
    )
    store.client.delete_item(TableName=store.table_name, Key=to_attributes(session))

    changes = {(c.key, c.kind) for c in poller.poll([watched], ["dora"])}
    assert changes == {(watched, "REMOVE"), ((other["PK"], other["SK"]), "INSERT")}
