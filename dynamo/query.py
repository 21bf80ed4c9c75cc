"""Query pages that skip expired items, and full reads of a partition."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dynamo.cursors import encode_cursor
from dynamo.errors import InvalidPageSizeError
from dynamo.limits import MAX_PAGE_SIZE, MAX_QUERY_ROUNDS, QUERY_READ_AHEAD
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
    resume_cursor: str | None = None
    """Where the next page starts when no record marks it: a page cut short by
    `MAX_QUERY_ROUNDS` before it found any live record (see `query_page`)."""

    @property
    def end_cursor(self) -> str | None:
        if self.resume_cursor is not None:
            return self.resume_cursor
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
    """Up to `first` live records after the key `after`, and whether more follow.

    It reads until it holds `first + 1` live records (the extra one says a next page exists)
    or the query ends, skipping expired items. Each round trip reads at least
    `QUERY_READ_AHEAD` items, so expired items not yet deleted by TTL do not cost a Query
    each; records found past `first` are dropped. Cursors are the records' own keys, so the
    next page starts right after the last record returned: nothing is skipped or repeated,
    and `has_next_page` is exact.

    At most `MAX_QUERY_ROUNDS` round trips are made. A page cut short by that bound has
    `has_next_page` true (without knowing that a live record follows) and holds the live
    records found so far; the next page resumes after the last of them. When it found none,
    its `end_cursor` is the key where the reads stopped (`resume_cursor`), so paging still
    moves on rather than skip what lies beyond: an empty page that says more may follow.
    """
    check_page_size(first)
    now = store.clock.now()
    wanted = first + 1
    found: list[tuple[T, Key]] = []
    start_key = after
    cut_short = True
    for _ in range(MAX_QUERY_ROUNDS):
        args = query.arguments(store)
        args["Limit"] = max(wanted - len(found), QUERY_READ_AHEAD)
        if start_key is not None:
            args["ExclusiveStartKey"] = to_attributes(start_key)
        response = store.client.query(**args)
        for raw in response.get("Items", []):
            item = from_attributes(raw)
            record = None if is_expired(item, now) else convert(item)
            if record is not None:
                found.append((record, {"PK": item["PK"], "SK": item["SK"]}))
        last = response.get("LastEvaluatedKey")
        if not last or len(found) >= wanted:
            cut_short = False
            break
        start_key = {k: str(v) for k, v in from_attributes(last).items() if k in ("PK", "SK")}
    page = found[:first]
    return Page(
        records=[record for record, _ in page],
        cursors=[encode_cursor(key) for _, key in page],
        has_next_page=cut_short or len(found) > first,
        resume_cursor=encode_cursor(start_key) if cut_short and not page and start_key else None,
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
