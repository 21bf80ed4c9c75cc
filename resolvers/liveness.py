"""Reads treat a revoked session as absent, like an expired one.

logoutAll and changePassword end sessions by raising the customer's generation; the items
stay until the clean-up deletes them. Every read decides with the one predicate of
`dynamo.revocation`, from the customer item read strongly consistently: the one the token
check read (primed into `CustomerByIdLoader`), else one batched read per query level.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from dynamo.query import Page
from dynamo.records import ChildSession, Customer, ParentSession
from dynamo.revocation import is_current, session_is_current
from resolvers.context import RequestContext

T = TypeVar("T", ParentSession, ChildSession)


async def customer_of(ctx: RequestContext, customer_id: str) -> Customer | None:
    return await ctx.loaders.customer_by_id.load(customer_id)


async def live_parent(ctx: RequestContext, parent: ParentSession | None) -> ParentSession | None:
    """The parent unless a generation bump ended it."""
    if parent is None:
        return None
    return (
        parent if session_is_current(await customer_of(ctx, parent.customer_id), parent) else None
    )


async def live_child(
    ctx: RequestContext, parent: ParentSession, child: ChildSession
) -> ChildSession | None:
    """The child unless a generation bump ended it or its parent."""
    customer = await customer_of(ctx, parent.customer_id)
    return child if is_current(customer, parent, child) else None


async def live_page(
    ctx: RequestContext, customer_id: str, page: Page[T], parent: ParentSession | None
) -> Page[T]:
    """The page without its revoked sessions (children judged with `parent`).

    A page may then hold fewer than `first` records. Each kept record keeps its own cursor;
    when any was dropped, `resume_cursor` (hence `endCursor`) stays where the Query stopped,
    so the next page starts after the dropped ones rather than reading them again, and an
    emptied page with more to come still moves on."""
    customer = await customer_of(ctx, customer_id)
    kept = [
        (record, cursor)
        for record, cursor in zip(page.records, page.cursors, strict=True)
        if _current(customer, parent, record)
    ]
    if len(kept) == len(page.records):
        return page
    return dataclasses.replace(
        page,
        records=[record for record, _ in kept],
        cursors=[cursor for _, cursor in kept],
        resume_cursor=page.end_cursor,
    )


def _current(
    customer: Customer | None, parent: ParentSession | None, record: ParentSession | ChildSession
) -> bool:
    if parent is not None and isinstance(record, ChildSession):
        return is_current(customer, parent, record)
    return session_is_current(customer, record)
