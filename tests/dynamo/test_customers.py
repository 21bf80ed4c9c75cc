"""The customer item: registration, the last login, and reading customers in a batch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dynamo.customers import (
    ensure_customer,
    get_customer,
    get_customers,
    record_login,
    register_customer,
)
from dynamo.errors import ConflictError
from dynamo.keys import customer_key
from tests.dynamo.helpers import raw_item, sent


def test_register_then_read_a_customer(store: Any, clock: Any) -> None:
    created = register_customer(store, "alice", "hash-1")
    assert (created.customer_id, created.password_hash) == ("alice", "hash-1")
    assert created.created_at == clock.now()
    assert created.last_login_time is None
    assert get_customer(store, "alice") == created
    assert get_customer(store, "bob") is None


def test_registering_twice_is_a_conflict_that_keeps_the_password(store: Any) -> None:
    register_customer(store, "alice", "hash-1")
    with pytest.raises(ConflictError, match="alice"):
        register_customer(store, "alice", "hash-2")
    customer = get_customer(store, "alice")
    assert customer is not None and customer.password_hash == "hash-1"


def test_registering_never_takes_over_an_sso_only_customer(store: Any, clock: Any) -> None:
    # A passwordless (SSO) login wrote the customer item without a password: registering
    # the same id must not give a stranger a password for that account.
    record_login(store, "alice", clock.now())
    with pytest.raises(ConflictError, match="alice"):
        register_customer(store, "alice", "attacker-hash")
    customer = get_customer(store, "alice")
    assert customer is not None and customer.password_hash is None


def test_registering_is_one_conditional_put_and_never_reads_the_gsi(store: Any, calls: Any) -> None:
    calls.reset()
    register_customer(store, "alice", "hash-1")
    assert calls.counts == {"PutItem": 1}
    (put,) = sent(calls, "PutItem")
    assert put["ConditionExpression"] == "attribute_not_exists(PK)"


def test_ensure_customer_creates_a_passwordless_customer_once_and_keeps_an_existing_one(
    store: Any, clock: Any, calls: Any
) -> None:
    calls.reset()
    created = ensure_customer(store, "carol")
    assert calls.counts == {"UpdateItem": 1}
    assert (created.customer_id, created.password_hash, created.created_at) == (
        "carol",
        None,
        clock.now(),
    )
    assert created.session_generation == 0
    clock.advance(timedelta(hours=1))
    assert ensure_customer(store, "carol") == created
    with pytest.raises(ConflictError, match="carol"):
        register_customer(store, "carol", "attacker-hash")
    register_customer(store, "alice", "hash-1")
    alice = ensure_customer(store, "alice")
    assert alice.password_hash == "hash-1"


def test_record_login_moves_the_last_login_and_keeps_created_at(store: Any, clock: Any) -> None:
    register_customer(store, "alice", "hash-1")
    created = clock.now()
    clock.advance(timedelta(hours=2))
    record_login(store, "alice", clock.now())
    customer = get_customer(store, "alice")
    assert customer is not None
    assert (customer.created_at, customer.last_login_time) == (created, clock.now())
    assert customer.password_hash == "hash-1"
    item = raw_item(store, customer_key("alice"))
    assert item is not None and "expires_at" not in item


def test_get_customers_reads_in_one_batch_in_order(store: Any, calls: Any) -> None:
    for name in ("alice", "bob"):
        register_customer(store, name, f"hash-{name}")
    calls.reset()
    found = get_customers(store, ["bob", "nobody", "alice", "bob"])
    assert calls.counts == {"BatchGetItem": 1}
    assert [c.customer_id if c else None for c in found] == ["bob", None, "alice", "bob"]
