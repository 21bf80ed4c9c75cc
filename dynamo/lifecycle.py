"""Session lifecycle beyond a single item: child sessions, use, and the logout cascade.

There are no transactions (ScyllaDB Alternator has none): ending a parent marks it
`closing` first (its tokens stop working at once), deletes its children, then deletes it.
Each step is idempotent, so a run cut short is finished by running it again.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from dynamo.batch import batch_delete
from dynamo.errors import ConflictError, NotFoundError
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
    as_parent,
    create_session,
    customer_sessions_query,
    get_session_by_session_id,
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
        "session_generation": parent.session_generation,
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
    children = child_keys(store, session_id, None if parent_found else customer_id)
    batch_delete(store, children)
    store.client.delete_item(TableName=store.table_name, Key=to_attributes(key))
    return ([session_id] if parent_found else []) + session_ids(children)


def child_keys(store: Store, session_id: str, owner: str | None = None) -> list[Key]:
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


def session_ids(keys: list[Key]) -> list[str]:
    ids = []
    for key in keys:
        parsed = parse_key(key["PK"], key["SK"])
        if parsed is not None and parsed.session_id is not None:
            ids.append(parsed.session_id)
    return ids


# the cap on live sessions per customer ------------------------------------------------------

CAP_ATTEMPTS = 3
"""Sessions a login creates at most when concurrent logins keep ending its newest one."""
CAP_ENDS_PER_LOGIN = 10
"""Sessions one login ends at most (each is a logout cascade): the rest go at later logins."""


def enforce_session_cap(store: Store, session: ParentSession) -> ParentSession:
    """Past the cap on live sessions per customer, end the oldest others; return the session
    the login may hand out (`session`, or a newer one that replaced it).

    Why no login hands out a dead token, with no lock and no transaction:

    1. A login never ends the session it is creating, nor any session newer than it (by
       session id: UUIDv7, time-ordered; the GSI lists them in that order). Of the live
       sessions older than its own it keeps the newest `cap - 1 - (live sessions newer than
       its own)` and ends the rest, at most `CAP_ENDS_PER_LOGIN`. Every login thus agrees on
       which sessions survive: the newest `cap`. Sessions of an older generation than its
       own are dead already and do not count.
    2. Concurrent logins may still end this login's session: one whose session is newer
       sees this one among the oldest. So, after its own pass, the login reads its session
       again (GetItem, strongly consistent). Alive: its token works at that moment, and it is
       returned. Ended: the login writes a replacement under a new, newer id (same token
       secret hash, same generation) and goes again, at most `CAP_ATTEMPTS` times
       (`ConflictError` after that: a storm of logins for one customer).
    3. The replacement keeps the generation the login read (with the password hash): a
       logoutAll or password change that landed meanwhile still leaves it dead on arrival.
       Only an ending by the cap (the item deleted or `closing`) is replaced, never a
       revocation.

    The listing comes from the eventually consistent GSI: a session not listed yet is not
    counted, so the cap may be passed for a moment and is trimmed by the next login. That
    only decides which sessions to end; whether the login's own session is alive is always
    decided by the strongly consistent read.
    """
    cap = store.policy.max_sessions_per_customer
    if not cap:
        return session
    for _ in range(CAP_ATTEMPTS):
        for doomed in _past_the_cap(store, session, cap):
            expire_session(store, doomed.session_id, doomed.customer_id)
        current = get_session_by_session_id(store, session.session_id, session.customer_id)
        if current is not None and current.state == "active":
            return session
        session = create_session(
            store,
            session.customer_id,
            token_hash=session.access_token_hash or "",
            ip_address=session.ip_address,
            user_agent=session.user_agent,
            generation=session.session_generation,
        )
    raise ConflictError("too many logins at once for this customer: try again in a moment")


def _past_the_cap(store: Store, own: ParentSession, cap: int) -> list[ParentSession]:
    """The live sessions older than `own` that the newest `cap` (with `own`) leave out."""
    now = store.clock.now()
    newer = 0
    older: list[ParentSession] = []
    for item in query_all(store, customer_sessions_query(own.customer_id, newest_first=True)):
        session = as_parent(item)
        if session is None or session.session_id == own.session_id:
            continue
        if session.state != "active" or (
            session.expires_at is not None and session.expires_at <= now
        ):
            continue
        if session.session_generation < own.session_generation:
            continue
        if session.pk > own.pk:
            newer += 1
            continue
        older.append(session)
        if len(older) >= max(0, cap - 1 - newer) + CAP_ENDS_PER_LOGIN:
            break
    return older[max(0, cap - 1 - newer) :][:CAP_ENDS_PER_LOGIN]
