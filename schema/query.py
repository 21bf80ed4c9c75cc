"""`Query`: where each root field hands over to `resolvers/`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from dynamo.records import ChildSession, ParentSession
from resolvers import customers, nodes, sessions
from schema.context import Info
from schema.customer import Customer
from schema.node import Node
from schema.session import Session

NOT_READABLE = "null when there is none, it ended, or the caller may not read it"


@strawberry.type(
    description=(
        "What a caller may read. Send the token of a session (or the admin token) as "
        "`Authorization: Bearer <token>`; without one, every field here answers null."
    )
)
class Query:
    @strawberry.field(
        description=(
            "Any object by its global id (the `id` field of a `Session` or `Customer`); "
            f"{NOT_READABLE}."
        )
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="A global id, as read from an object's `id` field."),
        ],
    ) -> Node | None:
        found = await nodes.node(info.context, str(id))
        if isinstance(found, (ParentSession, ChildSession)):
            return Session.of(found)
        return Customer.of(found) if found is not None else None

    @strawberry.field(
        description=(
            "The session whose token is in the `Authorization: Bearer` header. Null without a "
            "token and with the admin token (which is no session); a token that no longer "
            "works (logged out, expired, revoked) is an UNAUTHENTICATED error."
        )
    )
    def viewer(self, info: Info) -> Session | None:
        return Session.maybe(sessions.viewer(info.context))

    @strawberry.field(description=f"A parent or a child session by id; {NOT_READABLE}.")
    async def session(
        self,
        info: Info,
        session_id: Annotated[
            str, strawberry.argument(description="A parent or a child session's id.")
        ],
    ) -> Session | None:
        return Session.maybe(await sessions.session_by_id(info.context, session_id))

    @strawberry.field(
        description=f"The parent session of a child session; {NOT_READABLE} (child or parent)."
    )
    async def session_by_child_session_id(
        self,
        info: Info,
        child_session_id: Annotated[str, strawberry.argument(description="A child session's id.")],
    ) -> Session | None:
        found = await sessions.session_by_child_session_id(info.context, child_session_id)
        return Session.maybe(found)

    @strawberry.field(
        description=(
            "A customer: a parent session reads its own customer, the admin any. Null for "
            "anyone else, and when the customer has neither a customer item nor sessions."
        )
    )
    async def customer(
        self,
        info: Info,
        customer_id: Annotated[str, strawberry.argument(description="The customer's id.")],
    ) -> Customer | None:
        found = await customers.customer(info.context, customer_id)
        return Customer.of(found) if found is not None else None
