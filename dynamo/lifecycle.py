"""Session lifecycle beyond a single item: child sessions, use, and the logout cascade.

There are no transactions (ScyllaDB Alternator has none): ending a parent marks it
`closing` first (its tokens stop working at once), deletes its children, then deletes it.
Each step is idempotent, so a run cut short is finished by running it again.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from dynamo.batch import batch_delete
from dynamo.errors import NotFoundError
from dynamo.expiry import absolute_deadline, needs_touch, session_deadline
from dynamo.keys import (
    CHILD_SK_PREFIX,
    child_session_key,
    parent_session_key,
    parse_key,
    session_pk,
    validate_id,
)
from dynamo.query import KeyQuery, query_all
from dynamo.records import ChildSession, Item, ParentSession
from dynamo.sessions import (
    as_child,
    get_session_by_session_id,
    list_all_sessions_of_customer,
    new_session_id,
    put_new_item,
)
from dynamo.store import Store, from_attributes, to_attributes
from dynamo.timefmt import to_epoch, to_iso

Key = dict[str, str]


def parent_deadline_cap(parent: ParentSession, store: Store) -> datetime | None:
    """A child never outlives its parent: its deadline is capped by the parent's current one.

    A parent's deadline only moves later (use slides it, up to its lifetime), so a child
    whose `expires_at` was capped at its last write expires no later than its parent, and
    TTL takes the children of an idle parent too.
    """
    if parent.expires_at is not None:
        return parent.expires_at
    return absolute_deadline(parent.created_at, store.policy) if parent.created_at else None


def create_child_session(
    store: Store,
    parent: ParentSession,
    *,
    client: str,
    token_hash: str,
    child_session_id: str | None = None,
) -> ChildSession:
    """PutItem a child in the parent's partition; undone if the parent ended meanwhile."""
    child_id = (
        validate_id(child_session_id, "childSessionId")
        if child_session_id is not None
        else new_session_id()
    )
    key = child_session_key(parent.session_id, child_id)
    now = store.clock.now()
    item: Item = {
        **key,
        "customer_id": parent.customer_id,
        "session_state": "active",
        "access_token": token_hash,
        "client": client,
        "created_at": to_iso(now),
        "last_access_time": to_iso(now),
        "expires_at": to_epoch(
            session_deadline(now, now, store.policy, parent_deadline_cap(parent, store))
        ),
        "parent_session_state": "active",
    }
    put_new_item(store, item, f"child session {child_id}")
    # Without a transaction the parent may have been logged out between our check and the
    # write; read it again (strongly) and take the child back if so.
    current = get_session_by_session_id(store, parent.session_id, parent.customer_id)
    if current is None or current.state != "active":
        store.client.delete_item(TableName=store.table_name, Key=to_attributes(key))
        raise NotFoundError(f"session {parent.session_id} ended while the child was created")
    child = as_child(from_attributes(to_attributes(item)))
    assert child is not None
    return child


def touch_session(
    store: Store, session: ParentSession | ChildSession, cap: datetime | None = None
) -> ParentSession | ChildSession:
    """Slide the idle deadline on use, at most once per `touch_interval`."""
    now = store.clock.now()
    if session.state != "active" or not needs_touch(session.last_access_time, now, store.policy):
        return session
    created = session.created_at or now
    deadline = session_deadline(created, now, store.policy, cap)
    try:
        store.client.update_item(
            TableName=store.table_name,
            Key=to_attributes(session.key),
            UpdateExpression="SET last_access_time = :now, expires_at = :exp",
            ConditionExpression="attribute_exists(PK) AND session_state = :active",
            ExpressionAttributeValues=to_attributes(
                {":now": to_iso(now), ":exp": to_epoch(deadline), ":active": "active"}
            ),
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        return session  # ended meanwhile; the next read finds it gone
    return dataclasses.replace(session, last_access_time=now, expires_at=deadline)


# expireSession ---------------------------------------------------------------------------


def expire_session(store: Store, session_id: str, customer_id: str) -> list[str]:
    """End a parent session and its children; returns the ids ended (parent first).

    1. mark the parent `closing` (tokens stop working at once);
    2. delete every child (BatchWriteItem, unprocessed items retried);
    3. delete the parent.
    Each step is idempotent: calling again after a failure finishes the job.
    With no parent item under this customer (ended already, or the id is another
    customer's), only children written for this customer are deleted, and the parent
    id is not reported as ended.
    """
    key = parent_session_key(session_id, customer_id)
    parent_found = True
    try:
        store.client.update_item(
            TableName=store.table_name,
            Key=to_attributes(key),
            UpdateExpression="SET session_state = :closing",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=to_attributes({":closing": "closing"}),
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        parent_found = False
    children = _child_keys(store, session_id, None if parent_found else customer_id)
    batch_delete(store, children)
    store.client.delete_item(TableName=store.table_name, Key=to_attributes(key))
    return ([session_id] if parent_found else []) + _session_ids(children)


def _child_keys(store: Store, session_id: str, owner: str | None = None) -> list[Key]:
    """The keys of a session's children; with `owner`, only those written for that customer."""
    query = KeyQuery(
        "PK = :pk AND begins_with(SK, :child)",
        {":pk": session_pk(session_id), ":child": CHILD_SK_PREFIX},
    )
    items = query_all(store, query, projection="PK, SK, customer_id")
    return [
        {"PK": i["PK"], "SK": i["SK"]}
        for i in items
        if owner is None or i.get("customer_id") == owner
    ]


def expire_child_session(store: Store, parent_session_id: str, child_session_id: str) -> list[str]:
    store.client.delete_item(
        TableName=store.table_name,
        Key=to_attributes(child_session_key(parent_session_id, child_session_id)),
    )
    return [child_session_id]


def expire_customer_sessions(
    store: Store, customer_id: str, *, keep: ParentSession | None = None
) -> list[str]:
    """Delete every session of a customer that the GSI lists, but `keep` (its children go).

    Callers revoke first (`dynamo.customers.revoke_sessions`): that ends every session at
    once, those the GSI does not list yet included, and plays the part of `closing` in the
    single-session cascade. What is left is removing items, so they go in as few calls as
    DynamoDB allows: one Query per session for its children, then BatchWriteItem pages of 25
    (not four calls in a row per session). Running it again finishes an interrupted run.
    """
    doomed: list[Key] = []
    if keep is not None:
        doomed.extend(_child_keys(store, keep.session_id))
    for session in list_all_sessions_of_customer(store, customer_id):
        if keep is None or session.session_id != keep.session_id:
            doomed.append(session.key)
            doomed.extend(_child_keys(store, session.session_id))
    batch_delete(store, doomed)
    return _session_ids(doomed)


def _session_ids(keys: list[Key]) -> list[str]:
    ids = []
    for key in keys:
        parsed = parse_key(key["PK"], key["SK"])
        if parsed is not None and parsed.session_id is not None:
            ids.append(parsed.session_id)
    return ids


def enforce_session_cap(store: Store, customer_id: str) -> list[str]:
    """With a cap on live sessions per customer, end the oldest past it."""
    cap = store.policy.max_sessions_per_customer
    if cap is None:
        return []
    now = store.clock.now()
    live = [
        s
        for s in list_all_sessions_of_customer(store, customer_id)
        if s.state == "active" and (s.expires_at is None or s.expires_at > now)
    ]
    live.sort(key=lambda s: (s.created_at or s.last_login_time or now, s.session_id))
    ended: list[str] = []
    for session in live[: max(0, len(live) - cap)]:
        ended.extend(expire_session(store, session.session_id, customer_id))
    return ended
