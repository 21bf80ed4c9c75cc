"""Child sessions, the logout cascade (safe to interrupt), logoutAll and the session cap."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from dynamo.cleanup import Budget, end_listed_sessions, read_customer, sweep_customer
from dynamo.errors import ConflictError, NotFoundError
from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.lifecycle import (
    create_child_session,
    enforce_session_cap,
    expire_child_session,
    expire_session,
)
from dynamo.revocation import end_all_sessions, is_current
from dynamo.sessions import (
    get_child_session,
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


# -- logoutAll: the generation bump, then clean-up ----------------------------------------------


def _alive(store: Any, session: Any) -> bool:
    """What the token check decides (one consistent read of customer, parent and session)."""
    parent_id = session.parent_session_id if session.is_child else session.session_id
    customer = read_customer(store, "alice" if session.customer_id is None else session.customer_id)
    parent = get_session_by_session_id(store, parent_id, session.customer_id)
    if parent is None or parent.state != "active":
        return False
    current = (
        get_child_session(store, parent_id, session.session_id) if session.is_child else parent
    )
    return current is not None and is_current(customer, parent, current)


def test_logout_all_ends_every_session_of_the_customer_only(store: Any, clock: Any) -> None:
    alices = []
    for i in range(3):
        session = login(store, "alice")
        alices.append(
            (session, create_child_session(store, session, client=f"a{i}", token_hash="c"))
        )
        clock.advance(timedelta(minutes=1))
    bobs = login(store, "bob")
    bobs_child = create_child_session(store, bobs, client="app", token_hash="c")

    assert end_all_sessions(store, "alice").session_generation == 1
    assert not any(_alive(store, s) for pair in alices for s in pair)
    assert _alive(store, bobs) and _alive(store, bobs_child)
    item = raw_item(store, customer_key("alice"))
    assert item is not None
    assert (item["session_generation"], item["revoked_reason"]) == (1, "LOGOUT_ALL")

    # A login after the bump is of the new generation, and alive.
    later = login(store, "alice")
    assert later.session_generation == 1 and _alive(store, later)

    # Clean-up deletes only the dead items, children first; running it again finds nothing.
    result = sweep_customer(store, "alice")
    assert sorted(result.ended) == sorted(s.session_id for pair in alices for s in pair)
    assert result.complete
    assert [s.session_id for s in get_sessions_by_customer_id(store, "alice").records] == [
        later.session_id
    ]
    assert all(raw_partition(store, parent.pk) == [] for parent, _ in alices)
    assert sweep_customer(store, "alice").ended == []
    assert get_child_session(store, bobs.session_id, bobs_child.session_id) == bobs_child
    assert get_last_login_time_by_customer_id(store, "alice") == later.last_login_time


def test_logout_all_is_one_write_whatever_the_number_of_sessions(store: Any, calls: Any) -> None:
    for _ in range(30):
        login(store, "alice")
    calls.reset()
    end_all_sessions(store, "alice")
    assert calls.counts == {"UpdateItem": 1}
    params = calls.params_of("UpdateItem")[0]
    assert "ConditionExpression" not in params  # ADD: atomic, never backwards, no retry
    assert params["UpdateExpression"].startswith("ADD session_generation :one")


def test_a_late_revocation_never_moves_the_generation_backwards(store: Any) -> None:
    """Defect 6: the old mark was `SET sessions_valid_after = <a time read before>`."""
    session = login(store, "alice")
    assert end_all_sessions(store, "alice").session_generation == 1
    assert end_all_sessions(store, "alice").session_generation == 2
    assert not _alive(store, session)
    assert login(store, "alice").session_generation == 2


def test_sweep_deletes_in_batches_children_first(store: Any, calls: Any) -> None:
    for _ in range(10):
        session = login(store, "alice")
        for n in range(2):
            create_child_session(store, session, client=f"app{n}", token_hash="c")
    end_all_sessions(store, "alice")
    calls.reset()
    result = sweep_customer(store, "alice")
    assert len(result.ended) == 30 and result.deleted == 30
    # The customer item, 1 GSI Query, 1 Query per session for its children, and 30 deletes
    # in BatchWriteItem pages of 25.
    assert calls.counts == {"BatchGetItem": 1, "Query": 11, "BatchWriteItem": 2}
    deletes = [
        r["DeleteRequest"]["Key"]["SK"]["S"]
        for params in calls.params_of("BatchWriteItem")
        for r in params["RequestItems"][store.table_name]
    ]
    first_parent = next(i for i, sk in enumerate(deletes) if sk.startswith("c#"))
    assert deletes[first_parent - 2 : first_parent] == [d for d in deletes[:2]]
    assert all(sk.startswith("child#") for sk in deletes[:first_parent])
    assert get_sessions_by_customer_id(store, "alice").records == []


def test_sweep_stops_at_its_budget_and_a_second_run_finishes(store: Any) -> None:
    for _ in range(6):
        create_child_session(store, login(store, "alice"), client="app", token_hash="c")
    end_all_sessions(store, "alice")
    first = sweep_customer(store, "alice", budget=Budget(max_items=4))
    assert not first.complete and 4 <= first.deleted <= 5
    second = sweep_customer(store, "alice")
    assert second.complete and first.deleted + second.deleted == 12
    stopped = Budget()
    stopped.stop.set()
    assert sweep_customer(store, "alice", budget=stopped).deleted == 0


def test_the_listed_page_is_bounded_and_children_are_left_to_the_sweep(
    store: Any, calls: Any
) -> None:
    sessions = [login(store, "alice") for _ in range(5)]
    child = create_child_session(store, sessions[0], client="app", token_hash="c")
    end_all_sessions(store, "alice")
    customer = read_customer(store, "alice")
    calls.reset()
    listed = end_listed_sessions(store, customer, "alice", limit=3)
    assert calls.counts == {"Query": 1, "BatchWriteItem": 1}
    assert listed.ended == [s.session_id for s in sessions[:3]] and listed.more
    assert raw_item(store, child.key) is not None  # dead (no parent), deleted by the sweep
    result = sweep_customer(store, "alice", deleted_parents=listed.ended)
    assert sorted(result.ended) == sorted([child.session_id, *(s.session_id for s in sessions[3:])])
    assert raw_item(store, child.key) is None


# -- the cap on live sessions per customer ---------------------------------------------------


def test_without_a_cap_nothing_is_ended_and_nothing_is_read(store: Any, calls: Any) -> None:
    for _ in range(3):
        session = login(store, "alice")
    calls.reset()
    assert enforce_session_cap(store, session) == session
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
    assert enforce_session_cap(capped, middle) == middle  # two: at the cap, not past it
    assert raw_item(capped, oldest.key) is not None
    newest = login(capped, "alice")

    assert enforce_session_cap(capped, newest) == newest
    assert raw_partition(capped, oldest.pk) == []
    assert raw_item(capped, oldest_child.key) is None
    listed = get_sessions_by_customer_id(capped, "alice").records
    assert [s.session_id for s in listed] == [newest.session_id, middle.session_id]
    assert len(get_sessions_by_customer_id(capped, "bob").records) == 1


def test_the_cap_never_ends_a_newer_session_nor_its_own(store: Any) -> None:
    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=2))
    old = [login(capped, "alice") for _ in range(3)]
    # The oldest login runs its pass last: the two sessions newer than its own fill the cap,
    # so it ends nothing of theirs, and nothing of its own either...
    assert enforce_session_cap(capped, old[0]) == old[0]
    assert all(raw_item(capped, s.key) is not None for s in old)
    # ... and the newest login's pass ends it (the oldest).
    assert enforce_session_cap(capped, old[2]) == old[2]
    assert raw_item(capped, old[0].key) is None


def test_a_login_whose_session_the_cap_ended_hands_out_a_newer_one(store: Any) -> None:
    """Defect 5 in storage: a newer login's pass ended this login's session before it
    returned; it writes a replacement (same token hash and generation) and returns that."""
    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=2))
    first = login(capped, "alice")
    second, third = login(capped, "alice"), login(capped, "alice")
    assert enforce_session_cap(capped, third) == third  # ends `first`
    replacement = enforce_session_cap(capped, first)
    assert replacement.session_id > third.session_id  # newer than every other
    assert replacement.access_token_hash == first.access_token_hash
    assert replacement.session_generation == first.session_generation
    current = get_session_by_session_id(capped, replacement.session_id, "alice")
    assert current is not None and current.state == "active"
    assert raw_item(capped, second.key) is None  # the replacement's pass ended the oldest


def test_expired_closing_and_revoked_sessions_do_not_count_against_the_cap(
    store: Any, clock: Any
) -> None:
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
    revoked = login(capped, "alice")
    end_all_sessions(capped, "alice")
    clock.advance(timedelta(minutes=1))
    first = login(capped, "alice")
    clock.advance(timedelta(minutes=1))
    second = login(capped, "alice")
    assert enforce_session_cap(capped, second) == second
    assert raw_item(capped, first.key) is not None
    assert raw_item(capped, revoked.key) is not None  # dead already: left to clean-up
    clock.advance(timedelta(minutes=1))
    third = login(capped, "alice")
    assert enforce_session_cap(capped, third) == third
    assert raw_item(capped, first.key) is None
    assert get_session_by_session_id(capped, second.session_id, "alice") == second
