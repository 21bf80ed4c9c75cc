"""`Subscription`: a session's end and a customer's sessions, pushed over WebSocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers import session_events
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from schema.context import Info


@strawberry.enum(description="Why a session ended.")
class SessionEndReason(Enum):
    LOGOUT = strawberry.enum_value(
        "LOGOUT", description="Logged out (itself, or by its parent session or the admin)."
    )
    LOGOUT_ALL = strawberry.enum_value(
        "LOGOUT_ALL", description="Every session of the customer was ended (logoutAll)."
    )
    PASSWORD_CHANGED = strawberry.enum_value(
        "PASSWORD_CHANGED",
        description="The password changed: every session but the one that changed it ended.",
    )
    PARENT_ENDED = strawberry.enum_value(
        "PARENT_ENDED", description="A child session whose parent session ended."
    )
    EXPIRED = strawberry.enum_value(
        "EXPIRED", description="Its idle timeout or absolute lifetime passed."
    )


@strawberry.enum(description="What happened to a session.")
class SessionEventKind(Enum):
    STARTED = strawberry.enum_value("STARTED", description="A login or a new child session.")
    ENDED = strawberry.enum_value("ENDED", description="The session ended; `reason` says why.")


@strawberry.type(description="The bearer's own session ended.")
class SessionEnded:
    session_id: str = strawberry.field(description="The session that ended (the bearer's).")
    reason: SessionEndReason = strawberry.field(description="Why it ended.")


@strawberry.type(description="One of a customer's sessions started or ended.")
class SessionEvent:
    kind: SessionEventKind = strawberry.field(description="Started or ended.")
    session_id: str = strawberry.field(description="The session it happened to.")
    is_child: bool = strawberry.field(description="Whether it is a child session.")
    reason: SessionEndReason | None = strawberry.field(
        description="Why it ended, for ENDED; null for STARTED."
    )


@strawberry.type(
    description=(
        "Events pushed over a WebSocket on the GraphQL path (subprotocol graphql-transport-ws), "
        'authenticated by connection_init\'s payload {"Authorization": "Bearer <token>"}.'
    )
)
class Subscription:
    @strawberry.subscription(
        description=(
            "Fires once when the bearer's own session ends, whatever ended it, "
            "then the subscription completes."
        )
    )
    async def session_ended(self, info: Info) -> AsyncGenerator[SessionEnded, None]:
        ended = await session_events.session_ended(info.context)
        yield SessionEnded(session_id=ended.session_id, reason=SessionEndReason(ended.reason))

    @strawberry.subscription(
        description=(
            "A customer's sessions as they start and end. A parent session's token sees its "
            "own customer; the admin passes customerId."
        )
    )
    async def customer_session_events(
        self,
        info: Info,
        customer_id: Annotated[
            str | None,
            strawberry.argument(
                description="The customer to watch: the admin's choice; a parent session's own."
            ),
        ] = None,
    ) -> AsyncGenerator[SessionEvent, None]:
        async for event in session_events.customer_session_events(info.context, customer_id):
            yield SessionEvent(
                kind=SessionEventKind(event.kind),
                session_id=event.session_id,
                is_child=event.is_child,
                reason=SessionEndReason(event.reason) if event.reason else None,
            )


class OneTransportEach(SchemaExtension):
    """Subscriptions over WebSocket, queries and mutations over HTTP: a WebSocket carries no
    request body limit or CSRF check, and a query there would keep its loaders for ever."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            subscription = self.execution_context.operation_type == OperationType.SUBSCRIPTION
            over_websocket = context.events is not None
            if subscription and not over_websocket:
                raise BadUserInput(
                    "subscriptions run over a WebSocket on /graphql (subprotocol "
                    "graphql-transport-ws), not over HTTP"
                )
            if over_websocket and not subscription:
                raise BadUserInput("over WebSocket only subscriptions: send this over HTTP POST")
        yield
