"""`Customer`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import customers as resolve
from resolvers.nodes import customer_global_id
from schema.context import Info
from schema.node import Node
from schema.session import (
    After,
    First,
    Session,
    SessionConnection,
    first_or_default,
    session_connection,
)

SESSIONS_DESCRIPTION = (
    "The customer's parent sessions, in descending order of session id (the order of the index "
    "`GSI1_inverse`): newest login first for sessions this server created, whose UUIDv7 ids are "
    "time-ordered; sessions written by other tools with random ids come in id order, which is "
    "not login order. Read from an eventually consistent index: a session created a moment ago "
    "may be missing, and one ended a moment ago may still be listed."
)


@strawberry.type(description="A customer: the owner of parent sessions.")
class Customer(Node):
    customer_id: str = strawberry.field(
        description="The customer's id, as given to `registerCustomer` or `login`."
    )

    @classmethod
    def of(cls, customer_id: str) -> Customer:
        return cls(id=strawberry.ID(customer_global_id(customer_id)), customer_id=customer_id)

    @strawberry.field(
        description=(
            "The customer's latest login (password or SSO), still known after that session "
            "ended; null if the customer never logged in."
        )
    )
    async def last_login_time(self, info: Info) -> datetime | None:
        return await resolve.last_login_time(info.context, self.customer_id)

    @strawberry.field(description=SESSIONS_DESCRIPTION)
    async def sessions(
        self, info: Info, first: First = 20, after: After = None
    ) -> SessionConnection:
        page = await resolve.sessions(
            info.context, self.customer_id, first_or_default(first), after
        )
        return session_connection(page)

    @strawberry.field(
        description=(
            "One of this customer's parent sessions, by id (a strongly consistent read). Null "
            "for a child session's id (read those with `Query.session`), for another "
            "customer's session, and for one that ended."
        )
    )
    async def session(
        self,
        info: Info,
        session_id: Annotated[str, strawberry.argument(description="A parent session's id.")],
    ) -> Session | None:
        return Session.maybe(await resolve.session(info.context, self.customer_id, session_id))
