"""Mutations: register, login, child sessions, logout and logoutAll (docs/design.md section 3)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from dynamo.cleanup import end_listed_sessions
from dynamo.customers import (
    ensure_customer,
    record_login,
    register_customer,
    release_attempt,
)
from dynamo.errors import ConflictError
from dynamo.keys import validate_id
from dynamo.lifecycle import (
    create_child_session,
    enforce_session_cap,
    expire_child_session,
    expire_session,
)
from dynamo.lockout import CustomerChangedError, LoginAttempt, reserve_login_attempt
from dynamo.records import ChildSession, Customer, ParentSession
from dynamo.revocation import SessionEndedError, change_password_keeping, end_all_sessions
from dynamo.sessions import create_session, remove_unissued_session
from resolvers.access import can_end_session
from resolvers.audit import audit
from resolvers.caller import Admin, Anonymous, SessionCaller
from resolvers.context import RequestContext
from resolvers.errors import (
    INVALID_TOKEN,
    BadUserInput,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from resolvers.passwords import (
    MAX_PASSWORD_LENGTH,
    check_password_rules,
    hash_password,
    hashing_slot,
    needs_rehash,
    verify_password,
)
from resolvers.sessions import session_by_id
from resolvers.tokens import TokenKey, encode_token, hash_secret, new_secret

MAX_CLIENT_LENGTH = 128
DEFAULT_CLEANUP_IN_REQUEST = 100
WRONG_CREDENTIALS = (
    "customerId or password is wrong (after several failures, logins are paused for a while)"
)
REVOKED_DURING_LOGIN = (
    "the customer's sessions were ended (logoutAll or a password change) while this login "
    "ran: log in again"
)


@dataclass(frozen=True, slots=True)
class Login:
    access_token: str
    session: ParentSession | ChildSession


async def register(ctx: RequestContext, customer_id: str, password: str) -> Customer:
    validate_id(customer_id, "customerId")
    check_password_rules(password)
    password_hash = await ctx.hash_work(hash_password, password)
    try:
        return await ctx.call(register_customer, ctx.store, customer_id, password_hash)
    except ConflictError as exc:
        raise Conflict(f"customer {customer_id!r} exists already; log in instead") from exc


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    attempt: LoginAttempt
    customer: Customer
    """The customer item as the reservation read it (strongly consistent)."""
    new_hash: str | None = None
    """The password hashed again with this process's argon2 parameters, when they differ."""


async def login(ctx: RequestContext, customer_id: str, password: str | None) -> Login:
    """Customer first: the customer item exists (and gives the session generation) before
    the session is written; the last write records the login only if nothing revoked the
    customer's sessions (or changed the password) meanwhile."""
    validate_id(customer_id, "customerId")
    check: PasswordCheck | None = None
    if password is None:
        if not isinstance(ctx.require_caller(), Admin):
            raise Unauthenticated("a password is required (only the admin may log in without)")
        customer = await ctx.call(ensure_customer, ctx.store, customer_id)
    else:
        check = await _verify(ctx, customer_id, password, rehash=True)
        customer = check.customer
    secret = new_secret()
    session = await ctx.call(
        create_session,
        ctx.store,
        customer_id,
        token_hash=hash_secret(secret),
        ip_address=ctx.client_ip,
        user_agent=ctx.user_agent,
        generation=customer.session_generation,
    )
    try:
        await ctx.call(
            record_login,
            ctx.store,
            customer_id,
            session.last_login_time or ctx.store.clock.now(),
            attempt=check.attempt if check else None,
            generation=customer.session_generation,
            verified_hash=customer.password_hash if check else None,
            new_hash=check.new_hash if check else None,
        )
    except CustomerChangedError as exc:
        # Verified against a password (or a generation) that is no longer the customer's:
        # no token is handed out, and the session goes.
        await ctx.call(remove_unissued_session, ctx.store, session)
        ctx.login_outcome = "bad_credentials" if check else None
        raise Unauthenticated(WRONG_CREDENTIALS if check else REVOKED_DURING_LOGIN) from exc
    if check:
        ctx.login_outcome = "success"
    session = await ctx.call(enforce_session_cap, ctx.store, session)
    if password is None:
        audit("admin_login", customer_id=customer_id, session_id=session.session_id)
    token = encode_token(TokenKey(session.session_id, customer_id), secret)
    return Login(access_token=token, session=session)


async def _verify(
    ctx: RequestContext, customer_id: str, password: str, *, rehash: bool = False
) -> PasswordCheck:
    """Check a password, throttled per customer (`dynamo.lockout`, state on the customer item).

    In order: a place in the argon2 queue (else `RATE_LIMITED` at once, nothing counted);
    the attempt reserved by one conditional write (refused as locked past the threshold);
    then argon2. An unknown customer and a wrong password cost the same argon2 work; a
    locked customer costs none (its answer is quicker, its message the same). A failure
    needs no further write: the reservation counted it.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        ctx.login_outcome = "bad_credentials"
        raise Unauthenticated(WRONG_CREDENTIALS)
    try:
        with hashing_slot() as pool:
            attempt = await ctx.call(reserve_login_attempt, ctx.store, customer_id)
            if attempt.outcome == "locked":
                ctx.login_outcome = "locked"
                raise Unauthenticated(WRONG_CREDENTIALS)
            stored = attempt.customer.password_hash if attempt.customer else None
            matches = await pool.run(verify_password, stored, password)
            if not matches or attempt.customer is None or stored is None:
                ctx.login_outcome = "bad_credentials"
                raise Unauthenticated(WRONG_CREDENTIALS)
            new_hash = None
            if rehash and needs_rehash(stored):
                new_hash = await pool.run(hash_password, password)
    except RateLimited:
        ctx.login_outcome = "rate_limited"
        raise
    return PasswordCheck(attempt, attempt.customer, new_hash)


async def _check_password(ctx: RequestContext, customer_id: str, password: str) -> Customer:
    """Verify the customer's current password outside a login (changePassword): the same
    throttle, and a success takes its reserved attempt back."""
    check = await _verify(ctx, customer_id, password)
    await ctx.call(release_attempt, ctx.store, customer_id, check.attempt)
    ctx.login_outcome = "success"
    return check.customer


def _check_client(client: str) -> str:
    if not client or len(client) > MAX_CLIENT_LENGTH:
        raise BadUserInput(f"client must be 1 to {MAX_CLIENT_LENGTH} characters long")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in client):
        raise BadUserInput("client must not contain control characters")
    return client


async def new_child_session(ctx: RequestContext, client: str, session_id: str | None) -> Login:
    _check_client(client)
    caller = ctx.require_caller()
    if isinstance(caller, Anonymous):
        raise Unauthenticated("log in first: a child session is made from a parent session")
    if isinstance(caller, SessionCaller) and caller.is_child:
        raise Forbidden("a child session cannot create child sessions")
    if session_id is None:
        if not isinstance(caller, SessionCaller):
            raise BadUserInput("sessionId is required when the admin creates a child session")
        parent: ParentSession | ChildSession | None = caller.parent
    else:
        parent = await session_by_id(ctx, session_id)
    if not isinstance(parent, ParentSession) or parent.state != "active":
        raise NotFound(f"no active parent session {session_id!r}")
    secret = new_secret()
    child = await ctx.call(
        create_child_session, ctx.store, parent, client=client, token_hash=hash_secret(secret)
    )
    key = TokenKey(child.session_id, parent.customer_id, parent.session_id)
    return Login(access_token=encode_token(key, secret), session=child)


async def logout(ctx: RequestContext, session_id: str | None) -> list[str]:
    if ctx.closing_caller is not None:
        return await _finish_logout(ctx, ctx.closing_caller, session_id)
    caller = ctx.require_caller()
    if isinstance(caller, Anonymous):
        raise Unauthenticated("log in first: logout ends the bearer's session or one it owns")
    if session_id is None:
        if not isinstance(caller, SessionCaller):
            raise BadUserInput("sessionId is required when the admin logs a session out")
        target: ParentSession | ChildSession | None = caller.session
    else:
        target = await session_by_id(ctx, session_id)
    if target is None or not can_end_session(caller, target):
        raise NotFound(f"no session {session_id!r} that this caller may end")
    if isinstance(target, ChildSession):
        ended = await ctx.call(
            expire_child_session, ctx.store, target.parent_session_id, target.session_id
        )
    else:
        ended = await ctx.call(expire_session, ctx.store, target.session_id, target.customer_id)
    ctx.loaders.forget(target)
    return ended


async def _finish_logout(
    ctx: RequestContext, closing: SessionCaller, session_id: str | None
) -> list[str]:
    """A logout cut short left the parent `closing`: its own token finishes the cascade
    (the steps are idempotent). That is all such a token may do."""
    if session_id is not None and session_id != closing.parent.session_id:
        raise Unauthenticated(INVALID_TOKEN)
    parent = closing.parent
    return await ctx.call(expire_session, ctx.store, parent.session_id, parent.customer_id)


def _cleanup_limit(ctx: RequestContext) -> int:
    return ctx.cleanup.in_request if ctx.cleanup is not None else DEFAULT_CLEANUP_IN_REQUEST


async def _clean_up(ctx: RequestContext, customer: Customer) -> list[str]:
    """After the bump: one page of dead sessions deleted now, the rest in the background.
    Returns the ids deleted now (`endedSessionIds`: at most the page size; every session of
    the customer has ended anyway)."""
    customer_id = customer.customer_id
    # Later fields of this request judge sessions by the new generation (`resolvers.liveness`).
    ctx.loaders.customer_by_id.prime(customer_id, customer, force=True)
    listed = await ctx.call(
        end_listed_sessions, ctx.store, customer, customer_id, limit=_cleanup_limit(ctx)
    )
    if ctx.cleanup is not None:
        ctx.cleanup.schedule(customer_id, listed.ended)
    return listed.ended


async def logout_all(ctx: RequestContext, customer_id: str | None) -> list[str]:
    caller = ctx.require_caller()
    if isinstance(caller, Anonymous):
        raise Unauthenticated("log in first")
    if isinstance(caller, SessionCaller):
        if caller.is_child:
            raise Forbidden("a child session cannot end its customer's sessions")
        if customer_id is not None and customer_id != caller.customer_id:
            raise Forbidden("a session can only end its own customer's sessions")
        customer_id = caller.customer_id
    if customer_id is None:
        raise BadUserInput("customerId is required when the admin ends a customer's sessions")
    validate_id(customer_id, "customerId")
    if isinstance(caller, Admin):
        audit("admin_logout_all", customer_id=customer_id)
    customer = await ctx.call(end_all_sessions, ctx.store, customer_id)
    return await _clean_up(ctx, customer)


async def change_password(
    ctx: RequestContext, current_password: str, new_password: str
) -> list[str]:
    """A parent session changes its customer's password; every other session ends (ASVS),
    its own children included; the caller's session lives on (`dynamo.revocation`)."""
    caller = ctx.require_caller()
    if not isinstance(caller, SessionCaller):
        raise Unauthenticated("log in first: changePassword is for a customer's own session")
    if caller.is_child:
        raise Forbidden("a child session cannot change the password")
    check_password_rules(new_password)
    await _check_password(ctx, caller.customer_id, current_password)
    new_hash = await ctx.hash_work(hash_password, new_password)
    try:
        customer = await ctx.call(
            change_password_keeping,
            ctx.store,
            caller.parent,
            caller.customer_generation,
            new_hash,
        )
    except SessionEndedError as exc:
        raise Unauthenticated(INVALID_TOKEN) from exc
    except ConflictError as exc:
        raise Conflict("the customer's sessions changed meanwhile: try again") from exc
    return await _clean_up(ctx, customer)
