"""Finding the caller from `Authorization: Bearer ...`, once per request.

A session token costs one strongly consistent BatchGetItem, never a GSI read: the session,
its parent for a child (a child never outlives its parent), and the customer item, whose
`session_generation` logoutAll and changePassword bump to end every older session
(`dynamo.revocation`).

A parent in state `closing` (a logout cut short) is no caller at all, with one exception:
its own token may call `logout` again, which finishes the cascade. That caller is kept
apart (`closing=True`) and every other field sees UNAUTHENTICATED.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping, Sequence

from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.lifecycle import parent_deadline_cap, touch_session
from dynamo.records import AnyRecord, ChildSession, Customer, ParentSession
from dynamo.revocation import generation_of, is_current
from dynamo.sessions import get_records_by_keys
from dynamo.store import Store
from resolvers.caller import Admin, Anonymous, Caller, SessionCaller
from resolvers.errors import INVALID_TOKEN, ApiError, Unauthenticated
from resolvers.tokens import TokenKey, decode_token, secret_matches

BEARER = "bearer "


def bearer_token(authorization: str | None) -> str | None:
    if not authorization or authorization[: len(BEARER)].lower() != BEARER:
        return None
    return authorization[len(BEARER) :].strip() or None


def is_admin_token(token: str, admin_token: str | None) -> bool:
    return admin_token is not None and hmac.compare_digest(
        token.encode("utf-8"), admin_token.encode("utf-8")
    )


def find_session_caller(store: Store, token: str) -> SessionCaller | None:
    """The live session a token belongs to, with its idle deadline slid; None if none."""
    decoded = decode_token(token)
    if decoded is None:
        return None
    key, secret = decoded
    caller = _read_caller(store, key)
    if caller is None or not secret_matches(secret, caller.session.access_token_hash):
        return None
    if caller.closing:
        return caller
    cap = parent_deadline_cap(caller.parent, store) if caller.is_child else None
    touched = touch_session(store, caller.session, cap)
    parent = touched if isinstance(touched, ParentSession) else caller.parent
    return dataclasses.replace(caller, session=touched, parent=parent)


def check_session_token(store: Store, token: str) -> SessionCaller | None:
    """The live session a token belongs to, as `find_session_caller` finds it but without
    sliding its deadline: a subscription's re-check is not a use of the session."""
    decoded = decode_token(token)
    if decoded is None:
        return None
    key, secret = decoded
    caller = _read_caller(store, key)
    if caller is None or not secret_matches(secret, caller.session.access_token_hash):
        return None
    return caller


def check_session_token_in(
    token: str, records: Mapping[tuple[str, str], AnyRecord | None]
) -> SessionCaller | None:
    """`check_session_token` over records already read (by key, `(PK, SK)`): what a
    subscription decides from the one consistent read it made of its items."""
    decoded = decode_token(token)
    if decoded is None:
        return None
    key, secret = decoded
    found = [records.get((k["PK"], k["SK"])) for k in caller_keys(key)]
    caller = caller_from_records(key, found)
    if caller is None or not secret_matches(secret, caller.session.access_token_hash):
        return None
    return caller


def caller_keys(key: TokenKey) -> list[dict[str, str]]:
    """What a token's check reads: the customer item, the parent, and the child for a child."""
    keys = [
        customer_key(key.customer_id),
        parent_session_key(key.parent_session_id or key.session_id, key.customer_id),
    ]
    if key.parent_session_id is not None:
        keys.append(child_session_key(key.parent_session_id, key.session_id))
    return keys


def _read_caller(store: Store, key: TokenKey) -> SessionCaller | None:
    """One consistent BatchGetItem of `caller_keys`, judged by `caller_from_records`."""
    return caller_from_records(key, get_records_by_keys(store, caller_keys(key)))


def caller_from_records(key: TokenKey, records: Sequence[AnyRecord | None]) -> SessionCaller | None:
    """The caller a token's key names, from its `caller_keys` records in that order (live
    ones; None for missing or expired): the session, its parent for a child (a child never
    outlives its parent), and the customer, whose generation theirs must not be below."""
    record, parent, *child = records
    customer = record if isinstance(record, Customer) else None
    if not isinstance(parent, ParentSession):
        return None
    if parent.state != "active":
        # Only the parent's own token, to finish its logout; never a child's.
        if key.parent_session_id is not None:
            return None
        return SessionCaller(session=parent, parent=parent, closing=True)
    session: ParentSession | ChildSession = parent
    if key.parent_session_id is not None:
        if not child or not isinstance(child[0], ChildSession) or child[0].state != "active":
            return None
        session = child[0]
    if not is_current(customer, parent, session):
        return None
    return SessionCaller(
        session=session,
        parent=parent,
        customer_generation=generation_of(customer),
        customer=customer,
    )


def resolve_caller(
    store: Store, authorization: str | None, admin_token: str | None
) -> tuple[Caller, ApiError | None]:
    """The caller, and the error to raise where a caller matters if the token is no good.

    A closing session's token comes back as that (closing) caller *with* the error: every
    field raises it, and only `logout` looks past it (`RequestContext.closing_caller`)."""
    token = bearer_token(authorization)
    if token is None:
        if authorization:
            return Anonymous(), Unauthenticated("the Authorization header must be 'Bearer <token>'")
        return Anonymous(), None
    if is_admin_token(token, admin_token):
        return Admin(), None
    caller = find_session_caller(store, token)
    if caller is None:
        return Anonymous(), Unauthenticated(INVALID_TOKEN)
    if caller.closing:
        return caller, Unauthenticated(INVALID_TOKEN)
    return caller, None
