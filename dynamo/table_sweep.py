"""`sessiongraph sweep --all`: the whole table, by a paged Scan. An operator's command, run
with the operator's credentials: the server never scans, and its IAM policy does not grant
`dynamodb:Scan` (deploy/cloudformation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dynamo.batch import batch_get
from dynamo.cleanup import Budget, SweepResult, dead_parent, delete_keys
from dynamo.keys import customer_key, parent_session_key
from dynamo.limits import BATCH_WRITE_PAGE_LIMIT
from dynamo.records import ChildSession, Customer, ParentSession, record_from_item
from dynamo.revocation import is_current
from dynamo.sessions import as_parent
from dynamo.store import Store, from_attributes, to_attributes

Key = dict[str, str]


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
            delete_keys(store, chunk, result)
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
        return dead_parent(customers.get(session.customer_id), session, now)
    parent = parents.get(session.parent_session_id)
    if parent is None:
        return True  # parentless: a child never outlives its parent
    customer = customers.get(parent.customer_id)
    return (
        session.state != "active"
        or dead_parent(customer, parent, now)
        or not is_current(customer, parent, session)
    )
