"""Cookie mode, as the resolvers see it: a session kept in an HttpOnly cookie, not in JavaScript.

The HTTP side (the cookie's name and attributes, when a request may use or set it, the CSRF
rules) is `server/cookies.py`'s. A resolver only asks the request's `SessionCookieJar` to set or
clear the cookie; the view puts the jar on the context (`RequestContext.session_cookie`) and
applies what the jar was told to the HTTP response. A request authenticated by the cookie
carries its token like any bearer token, so every check of a token (ended, revoked, expired)
applies to the cookie too, on every request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from dynamo.expiry import absolute_deadline
from dynamo.records import ParentSession
from resolvers import mutations
from resolvers.caller import SessionCaller
from resolvers.context import RequestContext
from resolvers.errors import Forbidden, Unauthenticated

COOKIE_MODE_OFF = (
    "cookie logins are turned off on this server (SESSIONGRAPH_COOKIE_MODE): use `login` "
    "and send its accessToken as 'Authorization: Bearer <token>'"
)


class SessionCookieJar(Protocol):
    """The session cookie of one HTTP request and its response."""

    def refusal(self) -> str | None:
        """Why this request may not set the cookie (None: it may), in words a person can act on."""

    def set(self, token: str, max_age: int) -> None:
        """Send the session's token in the cookie, kept `max_age` seconds."""

    def clear(self) -> None:
        """Tell the browser to drop the cookie."""


def _jar(ctx: RequestContext) -> SessionCookieJar:
    jar = ctx.session_cookie
    if jar is None:
        raise Forbidden(COOKIE_MODE_OFF)
    refusal = jar.refusal()
    if refusal is not None:
        raise Forbidden(refusal)
    return jar


def cookie_max_age(ctx: RequestContext, session: ParentSession) -> int:
    """Seconds until the session's absolute deadline: the cookie never outlives the session's
    lifetime (the idle timeout is the token check's to enforce, on every request)."""
    created = session.created_at or ctx.store.clock.now()
    left = absolute_deadline(created, ctx.store.policy) - ctx.store.clock.now()
    return max(0, int(left / timedelta(seconds=1)))


async def login_with_cookie(ctx: RequestContext, customer_id: str, password: str) -> ParentSession:
    """A password login whose token goes into the HttpOnly cookie and nowhere else."""
    jar = _jar(ctx)  # before any work: a refused request costs no DynamoDB call
    login = await mutations.login(ctx, customer_id, password)
    if not isinstance(login.session, ParentSession):  # login makes parent sessions only
        raise TypeError("login returned a child session")
    jar.set(login.access_token, cookie_max_age(ctx, login.session))
    return login.session


def sessions_ended(ctx: RequestContext, ended_session_ids: list[str]) -> None:
    """After a logout: clear the cookie if the session it holds (or its parent) was ended."""
    caller = _cookie_caller(ctx)
    if caller is not None and {caller.session.session_id, caller.parent.session_id} & set(
        ended_session_ids
    ):
        _clear(ctx)


def customer_sessions_ended(ctx: RequestContext, customer_id: str | None) -> None:
    """After a logoutAll of `customer_id` (None: the caller's customer): clear the cookie if it
    held one of that customer's sessions, listed by the index or not."""
    caller = _cookie_caller(ctx)
    if caller is not None and customer_id in (None, caller.customer_id):
        _clear(ctx)


def _cookie_caller(ctx: RequestContext) -> SessionCaller | None:
    caller = ctx.caller if isinstance(ctx.caller, SessionCaller) else ctx.closing_caller
    return caller if ctx.authenticated_by_cookie else None


def forget_refused_cookie(ctx: RequestContext) -> None:
    """A cookie whose token is no good any more (ended, revoked, expired) is cleared, so the
    browser stops sending it."""
    if ctx.authenticated_by_cookie and isinstance(ctx.auth_error, Unauthenticated):
        _clear(ctx)


def _clear(ctx: RequestContext) -> None:
    if ctx.session_cookie is not None:
        ctx.session_cookie.clear()
