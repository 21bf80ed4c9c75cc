"""The Strawberry ASGI view: builds each request's context and serves GraphiQL's page."""

from __future__ import annotations

import logging
import uuid

import strawberry
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from dynamo.errors import is_store_unavailable
from resolvers.auth import resolve_caller
from resolvers.context import RequestContext
from resolvers.errors import StoreUnavailable
from schema.errors import STORE_UNAVAILABLE_MESSAGE
from server.graphiql import graphiql_page
from server.services import Services

log = logging.getLogger("sessiongraph")


class SessionGraphView(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: strawberry.Schema,
        services: Services,
        admin_token: str | None,
        *,
        graphiql: bool = True,
        allow_queries_via_get: bool = True,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=allow_queries_via_get,
            subscription_protocols=(),
        )
        self.services = services
        self.admin_token = admin_token

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        services = self.services
        context = RequestContext(
            store=services.store,
            runner=services.runner,
            admin_token=self.admin_token,
            request_id=request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex,
            client_ip=request.client.host if request.client else None,
            user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        )
        try:
            context.caller, context.auth_error = await services.runner.run(
                resolve_caller,
                services.store,
                request.headers.get("authorization"),
                self.admin_token,
            )
        except Exception as exc:
            if not is_store_unavailable(exc):
                raise
            log.warning("store unavailable while authenticating [%s]: %r", context.request_id, exc)
            context.auth_error = StoreUnavailable(STORE_UNAVAILABLE_MESSAGE)
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_page(request.url.path))
