"""`Customer`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import customers as resolve
from resolvers.nodes import customer_global_id
from schema.context import Info
from schema.node import Node
from schema.session import Session, SessionConnection, first_or_default, session_connection


@strawberry.type(description="A customer: the owner of parent sessions.")
class Customer(Node):
    customer_id: str

    @classmethod
    def of(cls, customer_id: str) -> Customer:
        return cls(id=strawberry.ID(customer_global_id(customer_id)), customer_id=customer_id)

    @strawberry.field(description="The latest login, still known after that session ended.")
    async def last_login_time(self, info: Info) -> datetime | None:
        return await resolve.last_login_time(info.context, self.customer_id)

    @strawberry.field(description="The customer's live parent sessions, newest first.")
    async def sessions(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> SessionConnection:
        page = await resolve.sessions(
            info.context, self.customer_id, first_or_default(first), after
        )
        return session_connection(page)

    @strawberry.field
    async def session(self, info: Info, session_id: str) -> Session | None:
        return Session.maybe(await resolve.session(info.context, self.customer_id, session_id))
