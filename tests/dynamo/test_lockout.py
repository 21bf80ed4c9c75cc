"""The failed-login record on the customer item (`dynamo.lockout`): each attempt reserved by
one conditional UpdateItem, at most the threshold counted per window, across any number of
concurrent requests; a success takes back only its own reservation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dynamo.customers import get_customer, record_login, register_customer, release_attempt
from dynamo.keys import customer_key
from dynamo.lockout import CustomerChangedError, reserve_login_attempt
from dynamo.store import LockoutPolicy, Store, to_attributes
from tests.dynamo.helpers import raw_item, sent
from tests.support.race import Background, paused


@pytest.fixture
def alice(store: Store) -> Store:
    register_customer(store, "alice", "hash-1")
    return store


def _state(store: Store) -> tuple[int, int, bool]:
    customer = get_customer(store, "alice")
    assert customer is not None
    locked = customer.locked_until is not None and customer.locked_until > store.clock.now()
    return customer.failed_logins, customer.login_attempts, locked


def test_an_attempt_is_one_update_that_returns_the_hash_and_the_generation(
    alice: Store, calls: Any
) -> None:
    calls.reset()
    attempt = reserve_login_attempt(alice, "alice")
    assert calls.counts == {"UpdateItem": 1}
    assert attempt.outcome == "granted"
    assert attempt.customer is not None
    assert (attempt.customer.password_hash, attempt.customer.session_generation) == ("hash-1", 0)
    assert (attempt.serial, attempt.window) == (1, 1)
    (update,) = sent(calls, "UpdateItem")
    assert update["ReturnValues"] == "ALL_NEW"
    assert "attribute_exists(PK)" in update["ConditionExpression"]
    assert _state(alice) == (1, 1, False)


def test_an_unknown_customer_is_told_apart_and_leaves_no_item(store: Store, calls: Any) -> None:
    calls.reset()
    assert reserve_login_attempt(store, "nobody").outcome == "unknown"
    assert calls.of("UpdateItem") == 1
    assert raw_item(store, customer_key("nobody")) is None


def test_the_threshold_attempt_sets_the_lock_and_later_ones_are_not_counted(
    alice: Store, clock: Any, calls: Any
) -> None:
    for _ in range(4):
        assert reserve_login_attempt(alice, "alice").outcome == "granted"
    assert _state(alice) == (4, 4, False)
    fifth = reserve_login_attempt(alice, "alice")
    assert fifth.outcome == "granted"
    assert fifth.customer is not None
    assert fifth.customer.locked_until == clock.now() + timedelta(minutes=1)
    calls.reset()
    assert reserve_login_attempt(alice, "alice").outcome == "locked"
    assert calls.counts == {"UpdateItem": 1}  # the write refused; the item came back with it
    assert _state(alice) == (5, 5, True)
    # Once the lock ran out, the next failure in the window doubles it.
    clock.advance(timedelta(minutes=1, seconds=1))
    sixth = reserve_login_attempt(alice, "alice")
    assert sixth.customer is not None
    assert sixth.customer.locked_until == clock.now() + timedelta(minutes=2)
    assert _state(alice) == (6, 6, True)


def test_an_attempt_after_the_window_opens_a_new_one(alice: Store, clock: Any) -> None:
    for _ in range(3):
        reserve_login_attempt(alice, "alice")
    clock.advance(timedelta(minutes=15, seconds=1))
    attempt = reserve_login_attempt(alice, "alice")
    assert (attempt.serial, attempt.window) == (4, 4)
    assert _state(alice) == (1, 4, False)


def test_concurrent_attempts_reach_the_threshold_and_no_further(alice: Store) -> None:
    """Four attempts in; the fifth is held at its write; a sixth takes the fifth place and
    locks; the held one then finds the lock and is refused, uncounted."""
    for _ in range(4):
        reserve_login_attempt(alice, "alice")
    with paused(alice.client, "UpdateItem") as pause:
        held = Background(lambda: reserve_login_attempt(alice, "alice"))
        pause.wait_reached()
        assert reserve_login_attempt(alice, "alice").outcome == "granted"
        pause.release()
        assert held.result().outcome == "locked"
    assert _state(alice) == (5, 5, True)


def test_concurrent_attempts_below_the_threshold_are_all_counted(alice: Store) -> None:
    """The held attempt's first write assumes no window yet; two others open one meanwhile;
    the held one retries from the item the engine sent back, and counts too."""
    with paused(alice.client, "UpdateItem") as pause:
        held = Background(lambda: reserve_login_attempt(alice, "alice"))
        pause.wait_reached()
        for _ in range(2):
            reserve_login_attempt(alice, "alice")
        pause.release()
        attempt = held.result()
    assert (attempt.outcome, attempt.serial, attempt.window) == ("granted", 3, 1)
    assert _state(alice) == (3, 3, False)


def test_a_success_with_nobody_since_clears_the_record(alice: Store, clock: Any) -> None:
    reserve_login_attempt(alice, "alice")
    reserve_login_attempt(alice, "alice")
    mine = reserve_login_attempt(alice, "alice")
    record_login(alice, "alice", clock.now(), attempt=mine, generation=0, verified_hash="hash-1")
    customer = get_customer(alice, "alice")
    assert customer is not None
    assert (customer.failed_logins, customer.failed_since, customer.failed_window) == (
        0,
        None,
        None,
    )
    assert customer.last_login_time == clock.now()


def test_a_success_takes_back_only_its_own_attempt(alice: Store, clock: Any, calls: Any) -> None:
    mine = reserve_login_attempt(alice, "alice")
    reserve_login_attempt(alice, "alice")  # two others, while mine was being checked
    reserve_login_attempt(alice, "alice")
    calls.reset()
    record_login(alice, "alice", clock.now(), attempt=mine, generation=0, verified_hash="hash-1")
    assert calls.counts == {"UpdateItem": 2}  # "nobody since me?" refused, then mine back
    assert _state(alice) == (2, 3, False)


def test_a_success_whose_window_was_cleared_takes_nothing_back(alice: Store, clock: Any) -> None:
    first = reserve_login_attempt(alice, "alice")
    second = reserve_login_attempt(alice, "alice")
    release_attempt(alice, "alice", second)  # the later success clears the record
    guess = reserve_login_attempt(alice, "alice")  # a new window, same second
    assert guess.window == 3
    record_login(alice, "alice", clock.now(), attempt=first, generation=0, verified_hash="hash-1")
    assert _state(alice) == (1, 3, False)  # the new window's failure stands


def test_a_success_cannot_erase_a_failure_that_lands_during_its_write(alice: Store) -> None:
    mine = reserve_login_attempt(alice, "alice")
    with paused(alice.client, "UpdateItem") as pause:
        success = Background(lambda: release_attempt(alice, "alice", mine))
        pause.wait_reached()
        reserve_login_attempt(alice, "alice")
        pause.release()
        success.result()
    assert _state(alice) == (1, 2, False)


@pytest.mark.parametrize("change", ["session_generation", "password_hash"])
def test_the_last_write_of_a_login_refuses_a_changed_customer(
    alice: Store, clock: Any, change: str
) -> None:
    mine = reserve_login_attempt(alice, "alice")
    value: object = 1 if change == "session_generation" else "hash-2"
    alice.client.update_item(
        TableName=alice.table_name,
        Key=to_attributes(customer_key("alice")),
        UpdateExpression=f"SET {change} = :v",
        ExpressionAttributeValues=to_attributes({":v": value}),
    )
    with pytest.raises(CustomerChangedError):
        record_login(
            alice, "alice", clock.now(), attempt=mine, generation=0, verified_hash="hash-1"
        )
    customer = get_customer(alice, "alice")
    assert customer is not None
    assert customer.last_login_time is None
    assert customer.failed_logins == 1  # counted: it was checked against a stale password


def test_a_login_can_replace_an_old_hash_in_its_last_write(alice: Store, clock: Any) -> None:
    mine = reserve_login_attempt(alice, "alice")
    record_login(
        alice,
        "alice",
        clock.now(),
        attempt=mine,
        generation=0,
        verified_hash="hash-1",
        new_hash="hash-1-rehashed",
    )
    customer = get_customer(alice, "alice")
    assert customer is not None and customer.password_hash == "hash-1-rehashed"


def test_a_threshold_of_one_locks_at_the_first_attempt(store: Store, clock: Any) -> None:
    strict = Store(
        client=store.client,
        table_name=store.table_name,
        clock=clock,
        lockout=LockoutPolicy(threshold=1),
    )
    register_customer(strict, "alice", "hash-1")
    assert reserve_login_attempt(strict, "alice").outcome == "granted"
    assert reserve_login_attempt(strict, "alice").outcome == "locked"
    assert _state(strict) == (1, 1, True)


def test_an_engine_that_sends_no_item_back_still_works(alice: Store, calls: Any) -> None:
    """Some engines ignore ReturnValuesOnConditionCheckFailure: the item is read instead."""

    def drop_item(parsed: dict[str, Any], **_: Any) -> None:
        parsed.pop("Item", None)

    alice.client.meta.events.register("after-call.dynamodb.UpdateItem", drop_item)
    try:
        reserve_login_attempt(alice, "alice")
        calls.reset()
        assert reserve_login_attempt(alice, "alice").outcome == "granted"
        assert calls.counts == {"UpdateItem": 2, "GetItem": 1}
    finally:
        alice.client.meta.events.unregister("after-call.dynamodb.UpdateItem", drop_item)
    assert _state(alice) == (2, 2, False)
