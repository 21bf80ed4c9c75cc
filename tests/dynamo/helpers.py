"""Small tools the storage tests share: raw reads, request bodies, botocore event hooks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from dynamo.customers import record_login
from dynamo.records import Item, ParentSession
from dynamo.sessions import create_session
from dynamo.store import Store, from_attributes, to_attributes
from tests.support.calls import CallCounter


def sent(calls: CallCounter, operation: str) -> list[dict[str, Any]]:
    """The API parameters (DynamoDB JSON) of every `operation` call the counter saw."""
    return [
        json.loads(params["body"]) if "body" in params else params
        for params in calls.params_of(operation)
    ]


def raw_item(store: Store, key: dict[str, str]) -> Item | None:
    """The item as the table holds it, expired or not (a strongly consistent GetItem)."""
    item = store.client.get_item(
        TableName=store.table_name, Key=to_attributes(key), ConsistentRead=True
    ).get("Item")
    return from_attributes(item) if item else None


def raw_partition(store: Store, pk: str) -> list[Item]:
    """Every item of a base-table partition, in SK order."""
    response = store.client.query(
        TableName=store.table_name,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return [from_attributes(i) for i in response["Items"]]


def login(store: Store, customer_id: str, **kwargs: Any) -> ParentSession:
    """What `Mutation.login` does in storage: a new session and the customer's last login."""
    session = create_session(store, customer_id, token_hash=f"hash-{customer_id}", **kwargs)
    assert session.last_login_time is not None
    record_login(store, customer_id, session.last_login_time)
    return session


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@contextmanager
def hooked(client: Any, event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """Register a botocore event handler for the duration of a `with` block."""
    client.meta.events.register(event, handler)
    try:
        yield
    finally:
        client.meta.events.unregister(event, handler)


class InjectedFailure(Exception):
    """Raised by a test's event handler to simulate a crash or a lost connection."""
