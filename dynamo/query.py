"""Query pages that skip expired items, and full reads of a partition."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dynamo.cursors import encode_cursor
from dynamo.errors import InvalidPageSizeError
from dynamo.limits import MAX_PAGE_SIZE
from dynamo.records import Item, is_expired
from dynamo.store import GSI_NAME, Store, from_attributes, to_attributes

T = TypeVar("T")
Key = dict[str, str]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection: records with their cursors, and whether more follow."""

    records: list[T]
    cursors: list[str]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


@dataclass(frozen=True, slots=True)
class KeyQuery:
    """A Query's key condition, on the table or (`on_index`) on `GSI1_inverse`."""

    condition: str
    values: dict[str, Any]
    on_index: bool = False
    newest_first: bool = False

    def arguments(self, store: Store) -> dict[str, Any]:
        args: dict[str, Any] = {
            "TableName": store.table_name,
            "KeyConditionExpression": self.condition,
            "ExpressionAttributeValues": to_attributes(self.values),
            "ScanIndexForward": not self.newest_first,
        }
        if self.on_index:
            args["IndexName"] = GSI_NAME
        else:
            args["ConsistentRead"] = True  # GSIs cannot be read consistently
        return args


def check_page_size(first: int) -> int:
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidPageSizeError(f"first must be between 0 and {MAX_PAGE_SIZE}, got {first}")
    return first


def query_page(
    store: Store,
    query: KeyQuery,
    convert: Callable[[Item], T | None],
    *,
    first: int,
    after: Key | None = None,
) -> Page[T]:
    """Up to `first` live records after the key `after`; reads one extra to know if more follow."""
    check_page_size(first)
    now = store.clock.now()
    wanted = first + 1
    found: list[tuple[T, Key]] = []
    start_key = after
    while len(found) < wanted:
        args = query.arguments(store)
        args["Limit"] = wanted - len(found)
        if start_key is not None:
            args["ExclusiveStartKey"] = to_attributes(start_key)
        response = store.client.query(**args)
        for raw in response.get("Items", []):
            item = from_attributes(raw)
            record = None if is_expired(item, now) else convert(item)
            if record is not None:
                found.append((record, {"PK": item["PK"], "SK": item["SK"]}))
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        start_key = {k: str(v) for k, v in from_attributes(last).items() if k in ("PK", "SK")}
    page = found[:first]
    return Page(
        records=[record for record, _ in page],
        cursors=[encode_cursor(key) for _, key in page],
        has_next_page=len(found) > first,
    )


def query_all(store: Store, query: KeyQuery, *, projection: str | None = None) -> Iterator[Item]:
    """Every item of a Query, expired ones included (callers that clean up want those too)."""
    args = query.arguments(store)
    if projection:
        args["ProjectionExpression"] = projection
    while True:
        response = store.client.query(**args)
        for raw in response.get("Items", []):
            yield from_attributes(raw)
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        args["ExclusiveStartKey"] = last
