"""Deleting the items of sessions that are already dead: bounded, idempotent clean-up.

A revocation (`dynamo.revocation`) ends every session at once; deleting their items is only
clean-up, so it can wait and can stop anywhere. Three places do it, each bounded:

- `end_listed_sessions`, in the logoutAll / changePassword request: one GSI page of the
  customer's sessions (at most `limit`), the dead ones deleted in BatchWriteItem pages.
- `sweep_customer`, in the background after that request, and by `sessiongraph sweep
  --customer`: the children of the sessions the request deleted, then every dead session of
  the customer (children first, then the parent), within a `Budget` of items and time.
- `dynamo.table_sweep.sweep_table`, by `sessiongraph sweep --all` only (an operator's
  command, never a request path): a paged Scan that deletes dead sessions and children whose
  parent is gone.

Dead means: revoked (generation below the customer's, see `dynamo.revocation`), `closing`
(a logout cut short), or expired. The generation read from the GSI may lag, but a dead
session never comes back to life (only the kept parent of a changePassword is restamped, and
it is never deleted here), so deciding from a lagging copy deletes nothing alive; it may
only leave something for the next pass. What is left is found by the next sweep, or by TTL
(`expires_at`: a child's is capped by its parent's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dynamo.batch import batch_delete
from dynamo.keys import customer_key
from dynamo.lifecycle import child_keys, session_ids
from dynamo.limits import BATCH_WRITE_PAGE_LIMIT
from dynamo.records import Customer, ParentSession
from dynamo.revocation import parent_is_current
from dynamo.sessions import as_parent, customer_sessions_query, get_records_by_keys
from dynamo.store import Store, from_attributes

Key = dict[str, str]


@dataclass(frozen=True)
class Budget:
    """How much one clean-up run may do: items deleted, seconds spent, and a stop signal
    (set at shutdown). Checked between sessions, so a run overshoots by one session's items
    at most."""

    max_items: int = 1000
    max_seconds: float = 30.0
    stop: threading.Event = field(default_factory=threading.Event)
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class SweepResult:
    ended: list[str] = field(default_factory=list)
    """Ids of the sessions whose items were deleted (parents and children)."""
    deleted: int = 0
    complete: bool = True
    """False when the budget ran out before everything was looked at."""


@dataclass(frozen=True, slots=True)
class ListedEnd:
    ended: list[str]
    more: bool
    """The customer has more sessions than the page held: left to the background."""


def dead_parent(customer: Customer | None, parent: ParentSession, now: datetime) -> bool:
    if parent.state != "active":
        return True
    if parent.expires_at is not None and parent.expires_at <= now:
        return True
    return not parent_is_current(customer, parent)


def end_listed_sessions(
    store: Store, customer: Customer | None, customer_id: str, *, limit: int
) -> ListedEnd:
    """One GSI Query (at most `limit` sessions, oldest first) and the dead ones deleted in
    BatchWriteItem pages: the bounded part of a revocation's clean-up, done in the request.

    Their children are not queried here (one Query each): they are dead with their parent
    (a child needs its live parent and a current generation), and the background sweep,
    given these ids, deletes them.
    """
    if limit <= 0:
        return ListedEnd([], True)
    args = customer_sessions_query(customer_id).arguments(store)
    args["Limit"] = limit
    response = store.client.query(**args)
    now = store.clock.now()
    dead = []
    for raw in response.get("Items", []):
        parent = as_parent(from_attributes(raw))
        if parent is not None and dead_parent(customer, parent, now):
            dead.append(parent)
    batch_delete(store, [p.key for p in dead])
    return ListedEnd([p.session_id for p in dead], bool(response.get("LastEvaluatedKey")))


def read_customer(store: Store, customer_id: str) -> Customer | None:
    record = get_records_by_keys(store, [customer_key(customer_id)])[0]
    return record if isinstance(record, Customer) else None


def sweep_customer(
    store: Store,
    customer_id: str,
    *,
    deleted_parents: Sequence[str] = (),
    budget: Budget | None = None,
) -> SweepResult:
    """Delete the dead sessions of one customer, within `budget`; safe to run again.

    First the children of `deleted_parents` (parents a request deleted already), then each
    dead session the GSI lists: its children (one Query), then the parent.
    """
    budget = budget or Budget()
    started = budget.monotonic()
    result = SweepResult()

    def spent() -> bool:
        return (
            budget.stop.is_set()
            or result.deleted + len(pending) >= budget.max_items
            or budget.monotonic() - started >= budget.max_seconds
        )

    pending: list[Key] = []

    def flush(at_least: int) -> None:
        # Children go before (or with) their parent: a run cut short leaves no orphans.
        while len(pending) >= at_least and pending:
            delete_keys(store, pending[:BATCH_WRITE_PAGE_LIMIT], result)
            del pending[:BATCH_WRITE_PAGE_LIMIT]

    for parent_id in deleted_parents:
        if spent():
            flush(1)
            result.complete = False
            return result
        pending.extend(child_keys(store, parent_id))
        flush(BATCH_WRITE_PAGE_LIMIT)
    customer = read_customer(store, customer_id)
    now = store.clock.now()
    args = customer_sessions_query(customer_id).arguments(store)
    while True:
        response = store.client.query(**args)
        for raw in response.get("Items", []):
            parent = as_parent(from_attributes(raw))
            if parent is None or not dead_parent(customer, parent, now):
                continue
            if spent():
                flush(1)
                result.complete = False
                return result
            pending.extend(child_keys(store, parent.session_id))
            pending.append(parent.key)
            flush(BATCH_WRITE_PAGE_LIMIT)
        last = response.get("LastEvaluatedKey")
        if not last:
            flush(1)
            return result
        args["ExclusiveStartKey"] = last


def delete_keys(store: Store, keys: list[Key], result: SweepResult) -> None:
    if not keys:
        return
    batch_delete(store, keys)
    result.deleted += len(keys)
    result.ended.extend(_ids(keys))


def _ids(keys: Iterable[Key]) -> list[str]:
    return session_ids(list(keys))


__all__ = [
    "Budget",
    "ListedEnd",
    "SweepResult",
    "end_listed_sessions",
    "read_customer",
    "sweep_customer",
]
