"""Session reads: `Query.session`, `Query.sessionByChildSessionId`, `Query.viewer`,
`Session.parent`, `Session.childSessions` and a session's customer."""

from __future__ import annotations

import dataclasses

from dynamo.cursors import encode_cursor
from dynamo.keys import parent_session_key, validate_id
from dynamo.query import Page, check_page_size
from dynamo.records import ChildSession, ParentSession
from resolvers.access import can_read_session
from resolvers.caller import SessionCaller
from resolvers.context import RequestContext
from resolvers.liveness import live_child, live_page, live_parent

AnySession = ParentSession | ChildSession
EMPTY_PAGE: Page[ChildSession] = Page(records=[], cursors=[], has_next_page=False)


def _visible(ctx: RequestContext, record: AnySession | None) -> AnySession | None:
    return record if record is not None and can_read_session(ctx.caller, record) else None


def viewer(ctx: RequestContext) -> AnySession | None:
    """Synchronous: the caller is known before execution starts, and a field that does not
    wait lets graphql-core complete it without its awaitable path (bench/README.md)."""
    caller = ctx.require_caller()
    return caller.session if isinstance(caller, SessionCaller) else None


async def session_by_id(ctx: RequestContext, session_id: str) -> AnySession | None:
    """A parent (Query on its partition) or, failing that, a child (GSI Query on its id)."""
    validate_id(session_id, "sessionId")
    ctx.require_caller()
    parent = await ctx.loaders.parent_session_by_id.load(session_id)
    if parent is not None:
        return _visible(ctx, await live_parent(ctx, parent))
    return _visible(ctx, await with_live_parent(ctx, await child_by_id(ctx, session_id)))


async def child_by_id(ctx: RequestContext, child_session_id: str) -> ChildSession | None:
    """The GSI names the child's partition; the child itself is then read consistently."""
    listed = await ctx.loaders.child_session_by_id.load(child_session_id)
    if listed is None:
        return None
    found = await ctx.loaders.session_by_key.load((listed.pk, listed.sk))
    return found if isinstance(found, ChildSession) else None


async def with_live_parent(ctx: RequestContext, child: ChildSession | None) -> ChildSession | None:
    """The child if it and its parent are alive (a child never outlives its parent; neither
    was revoked), with the customer filled in from the parent for child items without one."""
    if child is None:
        return None
    owner = await load_parent(ctx, child)
    if owner is None or owner.state != "active" or await live_child(ctx, owner, child) is None:
        return None
    if child.customer_id is None:
        child = dataclasses.replace(child, customer_id=owner.customer_id)
    return child


async def session_by_child_session_id(
    ctx: RequestContext, child_session_id: str
) -> ParentSession | None:
    validate_id(child_session_id, "childSessionId")
    ctx.require_caller()
    child = await child_by_id(ctx, child_session_id)
    if _visible(ctx, await with_live_parent(ctx, child)) is None:
        return None  # asking about a child one may not read says nothing about it
    assert child is not None
    visible = _visible(ctx, await load_parent(ctx, child))
    return visible if isinstance(visible, ParentSession) else None


async def load_parent(ctx: RequestContext, child: ChildSession) -> ParentSession | None:
    """A child's live parent: by full key when the child names its customer, else by id."""
    if child.customer_id is not None:
        key = parent_session_key(child.parent_session_id, child.customer_id)
        found = await ctx.loaders.session_by_key.load((key["PK"], key["SK"]))
        return await live_parent(ctx, found if isinstance(found, ParentSession) else None)
    return await live_parent(
        ctx, await ctx.loaders.parent_session_by_id.load(child.parent_session_id)
    )


async def parent(ctx: RequestContext, record: AnySession) -> ParentSession | None:
    if not isinstance(record, ChildSession):
        return None
    visible = _visible(ctx, await load_parent(ctx, record))
    return visible if isinstance(visible, ParentSession) else None


async def child_sessions(
    ctx: RequestContext, record: AnySession, first: int, after: str | None
) -> Page[ChildSession]:
    check_page_size(first)
    if not isinstance(record, ParentSession):
        return EMPTY_PAGE
    caller = ctx.caller
    if isinstance(caller, SessionCaller) and caller.is_child:
        # A child sees only itself among its parent's children: no Query, and nothing
        # (not even a page count) that tells of its siblings.
        own = caller.session
        if isinstance(own, ChildSession) and own.pk == record.pk and first > 0:
            return Page([own], [encode_cursor(own.key)], False)
        return EMPTY_PAGE
    page = await ctx.loaders.child_sessions_page.load(
        (record.session_id, record.customer_id, first, after)
    )
    ctx.loaders.prime([*page.records, *([page.parent] if page.parent else [])])
    return await live_page(ctx, record.customer_id, page, page.parent or record)


async def customer_id_of(ctx: RequestContext, record: AnySession) -> str:
    if record.customer_id is not None:
        return record.customer_id
    assert isinstance(record, ChildSession)
    owner = await ctx.loaders.parent_session_by_id.load(record.parent_session_id)
    # A child whose parent is gone is itself gone at the next read; name it by its partition.
    return owner.customer_id if owner else ""
