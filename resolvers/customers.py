"""Customer reads: `Query.customer` and the fields of `Customer`."""

from __future__ import annotations

from datetime import datetime

from dynamo.keys import parent_session_key, validate_id
from dynamo.query import Page, check_page_size
from dynamo.records import ParentSession
from dynamo.sessions import get_last_login_time_by_customer_id, get_sessions_by_customer_id
from resolvers.access import can_read_customer
from resolvers.caller import Admin
from resolvers.context import RequestContext
from resolvers.liveness import live_page, live_parent


async def customer(ctx: RequestContext, customer_id: str) -> str | None:
    """The customer's id when it exists and the caller may read it, else None."""
    validate_id(customer_id, "customerId")
    caller = ctx.require_caller()
    if not can_read_customer(caller, customer_id):
        return None
    if not isinstance(caller, Admin):
        return customer_id  # a parent session's own customer exists
    if await ctx.loaders.customer_by_id.load(customer_id) is not None:
        return customer_id
    # Tables written by others may hold sessions but no customer item.
    page = await ctx.call(get_sessions_by_customer_id, ctx.store, customer_id, first=1)
    return customer_id if page.records else None


async def sessions(
    ctx: RequestContext, customer_id: str, first: int, after: str | None
) -> Page[ParentSession]:
    check_page_size(first)
    if not can_read_customer(ctx.require_caller(), customer_id):
        return Page(records=[], cursors=[], has_next_page=False)
    # Read from the GSI: not primed into the loaders, which hold consistent reads only.
    # Which of them are revoked is decided from the customer item, read consistently.
    page = await ctx.call(
        get_sessions_by_customer_id, ctx.store, customer_id, first=first, after=after
    )
    return await live_page(ctx, customer_id, page, None)


async def session(ctx: RequestContext, customer_id: str, session_id: str) -> ParentSession | None:
    """getSessionIdByCustomerId, served by the batching loader: the full key is known, so a
    strongly consistent BatchGetItem does what the GSI Query would, and fetches many at once."""
    key = parent_session_key(validate_id(session_id, "sessionId"), customer_id)
    if not can_read_customer(ctx.require_caller(), customer_id):
        return None
    found = await ctx.loaders.session_by_key.load((key["PK"], key["SK"]))
    return await live_parent(ctx, found if isinstance(found, ParentSession) else None)


async def last_login_time(ctx: RequestContext, customer_id: str) -> datetime | None:
    """From the customer item (every login writes it; a consistent batched read); from the
    GSI partition only when it holds none: tables written by others, whose customer items
    (written by `sessiongraph load`) know nothing of their sessions' logins."""
    if not can_read_customer(ctx.require_caller(), customer_id):
        return None
    item = await ctx.loaders.customer_by_id.load(customer_id)
    if item is not None and item.last_login_time is not None:
        return item.last_login_time
    return await ctx.call(get_last_login_time_by_customer_id, ctx.store, customer_id)
