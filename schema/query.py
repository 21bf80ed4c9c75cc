"""`Query`: where each root field hands over to `resolvers/`."""

from __future__ import annotations

import strawberry

from dynamo.records import ChildSession, ParentSession
from resolvers import customers, nodes, sessions
from schema.context import Info
from schema.customer import Customer
from schema.node import Node
from schema.session import Session


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        found = await nodes.node(info.context, str(id))
        if isinstance(found, (ParentSession, ChildSession)):
            return Session.of(found)
        return Customer.of(found) if found is not None else None

    @strawberry.field(description="The session of the bearer token.")
    async def viewer(self, info: Info) -> Session | None:
        return Session.maybe(await sessions.viewer(info.context))

    @strawberry.field(description="A parent or a child session.")
    async def session(self, info: Info, session_id: str) -> Session | None:
        return Session.maybe(await sessions.session_by_id(info.context, session_id))

    @strawberry.field(description="The parent session of a child session.")
    async def session_by_child_session_id(
        self, info: Info, child_session_id: str
    ) -> Session | None:
        found = await sessions.session_by_child_session_id(info.context, child_session_id)
        return Session.maybe(found)

    @strawberry.field
    async def customer(self, info: Info, customer_id: str) -> Customer | None:
        found = await customers.customer(info.context, customer_id)
        return Customer.of(found) if found is not None else None
