"""One customer item read on its own, strongly consistently, and decoded.

`customers.get_customer` is this read; the failed-login counting (`dynamo.lockout`) falls
back to it when an engine does not hand back the item a conditional write failed on.
It lives apart from both because `customers` builds on `lockout`.
"""

from __future__ import annotations

from typing import Any

from dynamo.keys import customer_key
from dynamo.records import Customer, record_from_item
from dynamo.store import Store, from_attributes, to_attributes


def customer_from_attributes(item: dict[str, Any] | None) -> Customer | None:
    """A customer item as DynamoDB sends it (None, or not a customer item: None)."""
    record = record_from_item(from_attributes(item)) if item else None
    return record if isinstance(record, Customer) else None


def get_customer(store: Store, customer_id: str) -> Customer | None:
    item = store.client.get_item(
        TableName=store.table_name,
        Key=to_attributes(customer_key(customer_id)),
        ConsistentRead=True,
    ).get("Item")
    return customer_from_attributes(item)
