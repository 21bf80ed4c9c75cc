"""WebSocket connections for subscriptions: graphql-transport-ws with sessiongraph's rules.

- The token comes in `connection_init`'s payload, `{"Authorization": "Bearer <token>"}` (a
  browser cannot set headers on a WebSocket). A missing, invalid or ended token closes the
  socket with 4401 and no `connection_ack`; a session already holding
  `connections_per_session` connections in this process gets 4429.
- `connection_init` must come within `connection_init_timeout_seconds` (else 4408), and a
  connection runs at most `subscriptions_per_connection` subscriptions (Strawberry's).
- Errors leave with an `extensions.code`, unexpected ones masked, as over HTTP.
- Persisted queries and trusted documents apply as over HTTP (`server.persisted`): a
  `subscribe` names its document by `extensions.persistedQuery` or `documentId`, and when only
  trusted documents may run, any other is refused with an `error` message for that operation
  (`extensions.code: PERSISTED_QUERY_NOT_ALLOWED`), the connection staying open.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from resolvers.caller import Anonymous, SessionCaller
from resolvers.context import RequestContext
from resolvers.errors import StoreUnavailable
from schema.errors import ErrorPolicy
from server import metrics
from server.persisted import PersistedQueries, PersistedQueryError

UNAUTHORIZED = 4401
TOO_MANY = 4429
TRY_AGAIN_LATER = 1013


def authorization_of(payload: Mapping[str, object]) -> str | None:
    """`Authorization` from a connection_init payload, whatever the case of the name."""
    for name, value in payload.items():
        if name.lower() == "authorization" and isinstance(value, str):
            return value
    return None


class SubscriptionConnection(BaseGraphQLTransportWSHandler[RequestContext, None]):
    _held_session: str | None = None
    _counted = False

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.websocket.close(4400, "the connection_init payload must be an object")
            return
        if self.connection_init_received:
            await self.websocket.close(TOO_MANY, "Too many initialisation requests")
            return
        self.connection_init_received = True

        context = self.context
        sent = authorization_of(payload)
        if sent is not None or not context.authenticated_by_cookie:
            # The payload's token wins; with none, the session cookie's (cookie mode), which the
            # view took from the upgrade request under its Origin rule (server/cookies.py).
            context.authorization = sent
            context.authenticated_by_cookie = False
        await context.authenticate()
        if isinstance(context.auth_error, StoreUnavailable):
            await self.websocket.close(TRY_AGAIN_LATER, "the session store is unavailable")
            return
        if context.auth_error is not None or isinstance(context.caller, Anonymous):
            await self.websocket.close(
                UNAUTHORIZED, 'connection_init needs {"Authorization": "Bearer <live token>"}'
            )
            return
        if isinstance(context.caller, SessionCaller) and context.events is not None:
            session_id = context.caller.session.session_id
            if not context.events.hold_connection(session_id):
                await self.websocket.close(TOO_MANY, "too many connections for this session")
                return
            self._held_session = session_id
        metrics.WEBSOCKET_CONNECTIONS.inc()
        self._counted = True
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """The document through the view's persisted-query rules first (`server.persisted`),
        exactly as `SessionGraphView.parse_http_body` does for HTTP."""
        persisted: PersistedQueries | None = getattr(self.view, "persisted", None)
        if (
            persisted is not None
            and self.connection_acknowledged
            and message["id"] not in self.operations
        ):
            payload: dict[str, Any] = dict(message["payload"])
            try:
                resolved = persisted.resolve(
                    payload.get("query"), payload.get("extensions"), payload.get("documentId")
                )
            except PersistedQueryError as exc:
                await self.send_message(
                    {
                        "id": message["id"],
                        "type": "error",
                        "payload": [{"message": exc.message, "extensions": {"code": exc.code}}],
                    }
                )
                return
            payload["query"] = resolved.query
            message = {**message, "payload": payload}  # type: ignore[typeddict-item]
        await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self._counted:
                metrics.WEBSOCKET_CONNECTIONS.dec()
                self._counted = False
            if self._held_session is not None and self.context.events is not None:
                self.context.events.release_connection(self._held_session)
                self._held_session = None

    async def _send_result_stream(
        self, operation: Operation[RequestContext, None], result_source: Any
    ) -> None:
        """Every result's errors get their code (and unexpected ones a request id)."""
        request_id = self.context.request_id
        policy: ErrorPolicy = getattr(self.view, "error_policy", ErrorPolicy())

        async def coded() -> AsyncGenerator[Any, None]:
            async for result in result_source:
                if getattr(result, "errors", None):
                    result.errors = policy.apply(result.errors, request_id)
                yield result

        await super()._send_result_stream(operation, coded())
