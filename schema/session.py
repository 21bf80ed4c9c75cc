"""`Session`, `SessionState` and the session connection."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

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


def first_or_default(first: int | None) -> int:
    return DEFAULT_PAGE_SIZE if first is None else first


@strawberry.enum
class SessionState(Enum):
    ACTIVE = "active"
    CLOSING = "closing"


@strawberry.type(description="A parent (login) session or a child session made from one.")
class Session(Node):
    record: strawberry.Private[AnySession]

    @classmethod
    def of(cls, record: AnySession) -> Session:
        return cls(id=strawberry.ID(session_global_id(record)), record=record)

    @classmethod
    def maybe(cls, record: AnySession | None) -> Session | None:
        return cls.of(record) if record is not None else None

    @strawberry.field
    def session_id(self) -> str:
        return self.record.session_id

    @strawberry.field
    async def customer(self, info: Info) -> Annotated[Customer, strawberry.lazy("schema.customer")]:
        from schema.customer import Customer

        return Customer.of(await resolve.customer_id_of(info.context, self.record))

    @strawberry.field
    def state(self) -> SessionState:
        return SessionState(self.record.state)

    @strawberry.field
    def is_child(self) -> bool:
        return self.record.is_child

    @strawberry.field(description="The parent session; null for a parent session.")
    async def parent(self, info: Info) -> Session | None:
        return Session.maybe(await resolve.parent(info.context, self.record))

    @strawberry.field
    async def child_sessions(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
    ) -> SessionConnection:
        page = await resolve.child_sessions(
            info.context, self.record, first_or_default(first), after
        )
        return session_connection(page)

    @strawberry.field(description="The app a child session was made for.")
    def client(self) -> str | None:
        return self.record.client if isinstance(self.record, ChildSession) else None

    @strawberry.field
    def last_login_time(self) -> datetime | None:
        return self.record.last_login_time if isinstance(self.record, ParentSession) else None

    @strawberry.field
    def last_access_time(self) -> datetime | None:
        return self.record.last_access_time

    @strawberry.field
    def created_at(self) -> datetime | None:
        return self.record.created_at

    @strawberry.field
    def expires_at(self) -> datetime | None:
        return self.record.expires_at

    @strawberry.field
    def ip_address(self) -> str | None:
        return self.record.ip_address if isinstance(self.record, ParentSession) else None

    @strawberry.field
    def user_agent(self) -> str | None:
        return self.record.user_agent if isinstance(self.record, ParentSession) else None


@strawberry.type
class SessionEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from this edge.")
    node: Session


@strawberry.type(
    name="SessionConnection", description=f"A page of sessions (`first` at most {MAX_PAGE_SIZE})."
)
class SessionConnection:
    page_info: relay.PageInfo
    edges: list[SessionEdge]


def session_connection(page: Page[ParentSession] | Page[ChildSession]) -> SessionConnection:
    records: list[AnySession] = list(page.records)
    edges = [
        SessionEdge(cursor=cursor, node=Session.of(record))
        for record, cursor in zip(records, page.cursors, strict=True)
    ]
    return SessionConnection(
        page_info=relay.PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=False,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.end_cursor,
        ),
        edges=edges,
    )
