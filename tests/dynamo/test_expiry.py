"""Expiry on the injected clock: idle timeout, sliding use, absolute lifetime, child caps.

Neither engine deletes by TTL here (the clock runs far ahead of the real one), so whatever
is hidden is hidden by our reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dynamo.lifecycle import create_child_session, parent_deadline_cap, touch_session
from dynamo.records import ParentSession
from dynamo.sessions import (
    get_child_session,
    get_child_session_by_child_session_id,
    get_child_sessions_by_session_id,
    get_session_by_child_session_id,
    get_session_by_session_id,
    get_session_id_by_customer_id,
    get_sessions_by_customer_id,
    get_sessions_by_keys,
)
from tests.dynamo.helpers import epoch, login, raw_item

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
SECOND = timedelta(seconds=1)


def _visible(store: Any, parent: ParentSession, child_id: str) -> dict[str, bool]:
    """Whether the parent (or its child) shows up on each read path."""
    sid = parent.session_id
    by_keys = get_sessions_by_keys(store, [parent.key])
    child_key = {"PK": parent.pk, "SK": f"child#suuid#{child_id}"}
    return {
        "by id and customer": get_session_by_session_id(store, sid, "alice") is not None,
        "by id": get_session_by_session_id(store, sid) is not None,
        "by keys": by_keys[0] is not None,
        "child by keys": get_sessions_by_keys(store, [child_key])[0] is not None,
        "customer sessions": sid
        in {s.session_id for s in get_sessions_by_customer_id(store, "alice").records},
        "customer session": get_session_id_by_customer_id(store, "alice", sid) is not None,
        "child sessions": bool(get_child_sessions_by_session_id(store, sid).records),
        "child": get_child_session(store, sid, child_id) is not None,
        "child by child id": get_child_session_by_child_session_id(store, child_id) is not None,
        "parent by child id": get_session_by_child_session_id(store, child_id) is not None,
    }


def test_an_idle_session_is_absent_from_every_read_path(store: Any, clock: Any) -> None:
    parent = login(store, "alice")
    child = create_child_session(store, parent, client="app", token_hash="c")
    clock.advance(timedelta(minutes=10))
    younger = login(store, "alice")  # expires 10 minutes later

    clock.advance(IDLE - timedelta(minutes=10) - SECOND)
    assert all(_visible(store, parent, child.session_id).values())

    clock.advance(SECOND)  # exactly at the deadline
    assert not any(_visible(store, parent, child.session_id).values())
    # Hidden by the reads, not deleted by the engine:
    assert raw_item(store, parent.key) is not None
    assert raw_item(store, child.key) is not None
    # The younger session is still listed: expired items are skipped, not the whole page.
    page = get_sessions_by_customer_id(store, "alice")
    assert [s.session_id for s in page.records] == [younger.session_id]


def test_pages_skip_expired_items_and_still_fill_up(store: Any, clock: Any) -> None:
    old = [login(store, "alice") for _ in range(3)]
    clock.advance(timedelta(minutes=20))
    live = [login(store, "alice") for _ in range(2)]
    clock.advance(timedelta(minutes=15))  # the first three are gone
    assert all(get_session_by_session_id(store, s.session_id, "alice") is None for s in old)
    first = get_sessions_by_customer_id(store, "alice", first=1, newest_first=False)
    assert [s.session_id for s in first.records] == [live[0].session_id]
    assert first.has_next_page is True
    rest = get_sessions_by_customer_id(
        store, "alice", first=1, newest_first=False, after=first.end_cursor
    )
    assert [s.session_id for s in rest.records] == [live[1].session_id]
    assert rest.has_next_page is False


def test_use_slides_the_idle_deadline_at_most_once_a_minute(
    store: Any, calls: Any, clock: Any
) -> None:
    session: Any = login(store, "alice")
    created = clock.now()

    clock.advance(timedelta(seconds=30))
    calls.reset()
    session = touch_session(store, session)
    assert calls.total == 0  # used within the minute: no write
    assert session.expires_at == created + IDLE

    clock.advance(timedelta(seconds=30))  # a minute since the last write
    session = touch_session(store, session)
    assert calls.counts == {"UpdateItem": 1}
    assert session.expires_at == clock.now() + IDLE
    assert session.last_access_time == clock.now()
    item = raw_item(store, session.key)
    assert item is not None
    assert item["expires_at"] == epoch(clock.now() + IDLE)

    calls.reset()
    for _ in range(5):  # five uses in the next 50 seconds
        clock.advance(timedelta(seconds=10))
        session = touch_session(store, session)
    assert calls.counts == {}
    clock.advance(timedelta(seconds=10))
    session = touch_session(store, session)
    assert calls.counts == {"UpdateItem": 1}

    # The session now outlives its first deadline.
    clock.set(created + IDLE + timedelta(minutes=1))
    assert get_session_by_session_id(store, session.session_id, "alice") is not None
    clock.set(created + timedelta(minutes=2) + IDLE)
    assert get_session_by_session_id(store, session.session_id, "alice") is None


def test_a_closing_session_is_not_touched(store: Any, calls: Any, clock: Any) -> None:
    session = login(store, "alice")
    store.client.update_item(
        TableName=store.table_name,
        Key={"PK": {"S": session.pk}, "SK": {"S": session.sk}},
        UpdateExpression="SET session_state = :c",
        ExpressionAttributeValues={":c": {"S": "closing"}},
    )
    closing = get_session_by_session_id(store, session.session_id, "alice")
    assert closing is not None and closing.state == "closing"
    clock.advance(timedelta(minutes=5))
    calls.reset()
    assert touch_session(store, closing) == closing
    assert calls.total == 0
    # A stale "active" record of it is refused by the condition, and nothing changes.
    assert touch_session(store, session) == session
    assert calls.counts == {"UpdateItem": 1}
    item = raw_item(store, session.key)
    assert item is not None and item["expires_at"] == epoch(session.expires_at)


def test_the_absolute_lifetime_caps_even_constant_use(store: Any, clock: Any) -> None:
    session: Any = login(store, "alice")
    created = clock.now()
    while clock.now() < created + LIFETIME - timedelta(minutes=20):
        clock.advance(timedelta(minutes=20))
        current = get_session_by_session_id(store, session.session_id, "alice")
        assert current is not None, f"ended early, at {clock.now() - created}"
        session = touch_session(store, current)
        assert session.expires_at <= created + LIFETIME
    assert session.expires_at == created + LIFETIME
    clock.set(created + LIFETIME - SECOND)
    assert get_session_by_session_id(store, session.session_id, "alice") is not None
    clock.set(created + LIFETIME)
    assert get_session_by_session_id(store, session.session_id, "alice") is None


def test_a_child_never_outlives_its_parents_lifetime(store: Any, clock: Any) -> None:
    parent: Any = login(store, "alice")
    created = clock.now()
    while clock.now() < created + LIFETIME - timedelta(minutes=20):
        clock.advance(timedelta(minutes=20))
        parent = touch_session(store, parent)
    assert clock.now() == created + LIFETIME - timedelta(minutes=20)

    child: Any = create_child_session(store, parent, client="app", token_hash="c")
    assert child.expires_at == created + LIFETIME  # not now + 30 minutes
    item = raw_item(store, child.key)
    assert item is not None and item["expires_at"] == epoch(created + LIFETIME)

    clock.advance(timedelta(minutes=5))
    child = touch_session(store, child, cap=parent_deadline_cap(parent, store))
    assert child.expires_at == created + LIFETIME
    clock.set(created + LIFETIME)
    assert get_child_session(store, parent.session_id, child.session_id) is None
    assert get_session_by_session_id(store, parent.session_id, "alice") is None
