"""The seed's access patterns on parent and child sessions (docs/design.md section 2).

createSession, getSessionBySessionId, getChildSessionsBySessionId,
getSessionByChildSessionId, getLastLoginTimeByCustomerId, getSessionIdByCustomerId and
getSessionsByCustomerId live here; expireSession is the cascade in `dynamo.lifecycle`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from uuid6 import uuid7

from dynamo.batch import batch_get
from dynamo.cursors import decode_cursor
from dynamo.errors import ConflictError
from dynamo.expiry import session_deadline
from dynamo.keys import (
    CHILD_SK_PREFIX,
    SESSION_PREFIX,
    child_session_key,
    child_sk,
    customer_key,
    customer_key_part,
    parent_session_key,
    parse_key,
    session_pk,
    validate_id,
)
from dynamo.query import KeyQuery, Page, query_all, query_page
from dynamo.records import (
    AnyRecord,
    ChildSession,
    Item,
    ParentSession,
    is_expired,
    record_from_item,
)
from dynamo.store import Store, from_attributes, to_attributes
from dynamo.timefmt import parse_iso, to_epoch, to_iso

Key = dict[str, str]


def new_session_id() -> str:
    """UUIDv7: time-ordered, so the GSI lists a customer's sessions in login order."""
    return str(uuid7())


def as_parent(item: Item) -> ParentSession | None:
    record = record_from_item(item)
    return record if isinstance(record, ParentSession) else None


def as_child(item: Item) -> ChildSession | None:
    record = record_from_item(item)
    return record if isinstance(record, ChildSession) else None


def _live(store: Store, item: Item | None) -> Item | None:
    return None if item is None or is_expired(item, store.clock.now()) else item


def live_record(item: Item | None, now: datetime) -> AnyRecord | None:
    """The record of an item already read; None for a missing or expired one."""
    return None if item is None or is_expired(item, now) else record_from_item(item)


def get_live_item(store: Store, key: Key) -> Item | None:
    """GetItem, strongly consistent; an expired item reads as absent."""
    item = store.client.get_item(
        TableName=store.table_name, Key=to_attributes(key), ConsistentRead=True
    ).get("Item")
    return _live(store, from_attributes(item) if item else None)


def put_new_item(store: Store, item: Item, what: str) -> None:
    """PutItem that never overwrites: an existing key is a `ConflictError`."""
    try:
        store.client.put_item(
            TableName=store.table_name,
            Item=to_attributes(item),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except store.client.exceptions.ConditionalCheckFailedException as exc:
        raise ConflictError(f"{what} exists already") from exc


# createSession ---------------------------------------------------------------------------


def current_generation(store: Store, customer_id: str) -> int:
    """The customer's `session_generation` (strongly consistent; absent item or value: 0)."""
    item = store.client.get_item(
        TableName=store.table_name,
        Key=to_attributes(customer_key(customer_id)),
        ConsistentRead=True,
        ProjectionExpression="session_generation",
    ).get("Item")
    value = from_attributes(item).get("session_generation") if item else None
    return int(value) if value is not None else 0


def create_session(
    store: Store,
    customer_id: str,
    *,
    token_hash: str,
    ip_address: str | None = None,
    user_agent: str | None = None,
    session_id: str | None = None,
    generation: int | None = None,
) -> ParentSession:
    """PutItem a new active parent session, refusing to overwrite an existing one.

    `generation` is the customer's `session_generation` under which it is created: for a
    password login, the one read together with the password hash, so that a logoutAll or
    password change landing in between leaves the session dead on arrival. None reads it
    now (one strongly consistent GetItem of the customer item, just before the write).
    """
    session_id = (
        validate_id(session_id, "sessionId") if session_id is not None else new_session_id()
    )
    key = parent_session_key(session_id, customer_id)
    if generation is None:
        generation = current_generation(store, customer_id)
    now = store.clock.now()
    item: Item = {
        **key,
        "customer_id": customer_id,
        "session_state": "active",
        "access_token": token_hash,
        "created_at": to_iso(now),
        "last_login_time": to_iso(now),
        "last_access_time": to_iso(now),
        "expires_at": to_epoch(session_deadline(now, now, store.policy)),
        "ip_address": ip_address,
        "user_agent": user_agent,
        "session_generation": generation,
    }
    put_new_item(store, item, f"session {session_id}")
    parent = as_parent(item)
    assert parent is not None
    return parent


def remove_unissued_session(store: Store, session: ParentSession) -> None:
    """Delete a parent session whose token was never handed out (so it has no children):
    a login that found, in its last write, that it must not succeed."""
    store.client.delete_item(TableName=store.table_name, Key=to_attributes(session.key))


# getSessionBySessionId -------------------------------------------------------------------


def get_session_by_session_id(
    store: Store, session_id: str, customer_id: str | None = None
) -> ParentSession | None:
    """GetItem when the customer is known (the full key), else a Query on the partition."""
    if customer_id is not None:
        found = get_live_item(store, parent_session_key(session_id, customer_id))
        return as_parent(found) if found else None
    response = store.client.query(
        TableName=store.table_name,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
        ExpressionAttributeValues=to_attributes({":pk": session_pk(session_id), ":c": "c#"}),
        ConsistentRead=True,
        Limit=1,
    )
    for raw in response.get("Items", []):
        found = _live(store, from_attributes(raw))
        return as_parent(found) if found else None
    return None


def get_records_by_keys(store: Store, keys: Sequence[Key]) -> list[AnyRecord | None]:
    """Any items by full key (BatchGetItem, consistent), in key order; None for a missing
    or expired one."""
    now = store.clock.now()
    return [live_record(item, now) for item in batch_get(store, keys)]


def get_sessions_by_keys(
    store: Store, keys: Sequence[Key]
) -> list[ParentSession | ChildSession | None]:
    """Sessions by full key (BatchGetItem), in key order; None for a missing or expired one."""
    return [
        r if isinstance(r, (ParentSession, ChildSession)) else None
        for r in get_records_by_keys(store, keys)
    ]


def get_child_session(
    store: Store, parent_session_id: str, child_session_id: str
) -> ChildSession | None:
    found = get_live_item(store, child_session_key(parent_session_id, child_session_id))
    return as_child(found) if found else None


# getChildSessionsBySessionId -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildPage(Page[ChildSession]):
    parent: ParentSession | None = None
    """The parent item, when asked for and read in the same Query (first page only)."""


def get_child_sessions_by_session_id(
    store: Store,
    session_id: str,
    *,
    first: int = 20,
    after: str | None = None,
    customer_id: str | None = None,
    include_parent: bool = False,
) -> ChildPage:
    """Query `PK = suuid#<id>`, `begins_with(SK, "child#")`, one page.

    `customer_id` (the parent's) fills in child items written without one. With
    `include_parent`, the first page's Query reads the whole partition instead: the parent
    item sorts first (`c#` < `child#`), so the same round trip returns it, consistently.
    """
    pk = session_pk(session_id)
    start = (
        decode_cursor(after, lambda p, s: p == pk and _is_child_sk(s))
        if after is not None
        else None
    )
    parents: list[ParentSession] = []

    def convert(item: Item) -> ChildSession | None:
        record = record_from_item(item)
        if isinstance(record, ParentSession):
            parents.append(record)
            return None
        if not isinstance(record, ChildSession):
            return None
        if record.customer_id is None and customer_id is not None:
            record = dataclasses.replace(record, customer_id=customer_id)
        return record

    if include_parent and start is None:
        query = KeyQuery("PK = :pk", {":pk": pk})
    else:
        query = KeyQuery(
            "PK = :pk AND begins_with(SK, :child)", {":pk": pk, ":child": CHILD_SK_PREFIX}
        )
    page = query_page(store, query, convert, first=first, after=start)
    return ChildPage(
        records=page.records,
        cursors=page.cursors,
        has_next_page=page.has_next_page,
        resume_cursor=page.resume_cursor,
        parent=parents[0] if parents else None,
    )


def _is_child_sk(sk: str) -> bool:
    parsed = parse_key(SESSION_PREFIX + "x", sk)
    return parsed is not None and parsed.kind == "child" and _valid(parsed.session_id)


def _valid(value: str | None) -> bool:
    try:
        validate_id(value or "")
    except ValueError:
        return False
    return True


# getSessionByChildSessionId --------------------------------------------------------------


def get_child_session_by_child_session_id(
    store: Store, child_session_id: str
) -> ChildSession | None:
    """GSI Query `SK = child#suuid#<id>`: the child item, whose PK names its parent."""
    query = KeyQuery("SK = :sk", {":sk": child_sk(child_session_id)}, on_index=True)
    now = store.clock.now()
    for item in query_all(store, query):
        if not is_expired(item, now):
            return as_child(item)
    return None


def get_session_by_child_session_id(store: Store, child_session_id: str) -> ParentSession | None:
    """The parent of a child session: GSI Query for the child, then a read of the parent."""
    child = get_child_session_by_child_session_id(store, child_session_id)
    if child is None:
        return None
    return get_session_by_session_id(store, child.parent_session_id, child.customer_id)


# getLastLoginTimeByCustomerId ------------------------------------------------------------


def get_last_login_time_by_customer_id(store: Store, customer_id: str) -> datetime | None:
    """The latest `last_login_time` in the customer's GSI partition.

    The partition holds the customer item (which every login updates, so the time survives
    the session) and the sessions. The latest time is taken over the whole partition rather
    than the first item newest-first: ids in tables written by others are random, so key order
    is not login order there.
    """
    query = KeyQuery("SK = :sk", {":sk": customer_key_part(customer_id)}, on_index=True)
    now = store.clock.now()
    latest: datetime | None = None
    for item in query_all(store, query, projection="PK, SK, last_login_time, expires_at"):
        if is_expired(item, now):
            continue
        moment = parse_iso(item.get("last_login_time"))
        if moment is not None and (latest is None or moment > latest):
            latest = moment
    return latest


# getSessionIdByCustomerId ----------------------------------------------------------------


def get_session_id_by_customer_id(
    store: Store, customer_id: str, session_id: str
) -> ParentSession | None:
    """GSI Query `SK = c#<customer> AND PK = suuid#<session>`: is it this customer's session?"""
    query = KeyQuery(
        "SK = :sk AND PK = :pk",
        {":sk": customer_key_part(customer_id), ":pk": session_pk(session_id)},
        on_index=True,
    )
    for item in query_all(store, query):
        live = _live(store, item)
        return as_parent(live) if live else None
    return None


# getSessionsByCustomerId -----------------------------------------------------------------


def get_sessions_by_customer_id(
    store: Store,
    customer_id: str,
    *,
    first: int = 20,
    after: str | None = None,
    newest_first: bool = True,
) -> Page[ParentSession]:
    """GSI Query `SK = c#<id>`, `begins_with(PK, "suuid#")`, one page, newest first."""
    sk = customer_key_part(customer_id)
    start = (
        decode_cursor(after, lambda p, s: s == sk and _is_session_pk(p))
        if after is not None
        else None
    )
    query = customer_sessions_query(customer_id, newest_first=newest_first)
    return query_page(store, query, as_parent, first=first, after=start)


def list_all_sessions_of_customer(store: Store, customer_id: str) -> list[ParentSession]:
    """Every parent session of a customer, live or not yet swept, oldest first (GSI)."""
    query = customer_sessions_query(customer_id)
    return [p for p in (as_parent(i) for i in query_all(store, query)) if p is not None]


def customer_sessions_query(customer_id: str, *, newest_first: bool = False) -> KeyQuery:
    """The customer's GSI partition, sessions only (not the customer item)."""
    return KeyQuery(
        "SK = :sk AND begins_with(PK, :s)",
        {":sk": customer_key_part(customer_id), ":s": SESSION_PREFIX},
        on_index=True,
        newest_first=newest_first,
    )


def _is_session_pk(pk: str) -> bool:
    return pk.startswith(SESSION_PREFIX) and _valid(pk[len(SESSION_PREFIX) :])
