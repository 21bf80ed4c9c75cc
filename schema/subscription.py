"""`Subscription`: a session's end and a customer's sessions, pushed over WebSocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from enum import Enum

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers import session_events
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from schema.context import Info


@strawberry.enum(description="Why a session ended.")
class SessionEndReason(Enum):
    LOGOUT = "LOGOUT"
    LOGOUT_ALL = "LOGOUT_ALL"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PARENT_ENDED = "PARENT_ENDED"
    EXPIRED = "EXPIRED"


@strawberry.enum
class SessionEventKind(Enum):
    STARTED = "STARTED"
    ENDED = "ENDED"


@strawberry.type
class SessionEnded:
    session_id: str
    reason: SessionEndReason


@strawberry.type
class SessionEvent:
    kind: SessionEventKind
    session_id: str
    is_child: bool
    reason: SessionEndReason | None = strawberry.field(description="For ENDED: why.")


@strawberry.type
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
        self, info: Info, customer_id: str | None = None
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
