"""The customer item (`c#<id>`, `c#<id>`): password hash, last login, failed-login record."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from dynamo.batch import batch_get
from dynamo.errors import ConflictError
from dynamo.keys import customer_key
from dynamo.records import Customer, record_from_item
from dynamo.sessions import get_sessions_by_customer_id, put_new_item
from dynamo.store import Store, from_attributes, to_attributes
from dynamo.timefmt import to_epoch, to_iso


def register_customer(store: Store, customer_id: str, password_hash: str) -> Customer:
    """Create the customer item with a password hash; only ever a new customer.

    An existing customer item (with or without a password: an SSO-only customer has none)
    is a conflict, and so is a customer id that already has sessions in a table written by
    others (no customer item): registering must never take over someone's account.
    """
    if get_sessions_by_customer_id(store, customer_id, first=1).records:
        raise ConflictError(f"customer {customer_id} exists already")
    item = {
        **customer_key(customer_id),
        "customer_id": customer_id,
        "password_hash": password_hash,
        "created_at": to_iso(store.clock.now()),
    }
    put_new_item(store, item, f"customer {customer_id}")
    record = record_from_item(item)
    assert isinstance(record, Customer)
    return record


def get_customer(store: Store, customer_id: str) -> Customer | None:
    item = store.client.get_item(
        TableName=store.table_name,
        Key=to_attributes(customer_key(customer_id)),
        ConsistentRead=True,
    ).get("Item")
    record = record_from_item(from_attributes(item)) if item else None
    return record if isinstance(record, Customer) else None


def get_customers(store: Store, customer_ids: Sequence[str]) -> list[Customer | None]:
    """Customer items by id (BatchGetItem), in order; None where there is no item."""
    items = batch_get(store, [customer_key(c) for c in customer_ids])
    records = [record_from_item(item) if item else None for item in items]
    return [r if isinstance(r, Customer) else None for r in records]


def record_login(store: Store, customer_id: str, at: datetime) -> None:
    """Write `last_login_time` on the customer item (creating it for an SSO-only customer),
    and forget failed logins in the same write."""
    store.client.update_item(
        TableName=store.table_name,
        Key=to_attributes(customer_key(customer_id)),
        UpdateExpression=(
            "SET last_login_time = :t, customer_id = :c, created_at = if_not_exists(created_at, :t)"
            " REMOVE failed_logins, failed_since, locked_until"
        ),
        ExpressionAttributeValues=to_attributes({":t": to_iso(at), ":c": customer_id}),
    )


def record_failed_login(store: Store, customer_id: str) -> Customer | None:
    """Count a failed password login on the customer item; lock it past the threshold.

    The count lives on the item, so it holds across server processes. Two conditional
    UpdateItems, no read-modify-write: a failure within the window adds one; a failure after
    it starts a new window. None when there is no such customer.
    """
    now = store.clock.now()
    key = to_attributes(customer_key(customer_id))
    window_floor = to_epoch(now - store.lockout.window)
    try:
        response = store.client.update_item(
            TableName=store.table_name,
            Key=key,
            UpdateExpression="ADD failed_logins :one",
            ConditionExpression="attribute_exists(PK) AND failed_since > :floor",
            ExpressionAttributeValues=to_attributes({":one": 1, ":floor": window_floor}),
            ReturnValues="ALL_NEW",
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        try:
            response = store.client.update_item(
                TableName=store.table_name,
                Key=key,
                UpdateExpression="SET failed_logins = :one, failed_since = :now",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=to_attributes({":one": 1, ":now": to_epoch(now)}),
                ReturnValues="ALL_NEW",
            )
        except store.client.exceptions.ConditionalCheckFailedException:
            return None
    record = record_from_item(from_attributes(response.get("Attributes", {})))
    if not isinstance(record, Customer):
        return None
    lock = store.lockout.lock_for(record.failed_logins)
    if not lock:
        return record
    locked_until = now + lock
    store.client.update_item(
        TableName=store.table_name,
        Key=key,
        UpdateExpression="SET locked_until = :until",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeValues=to_attributes({":until": to_epoch(locked_until)}),
    )
    return dataclasses.replace(record, locked_until=locked_until)


def is_locked(customer: Customer, now: datetime) -> bool:
    return customer.locked_until is not None and customer.locked_until > now
