"""Why a session ended, from its items and the change that prompted the re-read (no store:
the rules of resolvers.session_events on items as the table holds them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.streams import Change
from dynamo.timefmt import to_epoch, to_iso
from resolvers.session_events import CustomerEvents, SessionEvent, Subject, SubjectState

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
LATER = to_epoch(NOW + timedelta(minutes=10))
EARLIER = to_epoch(NOW - timedelta(seconds=1))

PARENT = parent_session_key("p1", "alice")
CHILD = child_session_key("p1", "k1")
CUSTOMER = customer_key("alice")


def k(key: dict[str, str]) -> tuple[str, str]:
    return (key["PK"], key["SK"])


def item(key: dict[str, str], **values: Any) -> dict[str, Any]:
    base = {"session_state": "active", "expires_at": LATER, "created_at": to_iso(NOW)}
    return {**key, "customer_id": "alice", **base, **values}


def parent_state(**items: Any) -> SubjectState:
    state = SubjectState(Subject("t", "p1", own=k(PARENT), customer=k(CUSTOMER)))
    state.update({k(PARENT): items.get("own"), k(CUSTOMER): items.get("customer")})
    return state


def child_state(**items: Any) -> SubjectState:
    subject = Subject("t", "k1", own=k(CHILD), customer=k(CUSTOMER), parent=k(PARENT))
    state = SubjectState(subject)
    state.update(
        {
            k(CHILD): items.get("own"),
            k(PARENT): items.get("parent"),
            k(CUSTOMER): items.get("customer"),
        }
    )
    return state


def test_a_live_session_has_no_reason() -> None:
    assert parent_state(own=item(PARENT), customer=dict(CUSTOMER)).end_reason((), NOW) is None
    assert child_state(own=item(CHILD), parent=item(PARENT)).end_reason((), NOW) is None


@pytest.mark.parametrize(
    ("own", "change", "reason"),
    [
        (item(PARENT, session_state="closing"), None, "LOGOUT"),
        (item(PARENT, expires_at=EARLIER), None, "EXPIRED"),
        (None, Change("REMOVE", *k(PARENT), old=item(PARENT)), "LOGOUT"),
        (None, Change("REMOVE", *k(PARENT), old=item(PARENT, expires_at=EARLIER)), "EXPIRED"),
        (None, Change("REMOVE", *k(PARENT), old=item(PARENT), by_ttl=True), "EXPIRED"),
    ],
)
def test_a_parent_ends_by_logout_or_expiry(own: Any, change: Any, reason: str) -> None:
    state = parent_state(own=own)
    changes = [change] if change is not None else []
    state.update(dict(state.items), changes)
    assert state.end_reason(changes, NOW) == reason


def test_a_removed_session_remembers_when_it_would_have_expired() -> None:
    state = parent_state(own=item(PARENT, expires_at=EARLIER))
    state.update({k(PARENT): None, k(CUSTOMER): None})
    assert state.end_reason((), NOW) == "EXPIRED"


@pytest.mark.parametrize("reason", ["LOGOUT_ALL", "PASSWORD_CHANGED"])
def test_a_higher_customer_generation_ends_it_for_the_customers_reason(reason: str) -> None:
    customer = {**CUSTOMER, "session_generation": 3, "revoked_reason": reason}
    assert (
        parent_state(own=item(PARENT, session_generation=2), customer=customer).end_reason(
            None, NOW
        )
        == reason
    )
    # Removed by the clean-up after the bump: the last image seen still tells its generation.
    state = parent_state(own=item(PARENT, session_generation=2), customer=customer)
    state.update({k(PARENT): None, k(CUSTOMER): customer})
    assert state.end_reason((), NOW) == reason
    # A session restamped to the new generation (changePassword's caller) lives on.
    restamped = parent_state(own=item(PARENT, session_generation=3), customer=customer)
    assert restamped.end_reason((), NOW) is None


def test_the_parent_kept_by_a_password_change_lives_one_generation_behind() -> None:
    """changePassword bumps the customer naming the caller's parent, then restamps it."""
    customer = {
        **CUSTOMER,
        "session_generation": 3,
        "revoked_reason": "PASSWORD_CHANGED",
        "kept_session_id": "p1",
    }
    assert (
        parent_state(own=item(PARENT, session_generation=2), customer=customer).end_reason(
            None, NOW
        )
        is None
    )
    assert (
        parent_state(own=item(PARENT, session_generation=1), customer=customer).end_reason(
            None, NOW
        )
        == "PASSWORD_CHANGED"
    )
    # Its children are not kept: they end with everyone else.
    assert (
        child_state(
            own=item(CHILD, session_generation=2),
            parent=item(PARENT, session_generation=2),
            customer=customer,
        ).end_reason((), NOW)
        == "PASSWORD_CHANGED"
    )
    # Another customer's kept id keeps nothing here.
    other = {**customer, "kept_session_id": "p2"}
    assert (
        parent_state(own=item(PARENT, session_generation=2), customer=other).end_reason((), NOW)
        == "PASSWORD_CHANGED"
    )


def test_an_unknown_revoked_reason_is_logout_all() -> None:
    customer = {**CUSTOMER, "session_generation": 1}
    assert parent_state(own=item(PARENT), customer=customer).end_reason((), NOW) == "LOGOUT_ALL"


def test_the_old_clock_mark_on_the_customer_item_ends_nothing() -> None:
    """`sessions_valid_after` is no longer written: only the generation revokes."""
    mark = {**CUSTOMER, "sessions_valid_after": to_iso(NOW + timedelta(seconds=1))}
    assert parent_state(own=item(PARENT), customer=mark).end_reason((), NOW) is None


@pytest.mark.parametrize(
    ("parent", "reason"),
    [
        (item(PARENT, session_state="closing"), "PARENT_ENDED"),
        (None, "PARENT_ENDED"),
        (item(PARENT, expires_at=EARLIER), "EXPIRED"),
    ],
)
def test_a_child_ends_with_its_parent(parent: Any, reason: str) -> None:
    assert child_state(own=item(CHILD), parent=parent).end_reason((), NOW) == reason


def test_a_child_removed_under_a_live_parent_was_logged_out() -> None:
    state = child_state(own=item(CHILD), parent=item(PARENT))
    state.update({k(CHILD): None, k(PARENT): item(PARENT), k(CUSTOMER): None})
    assert state.end_reason((), NOW) == "LOGOUT"


# customerSessionEvents -----------------------------------------------------------------------


def events(tracker: CustomerEvents, *changes: Change) -> list[SessionEvent]:
    return [e for c in changes for e in tracker.events(c, NOW)]


def test_sessions_start_and_end_once_each() -> None:
    tracker = CustomerEvents("alice")
    parent, child = item(PARENT), item(CHILD)
    got = events(
        tracker,
        Change("INSERT", *k(PARENT), new=parent),
        Change("INSERT", *k(CHILD), new=child),
        Change("MODIFY", *k(PARENT), old=parent, new={**parent, "session_state": "closing"}),
        Change("REMOVE", *k(CHILD), old=child),
        Change("REMOVE", *k(PARENT), old={**parent, "session_state": "closing"}),
    )
    assert got == [
        SessionEvent("STARTED", "p1", False),
        SessionEvent("STARTED", "k1", True),
        SessionEvent("ENDED", "p1", False, "LOGOUT"),
        SessionEvent("ENDED", "k1", True, "PARENT_ENDED"),
    ]


def test_removals_after_a_generation_bump_carry_its_reason() -> None:
    tracker = CustomerEvents("alice")
    bumped = {**CUSTOMER, "session_generation": 1, "revoked_reason": "PASSWORD_CHANGED"}
    got = events(
        tracker,
        Change("MODIFY", *k(CUSTOMER), old=dict(CUSTOMER), new=bumped),
        Change("REMOVE", *k(PARENT), old=item(PARENT)),
    )
    assert got == [SessionEvent("ENDED", "p1", False, "PASSWORD_CHANGED")]


def test_expiry_and_other_customers() -> None:
    tracker = CustomerEvents("alice")
    assert events(tracker, Change("REMOVE", *k(PARENT), old=item(PARENT), by_ttl=True)) == [
        SessionEvent("ENDED", "p1", False, "EXPIRED")
    ]
    bob = parent_session_key("p9", "bob")
    assert events(tracker, Change("INSERT", *k(bob), new=item(bob, customer_id="bob"))) == []
    baseline = Change("MODIFY", *k(PARENT), new=item(PARENT), baseline=True)
    assert events(tracker, baseline) == []
