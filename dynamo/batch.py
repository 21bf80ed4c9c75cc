"""BatchGetItem and BatchWriteItem within DynamoDB's limits, retrying what comes back unprocessed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dynamo.errors import UnprocessedError
from dynamo.limits import (
    BATCH_GET_PAGE_LIMIT,
    BATCH_RETRY_ATTEMPTS,
    BATCH_RETRY_BASE_DELAY,
    BATCH_WRITE_PAGE_LIMIT,
)
from dynamo.records import Item
from dynamo.store import Store, from_attributes, to_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

Key = dict[str, str]
Sleep = Callable[[float], None]


def _key_id(key: Key) -> tuple[str, str]:
    return key["PK"], key["SK"]


def _backoff(attempt: int, sleep: Sleep) -> None:
    delay = BATCH_RETRY_BASE_DELAY * (2**attempt)
    sleep(delay / 2 + random.random() * delay / 2)  # noqa: S311 - jitter, not a secret


def batch_get(
    store: Store, keys: Sequence[Key], *, consistent: bool = True, sleep: Sleep = time.sleep
) -> list[Item | None]:
    """Read items by key: one result per key, in key order, None for a missing key.

    Duplicate keys are read once; calls carry at most `BATCH_GET_PAGE_LIMIT` keys.
    """
    unique: dict[tuple[str, str], Key] = {}
    for key in keys:
        unique.setdefault(_key_id(key), key)
    found: dict[tuple[str, str], Item] = {}
    pending = list(unique.values())
    for start in range(0, len(pending), BATCH_GET_PAGE_LIMIT):
        page = pending[start : start + BATCH_GET_PAGE_LIMIT]
        for item in _batch_get_page(store, page, consistent, sleep):
            found[(item["PK"], item["SK"])] = item
    return [found.get(_key_id(key)) for key in keys]


def _batch_get_page(store: Store, keys: list[Key], consistent: bool, sleep: Sleep) -> list[Item]:
    request: dict[str, Any] = {
        store.table_name: {"Keys": [to_attributes(k) for k in keys], "ConsistentRead": consistent}
    }
    items: list[Item] = []
    for attempt in range(BATCH_RETRY_ATTEMPTS + 1):
        response = store.client.batch_get_item(RequestItems=request)
        items.extend(
            from_attributes(i) for i in response.get("Responses", {}).get(store.table_name, [])
        )
        request = dict(response.get("UnprocessedKeys") or {})
        if not request:
            return items
        if attempt < BATCH_RETRY_ATTEMPTS:
            _backoff(attempt, sleep)
    raise UnprocessedError(
        f"BatchGetItem left keys unprocessed after {BATCH_RETRY_ATTEMPTS} retries"
    )


def batch_delete(store: Store, keys: Sequence[Key], *, sleep: Sleep = time.sleep) -> None:
    """Delete items by key, `BATCH_WRITE_PAGE_LIMIT` a call; deleting a missing item is fine."""
    unique = list({_key_id(k): k for k in keys}.values())
    _batch_write(store, [{"DeleteRequest": {"Key": to_attributes(k)}} for k in unique], sleep=sleep)


def batch_put(store: Store, items: Sequence[dict[str, Any]], *, sleep: Sleep = time.sleep) -> None:
    """Write items given in DynamoDB JSON (as a NoSQL Workbench export holds them)."""
    _batch_write(store, [{"PutRequest": {"Item": item}} for item in items], sleep=sleep)


def _batch_write(store: Store, requests: list[WriteRequestTypeDef], *, sleep: Sleep) -> None:
    for start in range(0, len(requests), BATCH_WRITE_PAGE_LIMIT):
        pending: dict[str, Any] = {
            store.table_name: requests[start : start + BATCH_WRITE_PAGE_LIMIT]
        }
        for attempt in range(BATCH_RETRY_ATTEMPTS + 1):
            response = store.client.batch_write_item(RequestItems=pending)
            pending = dict(response.get("UnprocessedItems") or {})
            if not pending:
                break
            if attempt < BATCH_RETRY_ATTEMPTS:
                _backoff(attempt, sleep)
        else:
            raise UnprocessedError(
                f"BatchWriteItem left items unprocessed after {BATCH_RETRY_ATTEMPTS} retries"
            )
