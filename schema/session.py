"""`Session`, `SessionState` and the session connection."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from dynamo.limits import MAX_PAGE_SIZE
from dynamo.query import Page
from dynamo.records import ChildSession, ParentSession
from resolvers import sessions as resolve
from resolvers.nodes import session_global_id
from schema.context import Info
from schema.node import Node

if TYPE_CHECKING:
    from schema.customer import Customer

AnySession = ParentSession | ChildSession
DEFAULT_PAGE_SIZE = 20

FIRST_DESCRIPTION = f"How many sessions to return: 0 to {MAX_PAGE_SIZE} (default 20)."
AFTER_DESCRIPTION = (
    "Return the sessions after this cursor: an edge's `cursor`, or the previous page's "
    "`pageInfo.endCursor`. Cursors are opaque and work only on the list that issued them."
)
First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]


def first_or_default(first: int | None) -> int:
    return DEFAULT_PAGE_SIZE if first is None else first


@strawberry.enum(description="Whether a session can still be used.")
class SessionState(Enum):
    ACTIVE = strawberry.enum_value("active", description="The session's token works.")
    CLOSING = strawberry.enum_value(
        "closing",
        description=(
            "A logout is ending the session: its token no longer works, and the session and "
            "its children are being deleted (a moment; a retried logout finishes an "
            "interrupted one). A session that other tools stored in any state but `active` "
            "reads as CLOSING too."
        ),
    )


@strawberry.type(description="A parent (login) session or a child session made from one.")
class Session(Node):
    record: strawberry.Private[AnySession]

    @classmethod
    def of(cls, record: AnySession) -> Session:
        return cls(
            id=strawberry.ID(session_global_id(record)),
            record=record,
            session_id=record.session_id,
            state=SessionState(record.state),
            is_child=record.is_child,
        )

    @classmethod
    def maybe(cls, record: AnySession | None) -> Session | None:
        return cls.of(record) if record is not None else None

    # The scalar fields every query asks for are plain attributes, set by `of`: Strawberry
    # reads those without its resolver wrapper ("basic fields"), which costs more than the
    # field itself (bench/README.md, issue 10).
    session_id: str = strawberry.field(
        description=(
            "The session's id: a UUIDv7 (time-ordered) for sessions this server created; any "
            "string for sessions written by other tools."
        )
    )

    @strawberry.field(description="The customer the session belongs to (a child: its parent's).")
    async def customer(self, info: Info) -> Annotated[Customer, strawberry.lazy("schema.customer")]:
        from schema.customer import Customer

        return Customer.of(await resolve.customer_id_of(info.context, self.record))

    state: SessionState = strawberry.field(description="ACTIVE while the session's token works.")
    is_child: bool = strawberry.field(
        description=(
            "True for a child session (made by `createChildSession`), false for a parent "
            "(login) session."
        )
    )

    @strawberry.field(description="The parent session; null for a parent session.")
    async def parent(self, info: Info) -> Session | None:
        return Session.maybe(await resolve.parent(info.context, self.record))

    @strawberry.field(
        description=(
            "A parent session's child sessions, in order of child session id: creation order "
            "for children this server made (UUIDv7 ids). Empty for a child session; a child "
            "session's own token sees only itself here."
        )
    )
    async def child_sessions(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
    ) -> SessionConnection:
        page = await resolve.child_sessions(
            info.context, self.record, first_or_default(first), after
        )
        return session_connection(page)

    @strawberry.field(
        description="The app a child session was made for (`createChildSession`'s `client`); "
        "null for a parent session."
    )
    def client(self) -> str | None:
        return self.record.client if isinstance(self.record, ChildSession) else None

    @strawberry.field(
        description="When the login that created this parent session happened; null for a "
        "child session (see its `parent`)."
    )
    def last_login_time(self) -> datetime | None:
        return self.record.last_login_time if isinstance(self.record, ParentSession) else None

    @strawberry.field(
        description="The last use of the session's token. Written at most once a minute, so it "
        "may be up to a minute behind."
    )
    def last_access_time(self) -> datetime | None:
        return self.record.last_access_time

    @strawberry.field(description="When the session was created.")
    def created_at(self) -> datetime | None:
        return self.record.created_at

    @strawberry.field(
        description=(
            "When the session ends unless its token is used before: the idle timeout after "
            "the last use, never past the absolute lifetime from its creation (a child: never "
            "past its parent's). Null for items stored without `expires_at` by other tools."
        )
    )
    def expires_at(self) -> datetime | None:
        return self.record.expires_at

    @strawberry.field(
        description=(
            "The address the login came from (behind a load balancer: the client's, when the "
            "proxy is trusted by SESSIONGRAPH_FORWARDED_ALLOW_IPS); null for a child session."
        )
    )
    def ip_address(self) -> str | None:
        return self.record.ip_address if isinstance(self.record, ParentSession) else None

    @strawberry.field(
        description="The User-Agent header of the login request; null for a child session."
    )
    def user_agent(self) -> str | None:
        return self.record.user_agent if isinstance(self.record, ParentSession) else None


@strawberry.type(description="A session in a page, with the cursor that points at it.")
class SessionEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from this edge.")
    node: Session = strawberry.field(description="The session.")


@strawberry.type(
    description=(
        "Where a page of a connection ends. Pages only go forward (`first` and `after`): there "
        "is no `last` or `before`."
    )
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description=(
            "Whether more sessions may follow: ask again with `after: endCursor`. A page can be "
            "short, even empty, and still say true, when expired items took up the reads it may "
            "make."
        )
    )
    has_previous_page: bool = strawberry.field(
        description="Always false: pages only go forward (kept for Relay clients, which ask)."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of this page's first edge (null for an empty page). Only for "
        "reading on from there with `after`: there is no paging backwards."
    )
    end_cursor: str | None = strawberry.field(
        description=(
            "Pass as `after` for the next page: the last edge's cursor, or where the reads "
            "stopped on a page cut short; null when the page is empty and nothing follows."
        )
    )


@strawberry.type(description=f"A page of sessions (`first` at most {MAX_PAGE_SIZE}).")
class SessionConnection:
    page_info: PageInfo = strawberry.field(
        description="Where this page ends, and whether more follow."
    )
    edges: list[SessionEdge] = strawberry.field(
        description="The sessions of this page, each with its cursor."
    )


def session_connection(page: Page[ParentSession] | Page[ChildSession]) -> SessionConnection:
    records: list[AnySession] = list(page.records)
    edges = [
        SessionEdge(cursor=cursor, node=Session.of(record))
        for record, cursor in zip(records, page.cursors, strict=True)
    ]
    return SessionConnection(
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=False,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.end_cursor,
        ),
        edges=edges,
    )
