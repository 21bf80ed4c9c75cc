"""The Strawberry ASGI view: each request's context, GraphiQL's page, the execution timeout,
and protocol errors as JSON with an `extensions.code` (Strawberry answers those in plain text)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from resolvers.context import RequestContext
from schema.errors import ErrorPolicy
from server.graphiql import graphiql_page
from server.services import Services

log = logging.getLogger("sessiongraph")


def json_error(status: int, message: str, code: str = "BAD_USER_INPUT") -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
    )


class SessionGraphView(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: strawberry.Schema,
        services: Services,
        admin_token: str | None,
        *,
        graphiql: bool = True,
        allow_queries_via_get: bool = True,
        execution_timeout: float = 10.0,
        suggestions: bool = True,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=allow_queries_via_get,
            subscription_protocols=(),
        )
        self.services = services
        self.admin_token = admin_token
        self.execution_timeout = execution_timeout
        self.error_policy = ErrorPolicy(suggestions=suggestions)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        request_id = uuid.uuid4().hex
        request.state.request_id = request_id
        return RequestContext(
            store=self.services.store,
            runner=self.services.runner,
            admin_token=self.admin_token,
            request_id=request_id,
            authorization=request.headers.get("authorization"),
            client_ip=request.client.host if request.client else None,
            user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            request_id = getattr(request.state, "request_id", "-")
            result.errors = self.error_policy.apply(result.errors, request_id)
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_page(request.url.path))

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        from strawberry.types.unset import UNSET

        try:
            async with asyncio.timeout(self.execution_timeout):
                return await super().run(
                    request,
                    context=UNSET if context is None else context,
                    root_value=UNSET if root_value is None else root_value,
                )
        except TimeoutError:
            log.warning("request over the execution timeout of %ss", self.execution_timeout)
            return json_error(
                503,
                f"the request took longer than the execution timeout of "
                f"{self.execution_timeout:g} s (SESSIONGRAPH_EXECUTION_TIMEOUT_SECONDS); "
                "a mutation may still have been applied: read before you retry",
            )
        except HTTPException as exc:
            return json_error(exc.status_code, exc.reason)
