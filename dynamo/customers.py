"""The customer item (`c#<id>`, `c#<id>`): password hash, last login (the failed-login
record on it is `dynamo.lockout`'s)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dynamo.batch import batch_get
from dynamo.customer_item import get_customer as get_customer
from dynamo.errors import ConflictError
from dynamo.keys import customer_key
from dynamo.lockout import Guard, LoginAttempt, settle_attempt
from dynamo.records import Customer, record_from_item
from dynamo.sessions import put_new_item
from dynamo.store import Store, from_attributes, to_attributes
from dynamo.timefmt import to_iso


def register_customer(store: Store, customer_id: str, password_hash: str) -> Customer:
    """Create the customer item with a password hash; only ever a new customer.

    One conditional PutItem decides: an existing customer item (with or without a password:
    an SSO customer has none) is a conflict. Every login writes the customer item before its
    session (and `sessiongraph load` writes one for each customer it loads), so an id that
    has sessions has a customer item: registering can never take over someone's account.
    Never decided from the GSI, which may not list a session written a moment ago.
    """
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


def ensure_customer(store: Store, customer_id: str) -> Customer:
    """Customer first: make sure the customer item exists before a session is written for
    it (a passwordless SSO login of a customer never registered creates it, without a
    password). One UpdateItem that only fills what is missing, strongly consistent: it
    returns the item, with its `session_generation`, as the session must record it."""
    response = store.client.update_item(
        TableName=store.table_name,
        Key=to_attributes(customer_key(customer_id)),
        UpdateExpression=(
            "SET customer_id = if_not_exists(customer_id, :c), "
            "created_at = if_not_exists(created_at, :t)"
        ),
        ExpressionAttributeValues=to_attributes(
            {":c": customer_id, ":t": to_iso(store.clock.now())}
        ),
        ReturnValues="ALL_NEW",
    )
    record = record_from_item(from_attributes(response["Attributes"]))
    assert isinstance(record, Customer)
    return record


def create_customer_if_missing(store: Store, customer_id: str) -> bool:
    """A customer item with no password for an id that has none yet (conditional PutItem);
    True when it was created. For tables filled by others: their sessions' customers."""
    item = {
        **customer_key(customer_id),
        "customer_id": customer_id,
        "created_at": to_iso(store.clock.now()),
    }
    try:
        put_new_item(store, item, f"customer {customer_id}")
    except ConflictError:
        return False
    return True


def get_customers(store: Store, customer_ids: Sequence[str]) -> list[Customer | None]:
    """Customer items by id (BatchGetItem), in order; None where there is no item."""
    items = batch_get(store, [customer_key(c) for c in customer_ids])
    records = [record_from_item(item) if item else None for item in items]
    return [r if isinstance(r, Customer) else None for r in records]


def record_login(
    store: Store,
    customer_id: str,
    at: datetime,
    *,
    attempt: LoginAttempt | None = None,
    generation: int | None = None,
    verified_hash: str | None = None,
    new_hash: str | None = None,
) -> None:
    """A login's last write: `last_login_time` on the customer item, in one UpdateItem that
    also takes back the login's reserved password `attempt` (see `dynamo.lockout`).

    With `generation` (the one the session was created under), the write applies only if
    the customer's sessions were not revoked meanwhile, and, with `verified_hash`, if the
    password is still the one checked; else `CustomerChangedError` and nothing is written.
    `new_hash` replaces a hash made with older argon2 parameters. Without `generation` it
    is a plain upsert (tools and tests).
    """
    sets = [
        "last_login_time = :t",
        "customer_id = :c",
        "created_at = if_not_exists(created_at, :t)",
    ]
    values: dict[str, object] = {":t": to_iso(at), ":c": customer_id}
    if new_hash is not None:
        sets.append("password_hash = :new_hash")
        values[":new_hash"] = new_hash
    guard = None if generation is None else Guard(generation, verified_hash)
    settle_attempt(store, customer_id, attempt, sets=sets, values=values, guard=guard)


def release_attempt(store: Store, customer_id: str, attempt: LoginAttempt) -> None:
    """Take back a password attempt that succeeded outside a login (changePassword)."""
    settle_attempt(store, customer_id, attempt)
