"""Child sessions, the logout cascade (safe to interrupt), logoutAll and the session cap."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from dynamo.errors import ConflictError, NotFoundError
from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.lifecycle import (
    create_child_session,
    enforce_session_cap,
    expire_child_session,
    expire_customer_sessions,
    expire_session,
)
from dynamo.sessions import (
    get_child_session,
    get_child_sessions_by_session_id,
    get_last_login_time_by_customer_id,
    get_session_by_session_id,
    get_sessions_by_customer_id,
)
from dynamo.store import SessionPolicy
from tests.dynamo.helpers import InjectedFailure, hooked, login, raw_item, raw_partition, sent

# -- createChildSession ---------------------------------------------------------------------


def test_a_child_session_lives_in_its_parents_partition(store: Any, calls: Any, clock: Any) -> None:
    parent = login(store, "alice")
    clock.advance(timedelta(minutes=5))
    calls.reset()
    child = create_child_session(store, parent, client="billing", token_hash="child-hash")
    assert calls.counts == {"PutItem": 1, "GetItem": 1}  # the write, then the parent re-read
    assert sent(calls, "PutItem")[0]["ConditionExpression"] == "attribute_not_exists(PK)"
    assert child.key == child_session_key(parent.session_id, child.session_id)
    assert (child.parent_session_id, child.customer_id) == (parent.session_id, "alice")
    assert (child.client, child.state, child.access_token_hash) == (
        "billing",
        "active",
        "child-hash",
    )
    assert child.created_at == clock.now()
    # Its own idle deadline would be 35 minutes after the parent's login; the parent's
    # (30 minutes after login) comes first, and a child never outlives its parent.
    assert parent.expires_at is not None
    assert child.expires_at == parent.expires_at < clock.now() + store.policy.idle_timeout
    item = raw_item(store, child.key)
    assert item is not None
    assert item["parent_session_state"] == "active"
    assert item["customer_id"] == "alice"


def test_a_duplicate_child_id_is_a_conflict(store: Any) -> None:
    parent = login(store, "alice")
    create_child_session(store, parent, client="a", token_hash="first", child_session_id="kid")
    with pytest.raises(ConflictError, match="kid"):
        create_child_session(store, parent, client="b", token_hash="second", child_session_id="kid")
    item = raw_item(store, child_session_key(parent.session_id, "kid"))
    assert item is not None and item["access_token"] == "first"


@pytest.mark.parametrize("how", ["logged out", "closing"])
def test_a_child_of_an_ended_parent_is_taken_back(store: Any, how: str) -> None:
    parent = login(store, "alice")
    if how == "logged out":
        expire_session(store, parent.session_id, "alice")
    else:
        store.client.update_item(
            TableName=store.table_name,
            Key={"PK": {"S": parent.pk}, "SK": {"S": parent.sk}},
            UpdateExpression="SET session_state = :c",
            ExpressionAttributeValues={":c": {"S": "closing"}},
        )
    with pytest.raises(NotFoundError):
        create_child_session(store, parent, client="app", token_hash="c", child_session_id="late")
    assert raw_item(store, child_session_key(parent.session_id, "late")) is None


def test_expire_child_session_ends_only_that_child(store: Any) -> None:
    parent = login(store, "alice")
    gone = create_child_session(store, parent, client="a", token_hash="c")
    kept = create_child_session(store, parent, client="b", token_hash="c")
    assert expire_child_session(store, parent.session_id, gone.session_id) == [gone.session_id]
    assert get_child_session(store, parent.session_id, gone.session_id) is None
    assert get_child_session(store, parent.session_id, kept.session_id) == kept
    assert get_session_by_session_id(store, parent.session_id, "alice") == parent


# -- the logout cascade ---------------------------------------------------------------------


def test_an_interrupted_logout_leaves_the_parent_closing_and_is_finished_by_a_retry(
    store: Any, calls: Any
) -> None:
    parent = login(store, "alice")
    children = [
        create_child_session(store, parent, client=f"app{i}", token_hash=f"c{i}") for i in range(3)
    ]
    failures: list[str] = []

    def fail_once(**_: Any) -> None:
        if not failures:
            failures.append("BatchWriteItem")
            raise InjectedFailure("connection lost while deleting the children")

    with (
        hooked(store.client, "before-call.dynamodb.BatchWriteItem", fail_once),
        pytest.raises(InjectedFailure),
    ):
        expire_session(store, parent.session_id, "alice")
    assert failures == ["BatchWriteItem"]

    # Step 1 happened: the parent is closing, so a token check needing "active" now fails...
    item = raw_item(store, parent_session_key(parent.session_id, "alice"))
    assert item is not None
    assert item["session_state"] == "closing"
    still = get_session_by_session_id(store, parent.session_id, "alice")
    assert still is not None and still.state != "active"
    # ... and the children are still there, waiting for the retry.
    assert all(raw_item(store, child.key) is not None for child in children)

    with hooked(store.client, "before-call.dynamodb.BatchWriteItem", fail_once):
        ended = expire_session(store, parent.session_id, "alice")
    assert ended[0] == parent.session_id
    assert sorted(ended[1:]) == sorted(child.session_id for child in children)
    assert raw_partition(store, parent.pk) == []
    assert get_session_by_session_id(store, parent.session_id) is None


def test_a_logout_that_failed_after_deleting_the_children_is_finished_too(store: Any) -> None:
    parent = login(store, "alice")
    create_child_session(store, parent, client="app", token_hash="c")
    failures: list[str] = []

    def fail_once(**_: Any) -> None:
        if not failures:
            failures.append("DeleteItem")
            raise InjectedFailure("crashed before deleting the parent")

    with (
        hooked(store.client, "before-call.dynamodb.DeleteItem", fail_once),
        pytest.raises(InjectedFailure),
    ):
        expire_session(store, parent.session_id, "alice")
    assert [i["session_state"] for i in raw_partition(store, parent.pk)] == ["closing"]
    assert expire_session(store, parent.session_id, "alice") == [parent.session_id]
    assert raw_partition(store, parent.pk) == []


def test_ending_an_ended_session_again_is_harmless(store: Any) -> None:
    parent = login(store, "alice")
    assert expire_session(store, parent.session_id, "alice") == [parent.session_id]
    assert expire_session(store, parent.session_id, "alice") == []  # nothing left to end
    assert raw_partition(store, parent.pk) == []


def test_a_session_cannot_be_ended_under_another_customers_id(store: Any) -> None:
    """The customer id scopes the logout: mallory naming alice's session ends nothing of hers."""
    victim = login(store, "alice")
    children = [create_child_session(store, victim, client="app", token_hash="c") for _ in range(2)]
    ended = expire_session(store, victim.session_id, "mallory")
    assert ended == []
    assert get_session_by_session_id(store, victim.session_id, "alice") == victim
    assert [get_child_session(store, victim.session_id, c.session_id) for c in children] == children


# -- logoutAll --------------------------------------------------------------------------------


def test_logout_all_ends_every_session_of_the_customer_only(store: Any, clock: Any) -> None:
    alices = []
    for i in range(3):
        session = login(store, "alice")
        create_child_session(store, session, client=f"app{i}", token_hash="c")
        alices.append(session)
        clock.advance(timedelta(minutes=1))
    bobs = login(store, "bob")
    bobs_child = create_child_session(store, bobs, client="app", token_hash="c")
    kept = alices[1]

    ended = expire_customer_sessions(store, "alice", keep=kept)
    assert len(ended) == 5  # two parents, their two children, and the kept one's child
    assert {alices[0].session_id, alices[2].session_id} <= set(ended)
    assert kept.session_id not in ended
    assert [s.session_id for s in get_sessions_by_customer_id(store, "alice").records] == [
        kept.session_id
    ]
    assert get_child_sessions_by_session_id(store, kept.session_id).records == []
    assert get_session_by_session_id(store, bobs.session_id, "bob") == bobs
    assert get_child_session(store, bobs.session_id, bobs_child.session_id) == bobs_child

    ended = expire_customer_sessions(store, "alice")
    assert ended == [kept.session_id]  # its child went with the first call
    assert get_sessions_by_customer_id(store, "alice").records == []
    assert raw_item(store, customer_key("alice")) is not None  # the customer stays
    assert get_last_login_time_by_customer_id(store, "alice") == alices[2].last_login_time


def test_logout_all_of_a_customer_without_sessions_ends_nothing(store: Any) -> None:
    assert expire_customer_sessions(store, "nobody") == []


# -- the cap on live sessions per customer ---------------------------------------------------


def test_without_a_cap_nothing_is_ended_and_nothing_is_read(store: Any, calls: Any) -> None:
    for _ in range(3):
        login(store, "alice")
    calls.reset()
    assert enforce_session_cap(store, "alice") == []
    assert calls.total == 0
    assert len(get_sessions_by_customer_id(store, "alice").records) == 3


def test_the_cap_ends_the_oldest_live_sessions(store: Any, clock: Any) -> None:
    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=2))
    oldest = login(capped, "alice")
    oldest_child = create_child_session(capped, oldest, client="app", token_hash="c")
    clock.advance(timedelta(minutes=1))
    middle = login(capped, "alice")
    clock.advance(timedelta(minutes=1))
    login(capped, "bob")
    assert enforce_session_cap(capped, "alice") == []  # two: at the cap, not past it
    newest = login(capped, "alice")

    assert enforce_session_cap(capped, "alice") == [oldest.session_id, oldest_child.session_id]
    assert raw_partition(capped, oldest.pk) == []
    listed = get_sessions_by_customer_id(capped, "alice").records
    assert [s.session_id for s in listed] == [newest.session_id, middle.session_id]
    assert enforce_session_cap(capped, "alice") == []
    assert len(get_sessions_by_customer_id(capped, "bob").records) == 1


def test_expired_and_closing_sessions_do_not_count_against_the_cap(store: Any, clock: Any) -> None:
    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=2))
    login(capped, "alice")  # idles out below
    clock.advance(timedelta(minutes=31))
    closing = login(capped, "alice")
    store.client.update_item(
        TableName=store.table_name,
        Key={"PK": {"S": closing.pk}, "SK": {"S": closing.sk}},
        UpdateExpression="SET session_state = :c",
        ExpressionAttributeValues={":c": {"S": "closing"}},
    )
    clock.advance(timedelta(minutes=1))
    first = login(capped, "alice")
    clock.advance(timedelta(minutes=1))
    second = login(capped, "alice")
    assert enforce_session_cap(capped, "alice") == []
    clock.advance(timedelta(minutes=1))
    login(capped, "alice")
    assert enforce_session_cap(capped, "alice") == [first.session_id]
    assert get_session_by_session_id(capped, second.session_id, "alice") == second


def test_logout_all_deletes_in_batches_not_four_calls_a_session(store: Any, calls: Any) -> None:
    for _ in range(10):
        session = login(store, "alice")
        for n in range(2):
            create_child_session(store, session, client=f"app{n}", token_hash="c")
    calls.reset()
    ended = expire_customer_sessions(store, "alice")
    assert len(ended) == 30
    # 1 GSI Query for the sessions, 1 Query per session for its children, and 30 deletes in
    # BatchWriteItem pages of 25: no UpdateItem or DeleteItem per session.
    assert calls.counts == {"Query": 11, "BatchWriteItem": 2}
    assert get_sessions_by_customer_id(store, "alice").records == []
