"""Revocation by generation in storage: the bump, the kept session of a password change, and
each write of it raced against the others (a pause holds one call while the other runs)."""

from __future__ import annotations

from typing import Any

import pytest

from dynamo.cleanup import read_customer
from dynamo.lifecycle import create_child_session
from dynamo.records import ChildSession, ParentSession
from dynamo.revocation import (
    SessionEndedError,
    change_password_keeping,
    end_all_sessions,
    is_current,
)
from dynamo.sessions import create_session, current_generation, get_session_by_session_id
from dynamo.store import Store
from tests.dynamo.helpers import raw_item
from tests.support.race import Background, paused


def _alive(store: Store, session: ParentSession | ChildSession) -> bool:
    """The token check's decision, from fresh consistent reads (a child's generation never
    changes; a parent's may, by a restamp)."""
    parent_id = (
        session.parent_session_id if isinstance(session, ChildSession) else session.session_id
    )
    if isinstance(session, ChildSession) and raw_item(store, session.key) is None:
        return False
    parent = get_session_by_session_id(store, parent_id, "alice")
    if parent is None or parent.state != "active":
        return False
    current = session if isinstance(session, ChildSession) else parent
    return is_current(read_customer(store, "alice"), parent, current)


def _customer_update(params: dict[str, Any]) -> bool:
    return params["Key"]["PK"]["S"] == "c#alice"


def _session_update(params: dict[str, Any]) -> bool:
    return params["Key"]["PK"]["S"].startswith("suuid#")


def test_a_login_in_flight_during_a_password_change_is_dead_on_arrival(store: Store) -> None:
    """Defect 1: the login read generation 0 with the old hash; the change lands; the login
    writes its session afterwards. It carries generation 0 < 1: dead on arrival."""
    caller = create_session(store, "alice", token_hash="a")
    read_with_the_hash = current_generation(store, "alice")
    change_password_keeping(store, caller, caller.session_generation, "new-hash")
    late = create_session(store, "alice", token_hash="late", generation=read_with_the_hash)
    assert not _alive(store, late)
    assert _alive(store, caller)
    # A login that read after the change is alive.
    assert _alive(store, create_session(store, "alice", token_hash="next"))


def test_change_password_keeps_the_caller_and_ends_every_other_session(store: Store) -> None:
    caller = create_session(store, "alice", token_hash="a")
    own_child = create_child_session(store, caller, client="app", token_hash="c")
    other = create_session(store, "alice", token_hash="b")
    other_child = create_child_session(store, other, client="app", token_hash="c")
    bob = create_session(store, "bob", token_hash="b")

    customer = change_password_keeping(store, caller, 0, "hash-2")
    assert (customer.session_generation, customer.kept_session_id) == (1, caller.session_id)
    assert (customer.password_hash, customer.revoked_reason) == ("hash-2", "PASSWORD_CHANGED")
    assert _alive(store, caller)
    assert not any(_alive(store, s) for s in (own_child, other, other_child))
    assert is_current(None, bob, bob)
    # Restamped: the caller is of the new generation, so its new children are alive.
    restamped = get_session_by_session_id(store, caller.session_id, "alice")
    assert restamped is not None and restamped.session_generation == 1
    assert _alive(store, create_child_session(store, restamped, client="app", token_hash="c"))
    # A logoutAll afterwards ends the caller like any other.
    end_all_sessions(store, "alice")
    assert not _alive(store, caller)


def test_the_caller_is_never_dead_between_the_bump_and_the_restamp(store: Store) -> None:
    caller = create_session(store, "alice", token_hash="a")
    with paused(store.client, "UpdateItem", when=_session_update) as pause:
        change = Background(lambda: change_password_keeping(store, caller, 0, "hash-2"))
        pause.wait_reached()  # the customer item is bumped; the session not restamped yet
        assert read_customer(store, "alice").session_generation == 1  # type: ignore[union-attr]
        assert _alive(store, caller)
        pause.release()
        change.result()
    assert _alive(store, caller)


def test_a_logout_all_between_the_bump_and_the_restamp_ends_the_caller(store: Store) -> None:
    """Restamping cannot revive: the logoutAll removed the kept name, and the restamp only
    writes the generation the change made, now one below the customer's."""
    caller = create_session(store, "alice", token_hash="a")
    with paused(store.client, "UpdateItem", when=_session_update) as pause:
        change = Background(lambda: change_password_keeping(store, caller, 0, "hash-2"))
        pause.wait_reached()
        end_all_sessions(store, "alice")
        pause.release()
        change.result()
    assert not _alive(store, caller)
    assert read_customer(store, "alice").session_generation == 2  # type: ignore[union-attr]


def test_a_logout_all_before_the_bump_refuses_the_change(store: Store) -> None:
    """The change conditions on the generation read with the caller's token: a logoutAll
    that landed since ended the caller, so the change fails and the password stays."""
    caller = create_session(store, "alice", token_hash="a")
    change_password_keeping(store, caller, 0, "hash-2")
    end_all_sessions(store, "alice")
    with pytest.raises(SessionEndedError):
        change_password_keeping(store, caller, 1, "hash-3")
    assert read_customer(store, "alice").password_hash == "hash-2"  # type: ignore[union-attr]
    assert not _alive(store, caller)


def test_two_sessions_changing_the_password_at_once_leave_only_the_first(store: Store) -> None:
    first = create_session(store, "alice", token_hash="a")
    second = create_session(store, "alice", token_hash="b")
    with paused(store.client, "UpdateItem", when=_customer_update) as pause:
        slow = Background(lambda: change_password_keeping(store, second, 0, "second-hash"))
        pause.wait_reached()  # the second's bump (on generation 0) is held
        change_password_keeping(store, first, 0, "first-hash")
        pause.release()
        with pytest.raises(SessionEndedError):
            slow.result()
    assert _alive(store, first) and not _alive(store, second)
    customer = read_customer(store, "alice")
    assert customer is not None and customer.password_hash == "first-hash"


def test_the_same_session_changing_twice_at_once_stays_alive(store: Store) -> None:
    caller = create_session(store, "alice", token_hash="a")
    with paused(store.client, "UpdateItem", when=_customer_update) as pause:
        slow = Background(lambda: change_password_keeping(store, caller, 0, "slow-hash"))
        pause.wait_reached()
        change_password_keeping(store, caller, 0, "fast-hash")
        pause.release()
        customer = slow.result()  # lost once, read again, still the caller's: bumped again
    assert customer.session_generation == 2 and customer.password_hash == "slow-hash"
    assert _alive(store, caller)


def test_a_late_logout_all_never_revives_what_a_later_one_ended(store: Store) -> None:
    """Defect 6: a revocation that lands late still moves the generation forward."""
    early = create_session(store, "alice", token_hash="a")
    with paused(store.client, "UpdateItem", when=_customer_update) as pause:
        late = Background(lambda: end_all_sessions(store, "alice"))
        pause.wait_reached()
        middle = create_session(store, "alice", token_hash="b")
        end_all_sessions(store, "alice")
        pause.release()
        late.result()
    assert not _alive(store, early) and not _alive(store, middle)
    assert current_generation(store, "alice") == 2
