"""Deleting the items of sessions that are already dead: bounded, idempotent clean-up.

A revocation (`dynamo.revocation`) ends every session at once; deleting their items is only
clean-up, so it can wait and can stop anywhere. Three places do it, each bounded:

- `end_listed_sessions`, in the logoutAll / changePassword request: one GSI page of the
  customer's sessions (at most `limit`), the dead ones deleted in BatchWriteItem pages.
- `sweep_customer`, in the background after that request, and by `sessiongraph sweep
  --customer`: the children of the sessions the request deleted, then every dead session of
  the customer (children first, then the parent), within a `Budget` of items and time.
- `sweep_table`, by `sessiongraph sweep --all` only (an operator's command, never a request
  path): a paged Scan that deletes dead sessions and children whose parent is gone.

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
from typing import Any

from dynamo.batch import batch_delete, batch_get
from dynamo.keys import customer_key, parent_session_key
from dynamo.lifecycle import child_keys, session_ids
from dynamo.limits import BATCH_WRITE_PAGE_LIMIT
from dynamo.records import ChildSession, Customer, ParentSession, record_from_item
from dynamo.revocation import is_current, parent_is_current
from dynamo.sessions import as_parent, customer_sessions_query, get_records_by_keys
from dynamo.store import Store, from_attributes, to_attributes

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


def _dead_parent(customer: Customer | None, parent: ParentSession, now: datetime) -> bool:
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
        if parent is not None and _dead_parent(customer, parent, now):
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
            _delete(store, pending[:BATCH_WRITE_PAGE_LIMIT], result)
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
            if parent is None or not _dead_parent(customer, parent, now):
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


def _delete(store: Store, keys: list[Key], result: SweepResult) -> None:
    if not keys:
        return
    batch_delete(store, keys)
    result.deleted += len(keys)
    result.ended.extend(_ids(keys))


def _ids(keys: Iterable[Key]) -> list[str]:
    return session_ids(list(keys))


def sweep_table(store: Store, *, budget: Budget | None = None, page_size: int = 500) -> SweepResult:
    """`sessiongraph sweep --all`: a paged Scan of the whole table (an operator's command,
    never a request path), deleting dead sessions and children whose parent is gone or dead.

    Per Scan page: one BatchGetItem for the customers and parents it needs (cached for the
    run), then the deletions. A parent deleted here before its children are scanned leaves
    them parentless, and they are deleted when the Scan reaches them.
    """
    budget = budget or Budget()
    started = budget.monotonic()
    result = SweepResult()
    customers: dict[str, Customer | None] = {}
    parents: dict[str, ParentSession | None] = {}
    args: dict[str, Any] = {
        "TableName": store.table_name,
        "Limit": page_size,
        "ConsistentRead": True,
    }
    while True:
        if (
            budget.stop.is_set()
            or budget.monotonic() - started >= budget.max_seconds
            or result.deleted >= budget.max_items
        ):
            result.complete = False
            return result
        response = store.client.scan(**args)
        records = [record_from_item(from_attributes(raw)) for raw in response.get("Items", [])]
        sessions = [r for r in records if isinstance(r, (ParentSession, ChildSession))]
        _load_parents(store, [s for s in sessions if isinstance(s, ChildSession)], parents)
        owners = {
            owner
            for s in sessions
            if (owner := _owner(s, parents)) is not None and owner not in customers
        }
        for owner, found in zip(owners, _customers(store, list(owners)), strict=True):
            customers[owner] = found
        now = store.clock.now()
        dead: list[Key] = []
        for session in sessions:
            if _dead_in_scan(session, parents, customers, now):
                dead.append(session.key)
                if isinstance(session, ParentSession):
                    parents[session.session_id] = None
        while dead:
            room = budget.max_items - result.deleted
            if room <= 0:
                result.complete = False
                return result
            chunk = dead[: min(BATCH_WRITE_PAGE_LIMIT, room)]
            del dead[: len(chunk)]
            _delete(store, chunk, result)
        last = response.get("LastEvaluatedKey")
        if not last:
            return result
        args["ExclusiveStartKey"] = last


def _owner(
    session: ParentSession | ChildSession, parents: dict[str, ParentSession | None]
) -> str | None:
    if session.customer_id is not None:
        return session.customer_id
    if isinstance(session, ChildSession):
        parent = parents.get(session.parent_session_id)
        return parent.customer_id if parent is not None else None
    return None


def _load_parents(
    store: Store, children: list[ChildSession], parents: dict[str, ParentSession | None]
) -> None:
    """The parents of these children, by full key where the child names its customer."""
    wanted = {
        c.parent_session_id: c.customer_id for c in children if c.parent_session_id not in parents
    }
    keyed = [(pid, cid) for pid, cid in wanted.items() if cid is not None]
    items = batch_get(store, [parent_session_key(pid, cid) for pid, cid in keyed]) if keyed else []
    for (pid, _), item in zip(keyed, items, strict=True):
        record = record_from_item(item) if item else None
        parents[pid] = record if isinstance(record, ParentSession) else None
    for pid, cid in wanted.items():
        if cid is None:  # foreign children name no customer: find the parent by its partition
            response = store.client.query(
                TableName=store.table_name,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
                ExpressionAttributeValues=to_attributes({":pk": "suuid#" + pid, ":c": "c#"}),
                ConsistentRead=True,
                Limit=1,
            )
            found = [as_parent(from_attributes(i)) for i in response.get("Items", [])]
            parents[pid] = found[0] if found else None


def _customers(store: Store, customer_ids: list[str]) -> list[Customer | None]:
    if not customer_ids:
        return []
    records = [
        record_from_item(i) if i else None
        for i in batch_get(store, [customer_key(c) for c in customer_ids])
    ]
    return [r if isinstance(r, Customer) else None for r in records]


def _dead_in_scan(
    session: ParentSession | ChildSession,
    parents: dict[str, ParentSession | None],
    customers: dict[str, Customer | None],
    now: datetime,
) -> bool:
    if session.expires_at is not None and session.expires_at <= now:
        return True
    if isinstance(session, ParentSession):
        return _dead_parent(customers.get(session.customer_id), session, now)
    parent = parents.get(session.parent_session_id)
    if parent is None:
        return True  # parentless: a child never outlives its parent
    customer = customers.get(parent.customer_id)
    return (
        session.state != "active"
        or _dead_parent(customer, parent, now)
        or not is_current(customer, parent, session)
    )


__all__ = [
    "Budget",
    "ListedEnd",
    "SweepResult",
    "end_listed_sessions",
    "read_customer",
    "sweep_customer",
    "sweep_table",
]
