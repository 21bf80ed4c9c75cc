"""The table's changes as typed records: from its DynamoDB Stream, or by polling watched keys.

Every server process reads the stream itself (no new infrastructure), so a logout written
through one process reaches subscribers on every other. `StreamReader` follows each shard
of the stream: open shards from LATEST when it is (re)positioned, shards that appear later
(the children of a split or of a closed shard) from TRIM_HORIZON, so nothing written after
positioning is missed. An engine without streams (dynalite; Alternator's differ) gets
`KeyPoller` instead: it reads the watched keys in BatchGetItem calls of at most 100 keys and
the watched customers' sessions with one GSI Query each, and reports what changed.

Nothing here knows of GraphQL; all calls are blocking (run them in the thread pool).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from dynamo.batch import batch_get
from dynamo.keys import SESSION_PREFIX, customer_key, customer_key_part, parse_key
from dynamo.query import KeyQuery, query_all
from dynamo.records import Item
from dynamo.store import Store, from_attributes

DynamoDBStreamsClient = Any
"""A boto3 `dynamodbstreams` client (no type stubs are installed for it)."""

log = logging.getLogger(__name__)

ChangeKind = Literal["INSERT", "MODIFY", "REMOVE"]
Key = tuple[str, str]
"""(PK, SK)."""

GET_RECORDS_LIMIT = 1000
THROTTLED = frozenset(
    {
        "LimitExceededException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)
LOST_ITERATOR = frozenset({"ExpiredIteratorException", "TrimmedDataAccessException"})
SHARD_REFRESH_SECONDS = 30.0
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


@dataclass(frozen=True, slots=True)
class Change:
    """One item written or removed: its key and its images before and after."""

    kind: ChangeKind
    pk: str
    sk: str
    old: Item | None = None
    new: Item | None = None
    by_ttl: bool = False
    """Removed by DynamoDB's TTL sweep (the stream record's service identity)."""
    baseline: bool = False
    """Not a change: the first read of a key the poller just started to watch. It prompts
    the watcher to read again, so a change between its own read and this one is not lost."""

    @property
    def key(self) -> Key:
        return (self.pk, self.sk)

    @property
    def image(self) -> Item:
        """The newest image there is (the old one for a removal)."""
        return self.new if self.new is not None else (self.old or {})

    @property
    def customer_id(self) -> str | None:
        """Whose item this is: from the key for a parent session and a customer item, from
        the item's `customer_id` for a child session (None if a foreign child has none)."""
        parsed = parse_key(self.pk, self.sk)
        if parsed is None:
            return None
        if parsed.customer_id is not None:
            return parsed.customer_id
        value = self.image.get("customer_id")
        return value if isinstance(value, str) and value else None


def change_from_record(record: dict[str, Any]) -> Change | None:
    """A stream record (GetRecords' `Records[]`) as a `Change`; None for anything else."""
    kind = record.get("eventName")
    body = record.get("dynamodb") or {}
    keys = from_attributes(body.get("Keys") or {})
    pk, sk = keys.get("PK"), keys.get("SK")
    if kind not in ("INSERT", "MODIFY", "REMOVE") or not isinstance(pk, str):
        return None
    if not isinstance(sk, str):
        return None
    identity = record.get("userIdentity") or {}
    return Change(
        kind=kind,
        pk=pk,
        sk=sk,
        old=from_attributes(body["OldImage"]) if "OldImage" in body else None,
        new=from_attributes(body["NewImage"]) if "NewImage" in body else None,
        by_ttl=identity.get("type") == "Service" and identity.get("principalId") == TTL_PRINCIPAL,
    )


@dataclass(frozen=True, slots=True)
class StreamRead:
    """One round of GetRecords: the changes, and what the round could not do."""

    changes: list[Change] = field(default_factory=list)
    lost_track: bool = False
    """A shard's iterator had expired or its records were trimmed: it reads on from LATEST,
    and whatever was written in between is unknown (every watcher must read again)."""
    throttled: bool = False
    """The stream refused a GetRecords (too many per second): the shards not read this round
    keep their iterators, to be read again after a pause; nothing is lost."""


class NoStream(Exception):
    """The engine or the table has no stream this process can read."""


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None


@dataclass
class StreamReader:
    """Follows every shard of one table's stream. Not thread-safe: one caller at a time."""

    streams: DynamoDBStreamsClient
    table_name: str
    refresh_seconds: float = SHARD_REFRESH_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    stream_arn: str | None = None
    _shards: dict[str, _Shard] = field(default_factory=dict)
    _known: set[str] = field(default_factory=set)
    _refreshed_at: float = 0.0

    def position(self) -> int:
        """Find the stream and start every open shard at LATEST (again, if called again:
        iterators left unused expire after 15 minutes). Returns the number of shards
        followed; raises `NoStream` when there is no readable stream."""
        try:
            self.stream_arn = self._find_stream()
            self._shards.clear()
            self._known.clear()
            for shard in self._describe_shards():
                self._known.add(shard["ShardId"])
                if "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {}):
                    self._follow(shard["ShardId"], "LATEST")
        except (ClientError, BotoCoreError) as exc:
            raise NoStream(f"the stream of {self.table_name} cannot be read: {exc}") from exc
        self._refreshed_at = self.monotonic()
        return len(self._shards)

    def read(self) -> StreamRead:
        """One GetRecords per followed shard; the changes found, in shard order. Throttled,
        the round stops there and the shards left keep their iterators."""
        changes: list[Change] = []
        closed = lost = False
        for shard in list(self._shards.values()):
            if shard.iterator is None:
                continue
            try:
                answer = self.streams.get_records(
                    ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in THROTTLED:
                    return StreamRead(changes, lost, throttled=True)
                if code in LOST_ITERATOR:
                    log.warning("stream shard %s: %s, reading on from LATEST", shard.shard_id, code)
                    self._follow(shard.shard_id, "LATEST")
                    lost = True
                    continue
                raise
            for record in answer.get("Records", []):
                change = change_from_record(dict(record))
                if change is not None:
                    changes.append(change)
            shard.iterator = answer.get("NextShardIterator")
            if shard.iterator is None:  # the shard is closed: its children take over
                del self._shards[shard.shard_id]
                closed = True
        if closed or self.monotonic() - self._refreshed_at >= self.refresh_seconds:
            self._refresh()
        return StreamRead(changes, lost)

    @property
    def shard_count(self) -> int:
        return len(self._shards)

    def _find_stream(self) -> str:
        """The table's newest stream (ListStreams), which must be enabled."""
        found: list[tuple[str, str]] = []
        start: str | None = None
        while True:
            extra = {"ExclusiveStartStreamArn": start} if start else {}
            answer = self.streams.list_streams(TableName=self.table_name, **extra)
            found.extend((s.get("StreamLabel", ""), s["StreamArn"]) for s in answer["Streams"])
            start = answer.get("LastEvaluatedStreamArn")
            if not start:
                break
        if not found:
            raise NoStream(f"table {self.table_name} has no stream enabled")
        arn = max(found)[1]
        status = self.streams.describe_stream(StreamArn=arn, Limit=1)["StreamDescription"].get(
            "StreamStatus", "ENABLED"
        )
        if status not in ("ENABLED", "ENABLING"):
            raise NoStream(f"the stream of table {self.table_name} is {status}")
        return str(arn)

    def _refresh(self) -> None:
        """Follow shards that appeared since (split or rolled over) from their start."""
        self._refreshed_at = self.monotonic()
        for shard in self._describe_shards():
            if shard["ShardId"] not in self._known:
                self._known.add(shard["ShardId"])
                self._follow(shard["ShardId"], "TRIM_HORIZON")

    def _follow(self, shard_id: str, start: Literal["LATEST", "TRIM_HORIZON"]) -> None:
        assert self.stream_arn is not None
        iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=start
        ).get("ShardIterator")
        self._shards[shard_id] = _Shard(shard_id, iterator)

    def _describe_shards(self) -> list[dict[str, Any]]:
        assert self.stream_arn is not None
        shards: list[dict[str, Any]] = []
        start: str | None = None
        while True:
            extra = {"ExclusiveStartShardId": start} if start else {}
            description = self.streams.describe_stream(StreamArn=self.stream_arn, **extra)[
                "StreamDescription"
            ]
            shards.extend(dict(s) for s in description.get("Shards", []))
            start = description.get("LastEvaluatedShardId")
            if not start:
                return shards


@dataclass
class KeyPoller:
    """For an engine without streams: what changed in the watched keys and in the watched
    customers' parent sessions since the last `poll`. Child sessions that start are not
    seen (they are not in the customer's index partition); watched keys are."""

    store: Store
    _items: dict[Key, Item | None] = field(default_factory=dict)
    _sessions: dict[str, dict[Key, Item]] = field(default_factory=dict)

    def poll(self, keys: Collection[Key], customers: Collection[str]) -> list[Change]:
        changes: list[Change] = []
        watched = set(keys) | {key_tuple(customer_key(c)) for c in customers}
        ordered = sorted(watched)
        items = batch_get(self.store, [{"PK": pk, "SK": sk} for pk, sk in ordered])
        seen: dict[Key, Item | None] = {}
        for key, item in zip(ordered, items, strict=True):
            seen[key] = item
            if key not in self._items:
                changes.append(_baseline(key, item))
            else:
                changes.extend(_diff(key, self._items[key], item))
        self._items = seen
        sessions: dict[str, dict[Key, Item]] = {}
        for customer_id in sorted(set(customers)):
            current = self._customer_sessions(customer_id)
            sessions[customer_id] = current
            before = self._sessions.get(customer_id)
            if before is None:
                continue  # the first read of a customer is the baseline
            for key in sorted(before.keys() | current.keys()):
                if key in watched:
                    continue  # reported above, from a consistent read
                changes.extend(_diff(key, before.get(key), current.get(key)))
        self._sessions = sessions
        return changes

    def _customer_sessions(self, customer_id: str) -> dict[Key, Item]:
        query = KeyQuery(
            "SK = :sk AND begins_with(PK, :s)",
            {":sk": customer_key_part(customer_id), ":s": SESSION_PREFIX},
            on_index=True,
        )
        return {(i["PK"], i["SK"]): i for i in query_all(self.store, query)}


def key_tuple(key: dict[str, str]) -> Key:
    return (key["PK"], key["SK"])


def _baseline(key: Key, item: Item | None) -> Change:
    kind: ChangeKind = "MODIFY" if item is not None else "REMOVE"
    return Change(kind, key[0], key[1], old=None, new=item, baseline=True)


def _diff(key: Key, before: Item | None, after: Item | None) -> Iterable[Change]:
    if before == after:
        return ()
    if before is None:
        return (Change("INSERT", key[0], key[1], new=after),)
    if after is None:
        return (Change("REMOVE", key[0], key[1], old=before),)
    return (Change("MODIFY", key[0], key[1], old=before, new=after),)
