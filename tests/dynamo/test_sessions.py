"""The eight access patterns of docs/design.md section 2 (expireSession's cascade: test_lifecycle)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from dynamo.cleanup import sweep_customer
from dynamo.cursors import encode_cursor
from dynamo.errors import ConflictError, InvalidCursorError, InvalidPageSizeError
from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.lifecycle import create_child_session, expire_session
from dynamo.revocation import end_all_sessions
from dynamo.sessions import (
    create_session,
    get_child_session,
    get_child_session_by_child_session_id,
    get_child_sessions_by_session_id,
    get_last_login_time_by_customer_id,
    get_session_by_child_session_id,
    get_session_by_session_id,
    get_session_id_by_customer_id,
    get_sessions_by_customer_id,
)
from tests.dynamo.helpers import epoch, login, raw_item, raw_partition, sent

IDLE = timedelta(minutes=30)

# -- createSession -------------------------------------------------------------------------


def test_create_session_without_a_generation_reads_the_customers(store: Any, calls: Any) -> None:
    assert create_session(store, "alice", token_hash="h").session_generation == 0
    end_all_sessions(store, "alice")
    calls.reset()
    assert create_session(store, "alice", token_hash="h").session_generation == 1
    assert calls.counts == {"GetItem": 1, "PutItem": 1}
    assert sent(calls, "GetItem")[0]["ConsistentRead"] is True


def test_create_session_puts_an_active_parent_session(store: Any, calls: Any, clock: Any) -> None:
    calls.reset()
    session = create_session(
        store,
        "alice",
        token_hash="hash-1",
        ip_address="10.0.0.1",
        user_agent="curl/8",
        generation=3,
    )
    assert calls.counts == {"PutItem": 1}  # the generation is given: nothing to read
    [put] = sent(calls, "PutItem")
    assert put["ConditionExpression"] == "attribute_not_exists(PK)"

    assert uuid.UUID(session.session_id).version == 7
    assert session.customer_id == "alice"
    assert session.state == "active"
    assert session.access_token_hash == "hash-1"
    assert session.created_at == session.last_login_time == clock.now()
    assert session.last_access_time == clock.now()
    assert session.expires_at == clock.now() + IDLE
    assert (session.ip_address, session.user_agent) == ("10.0.0.1", "curl/8")
    assert not session.is_child

    item = raw_item(store, parent_session_key(session.session_id, "alice"))
    assert item is not None
    assert item["PK"] == f"suuid#{session.session_id}"
    assert item["SK"] == "c#alice"
    assert item["customer_id"] == "alice"
    assert item["session_state"] == "active"
    assert item["session_generation"] == session.session_generation == 3
    assert item["access_token"] == "hash-1"
    assert item["expires_at"] == epoch(clock.now() + IDLE)


def test_new_session_ids_sort_in_login_order(store: Any) -> None:
    ids = [create_session(store, "alice", token_hash="h").session_id for _ in range(5)]
    assert sorted(ids) == ids
    assert len(set(ids)) == 5


def test_a_duplicate_session_id_is_a_conflict_and_keeps_the_first(store: Any, calls: Any) -> None:
    create_session(store, "alice", token_hash="first", session_id="fixed")
    calls.reset()
    with pytest.raises(ConflictError, match="fixed"):
        create_session(store, "alice", token_hash="second", session_id="fixed", generation=0)
    assert calls.counts == {"PutItem": 1}
    item = raw_item(store, parent_session_key("fixed", "alice"))
    assert item is not None
    assert item["access_token"] == "first"


@pytest.mark.parametrize(
    ("ip_address", "user_agent"),
    [(None, None), ("10.0.0.1", "curl/8"), ("", ""), ("::1", None)],
    ids=["none", "both", "empty", "ip_only"],
)
def test_a_created_session_equals_the_session_read_back(
    store: Any, ip_address: str | None, user_agent: str | None
) -> None:
    created = create_session(
        store, "alice", token_hash="h", ip_address=ip_address, user_agent=user_agent
    )
    assert created.ip_address == (ip_address or None)
    assert created.user_agent == (user_agent or None)
    assert get_session_by_session_id(store, created.session_id, "alice") == created
    assert get_session_by_session_id(store, created.session_id) == created
    [listed] = get_sessions_by_customer_id(store, "alice").records
    assert listed == created


# -- getSessionBySessionId -----------------------------------------------------------------


def test_get_session_with_the_customer_costs_one_getitem(store: Any, calls: Any) -> None:
    session = create_session(store, "alice", token_hash="h")
    calls.reset()
    assert get_session_by_session_id(store, session.session_id, "alice") == session
    assert calls.counts == {"GetItem": 1}
    assert sent(calls, "GetItem")[0]["ConsistentRead"] is True


def test_get_session_without_the_customer_costs_one_query(store: Any, calls: Any) -> None:
    session = create_session(store, "alice", token_hash="h")
    create_child_session(store, session, client="app", token_hash="c")  # sorts before "c#"? no
    calls.reset()
    assert get_session_by_session_id(store, session.session_id) == session
    assert calls.counts == {"Query": 1}
    assert sent(calls, "Query")[0]["ConsistentRead"] is True


def test_get_session_of_an_unknown_id_or_another_customer_is_none(store: Any, calls: Any) -> None:
    session = create_session(store, "alice", token_hash="h")
    child = create_child_session(store, session, client="app", token_hash="c")
    calls.reset()
    assert get_session_by_session_id(store, session.session_id, "bob") is None
    assert get_session_by_session_id(store, "no-such-session") is None
    assert get_session_by_session_id(store, "no-such-session", "alice") is None
    # A child id is not a parent session id.
    assert get_session_by_session_id(store, child.session_id) is None
    assert calls.counts == {"GetItem": 2, "Query": 2}


# -- getChildSessionsBySessionId -----------------------------------------------------------


def test_child_sessions_page_through_in_pages_of_twenty(store: Any, calls: Any) -> None:
    parent = create_session(store, "alice", token_hash="h")
    other = create_session(store, "alice", token_hash="h")
    create_child_session(store, other, client="elsewhere", token_hash="x")
    created = {
        create_child_session(store, parent, client=f"app{i}", token_hash=f"t{i}").session_id
        for i in range(45)
    }
    pages = []
    after = None
    while True:
        calls.reset()
        page = get_child_sessions_by_session_id(store, parent.session_id, first=20, after=after)
        assert calls.counts == {"Query": 1}
        pages.append(page)
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert [len(p.records) for p in pages] == [20, 20, 5]
    assert [p.has_next_page for p in pages] == [True, True, False]
    listed = [child.session_id for p in pages for child in p.records]
    assert len(listed) == len(set(listed)) == 45
    assert set(listed) == created
    assert listed == sorted(listed)
    for page in pages:
        assert len(page.cursors) == len(page.records)
        for child, cursor in zip(page.records, page.cursors, strict=True):
            assert child.parent_session_id == parent.session_id
            assert child.customer_id == "alice"
            assert child.is_child
            assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
            assert child.session_id not in cursor
            assert parent.session_id not in cursor


def test_a_child_page_of_size_zero_says_whether_children_exist(store: Any) -> None:
    parent = create_session(store, "alice", token_hash="h")
    empty = get_child_sessions_by_session_id(store, parent.session_id, first=0)
    assert (empty.records, empty.has_next_page) == ([], False)
    create_child_session(store, parent, client="app", token_hash="c")
    page = get_child_sessions_by_session_id(store, parent.session_id, first=0)
    assert (page.records, page.has_next_page) == ([], True)


@pytest.mark.parametrize("first", [-1, 101])
def test_page_sizes_outside_0_to_100_are_refused_before_a_query(
    store: Any, calls: Any, first: int
) -> None:
    calls.reset()
    with pytest.raises(InvalidPageSizeError):
        get_child_sessions_by_session_id(store, "s1", first=first)
    with pytest.raises(InvalidPageSizeError):
        get_sessions_by_customer_id(store, "alice", first=first)
    assert calls.total == 0


def test_a_child_cursor_only_works_on_the_list_it_came_from(store: Any, calls: Any) -> None:
    mine = create_session(store, "alice", token_hash="h", session_id="mine")
    theirs = create_session(store, "bob", token_hash="h", session_id="theirs")
    for i in range(3):
        create_child_session(store, mine, client="app", token_hash="c", child_session_id=f"m{i}")
        create_child_session(store, theirs, client="app", token_hash="c", child_session_id=f"t{i}")
    their_cursor = get_child_sessions_by_session_id(store, "theirs", first=1).end_cursor
    customer_cursor = get_sessions_by_customer_id(store, "alice", first=1).end_cursor
    assert their_cursor is not None and customer_cursor is not None
    refused = {
        "another parent's cursor": their_cursor,
        "a customer-sessions cursor": customer_cursor,
        "forged: the parent item": encode_cursor(parent_session_key("mine", "alice")),
        "forged: the customer item": encode_cursor(customer_key("alice")),
        "forged: another partition": encode_cursor(child_session_key("theirs", "t0")),
        "forged: a hostile child id": encode_cursor({"PK": "suuid#mine", "SK": "child#suuid#a#b"}),
        "garbage": "definitely-not-a-cursor",
        "empty": "",
    }
    for what, cursor in refused.items():
        calls.reset()
        with pytest.raises(InvalidCursorError):
            get_child_sessions_by_session_id(store, "mine", first=1, after=cursor)
        assert calls.total == 0, what
    # The right cursor works.
    own = get_child_sessions_by_session_id(store, "mine", first=1)
    rest = get_child_sessions_by_session_id(store, "mine", after=own.end_cursor)
    assert [c.session_id for c in rest.records] == ["m1", "m2"]


# -- getSessionByChildSessionId ------------------------------------------------------------


def test_session_by_child_session_id_finds_the_parent(store: Any, calls: Any) -> None:
    parent = create_session(store, "alice", token_hash="h")
    other = create_session(store, "alice", token_hash="h")
    child = create_child_session(store, parent, client="sso", token_hash="c")
    create_child_session(store, other, client="sso", token_hash="c")
    calls.reset()
    assert get_session_by_child_session_id(store, child.session_id) == parent
    assert calls.counts == {"Query": 1, "GetItem": 1}
    assert sent(calls, "Query")[0]["IndexName"] == "GSI1_inverse"

    found = get_child_session_by_child_session_id(store, child.session_id)
    assert found == child
    assert get_child_session(store, parent.session_id, child.session_id) == child
    assert found is not None and found.client == "sso"


def test_session_by_an_unknown_child_id_is_none(store: Any, calls: Any) -> None:
    parent = create_session(store, "alice", token_hash="h")
    calls.reset()
    assert get_session_by_child_session_id(store, "no-such-child") is None
    assert get_session_by_child_session_id(store, parent.session_id) is None  # a parent id
    assert calls.counts == {"Query": 2}


# -- getLastLoginTimeByCustomerId ----------------------------------------------------------


def test_last_login_time_is_the_latest_login(store: Any, clock: Any) -> None:
    assert get_last_login_time_by_customer_id(store, "alice") is None
    first = login(store, "alice")
    clock.advance(timedelta(hours=1))
    login(store, "bob")
    clock.advance(timedelta(minutes=5))
    second = login(store, "alice")
    clock.advance(timedelta(minutes=5))
    login(store, "alice2")
    assert first.last_login_time is not None and second.last_login_time is not None
    assert get_last_login_time_by_customer_id(store, "alice") == second.last_login_time
    assert second.last_login_time == first.last_login_time + timedelta(hours=1, minutes=5)
    assert get_last_login_time_by_customer_id(store, "bob") == first.last_login_time + timedelta(
        hours=1
    )


def test_last_login_time_survives_the_end_of_every_session(store: Any, clock: Any) -> None:
    login(store, "alice")
    clock.advance(timedelta(minutes=10))
    latest = login(store, "alice")
    end_all_sessions(store, "alice")
    assert len(sweep_customer(store, "alice").ended) == 2
    assert get_sessions_by_customer_id(store, "alice").records == []
    assert get_last_login_time_by_customer_id(store, "alice") == latest.last_login_time
    clock.advance(timedelta(days=30))  # the customer item does not expire
    assert get_last_login_time_by_customer_id(store, "alice") == latest.last_login_time


def test_last_login_time_comes_from_sessions_without_a_customer_item(
    store: Any, clock: Any
) -> None:
    create_session(store, "sso-only", token_hash="h")
    clock.advance(timedelta(minutes=3))
    latest = create_session(store, "sso-only", token_hash="h")
    assert get_last_login_time_by_customer_id(store, "sso-only") == latest.last_login_time


# -- getSessionIdByCustomerId --------------------------------------------------------------


def test_session_id_by_customer_id_only_answers_for_the_owner(store: Any, calls: Any) -> None:
    mine = login(store, "alice")
    theirs = login(store, "bob")
    calls.reset()
    assert get_session_id_by_customer_id(store, "alice", mine.session_id) == mine
    assert calls.counts == {"Query": 1}
    assert get_session_id_by_customer_id(store, "alice", theirs.session_id) is None
    assert get_session_id_by_customer_id(store, "bob", mine.session_id) is None
    assert get_session_id_by_customer_id(store, "alice", "no-such-session") is None
    assert get_session_id_by_customer_id(store, "bob", theirs.session_id) == theirs


# -- getSessionsByCustomerId ---------------------------------------------------------------


def test_sessions_by_customer_page_newest_first(store: Any, calls: Any, clock: Any) -> None:
    sessions = []
    for _ in range(5):
        sessions.append(login(store, "alice"))
        login(store, "bob")
        clock.advance(timedelta(minutes=1))
    create_child_session(store, sessions[0], client="app", token_hash="c")
    newest_first = [s.session_id for s in reversed(sessions)]

    pages = []
    after = None
    while True:
        calls.reset()
        page = get_sessions_by_customer_id(store, "alice", first=2, after=after)
        assert calls.counts == {"Query": 1}
        assert sent(calls, "Query")[0]["ScanIndexForward"] is False
        pages.append(page)
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert [[s.session_id for s in p.records] for p in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
    ]
    assert [p.has_next_page for p in pages] == [True, True, False]
    assert all(s.customer_id == "alice" for p in pages for s in p.records)

    oldest_first = get_sessions_by_customer_id(store, "alice", first=100, newest_first=False)
    assert [s.session_id for s in oldest_first.records] == newest_first[::-1]
    assert oldest_first.has_next_page is False


def test_a_customer_cursor_cannot_reach_another_customer(store: Any, calls: Any) -> None:
    for _ in range(2):
        login(store, "alice")
        login(store, "bob")
    bobs_cursor = get_sessions_by_customer_id(store, "bob", first=1).end_cursor
    assert bobs_cursor is not None
    refused = [
        bobs_cursor,
        encode_cursor(customer_key("alice")),
        encode_cursor(child_session_key("s1", "k1")),
        encode_cursor({"PK": "suuid#a#b", "SK": "c#alice"}),
        "Zm9vYmFy",
    ]
    for cursor in refused:
        calls.reset()
        with pytest.raises(InvalidCursorError):
            get_sessions_by_customer_id(store, "alice", after=cursor)
        assert calls.total == 0, cursor


# -- expireSession (single session; the cascade is in test_lifecycle) -----------------------


def test_expire_session_deletes_the_session_and_its_children(store: Any, calls: Any) -> None:
    parent = login(store, "alice")
    children = [
        create_child_session(store, parent, client=f"app{i}", token_hash="c") for i in range(2)
    ]
    kept = login(store, "alice")
    calls.reset()
    ended = expire_session(store, parent.session_id, "alice")
    assert ended == [parent.session_id, *sorted(c.session_id for c in children)]
    assert calls.counts == {"UpdateItem": 1, "Query": 1, "BatchWriteItem": 1, "DeleteItem": 1}
    assert raw_partition(store, f"suuid#{parent.session_id}") == []
    assert get_session_by_session_id(store, parent.session_id) is None
    assert get_child_session_by_child_session_id(store, children[0].session_id) is None
    listed = get_sessions_by_customer_id(store, "alice").records
    assert [s.session_id for s in listed] == [kept.session_id]
