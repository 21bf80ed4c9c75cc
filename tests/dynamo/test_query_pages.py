"""Pages over partitions holding expired items that TTL has not deleted yet (`query_page`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dynamo import query as query_module
from dynamo.limits import MAX_QUERY_ROUNDS, QUERY_READ_AHEAD
from dynamo.sessions import create_session, get_sessions_by_customer_id
from tests.dynamo.helpers import sent

EXPIRE = timedelta(hours=1)  # past the 30-minute idle timeout


def _sessions(store: Any, clock: Any, pattern: str) -> list[str]:
    """Sessions of "alice" with ids in the order of `pattern`: "x" expired, "o" live.

    The ids are given (`s000`, `s001`, ...), so key order interleaves the two kinds freely.
    Returns the live ids, oldest first.
    """
    ids = [f"s{i:03d}" for i in range(len(pattern))]
    for session_id, kind in zip(ids, pattern, strict=True):
        if kind == "x":
            create_session(store, "alice", token_hash="h", session_id=session_id)
    clock.advance(EXPIRE)
    for session_id, kind in zip(ids, pattern, strict=True):
        if kind == "o":
            create_session(store, "alice", token_hash="h", session_id=session_id)
    return [i for i, kind in zip(ids, pattern, strict=True) if kind == "o"]


def _pages(store: Any, first: int, newest_first: bool) -> list[Any]:
    pages = []
    after = None
    while True:
        page = get_sessions_by_customer_id(
            store, "alice", first=first, after=after, newest_first=newest_first
        )
        pages.append(page)
        if not page.has_next_page:
            return pages
        assert len(pages) < 100, "paging does not end"
        after = page.end_cursor


def test_the_read_ahead_and_round_bound_are_named_limits() -> None:
    assert QUERY_READ_AHEAD == 25
    assert MAX_QUERY_ROUNDS == 20


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest_first", "oldest_first"])
def test_sixty_expired_sessions_cost_at_most_three_queries(
    store: Any, calls: Any, clock: Any, newest_first: bool
) -> None:
    for _ in range(60):
        create_session(store, "alice", token_hash="h")
    clock.advance(EXPIRE)
    live = create_session(store, "alice", token_hash="h")

    calls.reset()
    page = get_sessions_by_customer_id(store, "alice", first=1, newest_first=newest_first)
    assert [s.session_id for s in page.records] == [live.session_id]
    assert page.has_next_page is False
    assert calls.counts["Query"] <= 3
    assert calls.total == calls.counts["Query"]
    assert all(q["Limit"] >= QUERY_READ_AHEAD for q in sent(calls, "Query"))


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest_first", "oldest_first"])
@pytest.mark.parametrize(
    "pattern",
    [
        # live items one by one between expired ones, then a run longer than a read
        "oxxoxoo" + "x" * 30 + "oxoxxxo" + "x" * 5,
        # a live item only at each end
        "o" + "x" * 40 + "o",
        # an even number of live items after expired ones: the last page is exactly full
        "x" * 27 + "oo" + "x" * 26 + "oo",
    ],
    ids=["interleaved", "ends", "full_last_page"],
)
def test_pages_of_two_list_every_live_session_once_in_order(
    store: Any, clock: Any, pattern: str, newest_first: bool
) -> None:
    live = _sessions(store, clock, pattern)
    expected = live[::-1] if newest_first else live

    pages = _pages(store, 2, newest_first)

    listed = [s.session_id for p in pages for s in p.records]
    assert listed == expected
    assert all(len(p.records) == 2 for p in pages[:-1])
    assert all(p.has_next_page for p in pages[:-1])
    # has_next_page is exact: the last page is not followed by an empty one.
    assert pages[-1].records
    for page in pages:
        assert len(page.cursors) == len(page.records)


def test_a_page_with_more_than_the_read_ahead_reads_it_all(store: Any, calls: Any) -> None:
    ids = [create_session(store, "alice", token_hash="h").session_id for _ in range(40)]
    calls.reset()
    page = get_sessions_by_customer_id(store, "alice", first=30, newest_first=False)
    assert [s.session_id for s in page.records] == ids[:30]
    assert page.has_next_page is True
    assert calls.counts == {"Query": 1}
    assert sent(calls, "Query")[0]["Limit"] == 31
    rest = get_sessions_by_customer_id(
        store, "alice", first=30, after=page.end_cursor, newest_first=False
    )
    assert [s.session_id for s in rest.records] == ids[30:]
    assert rest.has_next_page is False


def test_a_page_stops_after_the_round_bound_and_paging_carries_on(
    store: Any, calls: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query_module, "QUERY_READ_AHEAD", 2)
    monkeypatch.setattr(query_module, "MAX_QUERY_ROUNDS", 3)
    # Oldest first: one live, 10 expired, two live, 20 expired, one live.
    live = _sessions(store, clock, "o" + "x" * 10 + "oo" + "x" * 20 + "o")

    calls.reset()
    page = get_sessions_by_customer_id(store, "alice", first=2, newest_first=False)
    assert calls.counts == {"Query": 3}
    assert [s.session_id for s in page.records] == live[:1]
    assert page.has_next_page is True  # cut short: more may follow
    assert page.end_cursor == page.cursors[-1]

    pages = [page]
    while page.has_next_page:
        calls.reset()
        page = get_sessions_by_customer_id(
            store, "alice", first=2, after=page.end_cursor, newest_first=False
        )
        assert calls.counts["Query"] <= 3
        pages.append(page)
        assert len(pages) < 50, "paging does not end"
    assert [s.session_id for p in pages for s in p.records] == live
    # Some page was cut short before it found anything: empty, yet it moved paging on.
    empty = [p for p in pages if not p.records]
    assert empty
    assert all(p.has_next_page and p.end_cursor and p.cursors == [] for p in empty)


def test_a_page_that_runs_out_of_items_is_the_last_even_when_empty(
    store: Any, calls: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query_module, "QUERY_READ_AHEAD", 2)
    monkeypatch.setattr(query_module, "MAX_QUERY_ROUNDS", 3)
    _sessions(store, clock, "x" * 5)

    calls.reset()
    page = get_sessions_by_customer_id(store, "alice", first=2, newest_first=False)
    assert calls.counts["Query"] <= 3
    assert (page.records, page.has_next_page, page.end_cursor) == ([], False, None)
