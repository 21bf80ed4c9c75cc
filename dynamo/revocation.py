"""Revocation by generation: logoutAll and changePassword end every session in one write.

The customer item holds `session_generation` G (absent: 0). Every session stores the
generation it was created under (a child: its parent's). A session is dead when its
generation is below G: one UpdateItem of the customer item ends every session at once,
whatever their number, those the eventually consistent GSI does not list yet included, and a
session written late by a login already in flight is dead on arrival. No wall clock is read.

Invariant: no session's generation is above its customer's. Logins store a generation they
read from the customer item; a restamp writes a generation read from the customer item.
So a bump always ends every session that exists when it lands.

changePassword keeps the caller's parent session alive. The customer write that bumps G to
g+1 also names that session (`kept_session_id`): a kept parent lives at g = G-1 too, so it is
never dead for a moment. Right after, the session is restamped to g+1 (conditional on its
state and its generation g) so that children it makes from then on are current. Every other
session, the caller's own children included, stays at g or below and is dead. Restamping
*before* the bump would put the session above G for a moment, and a concurrent logoutAll
(G to g+1) would then leave it alive: the order and the name on the customer item avoid that.
logoutAll removes the name, so a kept session is ended by the next logoutAll like any other.
"""

from __future__ import annotations

from typing import Any

from dynamo.errors import ConflictError, StoreError
from dynamo.keys import customer_key, parent_session_key
from dynamo.records import ChildSession, Customer, ParentSession, record_from_item
from dynamo.sessions import get_records_by_keys
from dynamo.store import Store, from_attributes, to_attributes

LOGOUT_ALL = "LOGOUT_ALL"
PASSWORD_CHANGED = "PASSWORD_CHANGED"
CHANGE_ATTEMPTS = 3
"""Conditional bumps a changePassword tries before it gives up (each loses only to another
revocation that landed meanwhile, which then usually ends the caller's session too)."""


class SessionEndedError(StoreError):
    """The caller's own session ended (another revocation landed) before the change did."""


def generation_of(customer: Customer | None) -> int:
    return customer.session_generation if customer is not None else 0


def parent_is_current(customer: Customer | None, parent: ParentSession) -> bool:
    """Not revoked: its generation is the customer's, or it is the parent kept by the last
    changePassword, one generation behind until it is restamped."""
    generation = generation_of(customer)
    if parent.session_generation >= generation:
        return True
    return (
        customer is not None
        and customer.kept_session_id == parent.session_id
        and parent.session_generation >= generation - 1
    )


def session_is_current(customer: Customer | None, session: ParentSession | ChildSession) -> bool:
    """The session's own generation is not behind: a parent as `parent_is_current`, a child
    (never kept) at its customer's generation. A child also needs its parent current."""
    if isinstance(session, ParentSession):
        return parent_is_current(customer, session)
    return session.session_generation >= generation_of(customer)


def is_current(
    customer: Customer | None, parent: ParentSession, session: ParentSession | ChildSession
) -> bool:
    """A session (with its parent, for a child) that no generation bump has ended: the one
    predicate of the token check (`resolvers.auth`) and of the subscriptions' end reasons."""
    if not parent_is_current(customer, parent):
        return False
    return session is parent or session_is_current(customer, session)


def end_all_sessions(store: Store, customer_id: str, reason: str = LOGOUT_ALL) -> Customer:
    """logoutAll: bump the customer's generation; every session of the customer is dead.

    `ADD session_generation :one` needs no condition and no retry: it is atomic and only ever
    moves the generation forward, so two revocations landing in any order, early or late,
    both take effect (a `SET` of a value read before would be lost or move it backwards).
    It also forgets the session kept by a changePassword. Returns the customer as written.
    """
    response = store.client.update_item(
        TableName=store.table_name,
        Key=to_attributes(customer_key(customer_id)),
        UpdateExpression=(
            "ADD session_generation :one SET revoked_reason = :r, customer_id = :c"
            " REMOVE kept_session_id"
        ),
        ExpressionAttributeValues=to_attributes({":one": 1, ":r": reason, ":c": customer_id}),
        ReturnValues="ALL_NEW",
    )
    return _customer(response)


def change_password_keeping(
    store: Store,
    keep: ParentSession,
    generation: int,
    password_hash: str,
    *,
    attempts: int = CHANGE_ATTEMPTS,
) -> Customer:
    """changePassword: set the new hash and bump the generation in one conditional write,
    keeping `keep` (the caller's parent) alive throughout. Returns the customer as written.

    `generation` is the customer's generation as last read (with the caller's token). The
    bump is conditional on it; when it lost to another revocation, the customer and the
    session are read again (one consistent BatchGetItem): if the caller's session was ended,
    `SessionEndedError` and nothing changed; else the bump is tried again from the new value.
    """
    customer_id = keep.customer_id
    session_generation = keep.session_generation
    for _ in range(attempts):
        if session_generation < generation:
            # Kept by an earlier change, one generation behind: bring it up to G first, so it
            # is still kept (at G) once G moves on. Never above G (the invariant).
            if not _restamp(store, keep, session_generation, generation):
                raise SessionEndedError("the session ended before the password was changed")
            session_generation = generation
        written = _bump_conditionally(
            store, customer_id, generation, keep.session_id, password_hash
        )
        if written is not None:
            _restamp(store, keep, session_generation, generation + 1)
            return written
        customer, parent = _read_customer_and_parent(store, keep)
        if parent is None or parent.state != "active" or not parent_is_current(customer, parent):
            raise SessionEndedError("the session ended before the password was changed")
        generation = generation_of(customer)
        session_generation = parent.session_generation
    raise ConflictError("the sessions of this customer changed meanwhile; try again")


def _bump_conditionally(
    store: Store, customer_id: str, generation: int, keep_id: str, password_hash: str
) -> Customer | None:
    condition = "session_generation = :g"
    if generation == 0:
        condition = "attribute_not_exists(session_generation) OR " + condition
    try:
        response = store.client.update_item(
            TableName=store.table_name,
            Key=to_attributes(customer_key(customer_id)),
            UpdateExpression=(
                "SET session_generation = :next, revoked_reason = :r, kept_session_id = :k,"
                " password_hash = :h, customer_id = :c"
            ),
            ConditionExpression=condition,
            ExpressionAttributeValues=to_attributes(
                {
                    ":g": generation,
                    ":next": generation + 1,
                    ":r": PASSWORD_CHANGED,
                    ":k": keep_id,
                    ":h": password_hash,
                    ":c": customer_id,
                }
            ),
            ReturnValues="ALL_NEW",
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        return None
    return _customer(response)


def _customer(response: Any) -> Customer:
    record = record_from_item(from_attributes(response["Attributes"]))
    assert isinstance(record, Customer)
    return record


def _restamp(store: Store, session: ParentSession, current: int, new: int) -> bool:
    """Move a live parent from generation `current` to `new`; False if it changed or ended."""
    condition = "session_state = :active AND session_generation = :g"
    if current == 0:
        condition = (
            "session_state = :active AND "
            "(attribute_not_exists(session_generation) OR session_generation = :g)"
        )
    try:
        store.client.update_item(
            TableName=store.table_name,
            Key=to_attributes(session.key),
            UpdateExpression="SET session_generation = :new",
            ConditionExpression=condition,
            ExpressionAttributeValues=to_attributes(
                {":active": "active", ":g": current, ":new": new}
            ),
        )
    except store.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _read_customer_and_parent(
    store: Store, parent: ParentSession
) -> tuple[Customer | None, ParentSession | None]:
    customer, current = get_records_by_keys(
        store,
        [
            customer_key(parent.customer_id),
            parent_session_key(parent.session_id, parent.customer_id),
        ],
    )
    return (
        customer if isinstance(customer, Customer) else None,
        current if isinstance(current, ParentSession) else None,
    )
