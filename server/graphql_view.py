"""The Strawberry ASGI view: each request's context, GraphiQL's page, the execution timeout,
protocol errors as JSON with an `extensions.code` (Strawberry answers those in plain text),
the response media type (`server.media`) and persisted queries (`server.persisted`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.change_feed import ChangeFeed
from resolvers.context import RequestContext
from schema.documents import PREPARED_DOCUMENT
from schema.errors import ErrorPolicy
from server import media, metrics
from server.deadlines import DeadlineWatch
from server.graphiql import graphiql_page
from server.json_post import JsonOperation, read_json_operation
from server.persisted import PersistedQueries, PersistedQueryError, document_id
from server.protocol_errors import teach
from server.request_scope import ensure_scope
from server.services import Services
from server.subscriptions import SubscriptionConnection

if TYPE_CHECKING:
    from server.cookies import SessionCookiePolicy

log = logging.getLogger("sessiongraph")
RETRY_AFTER_SECONDS = 1
RETRY_LATER_CODES = frozenset({"RATE_LIMITED", "STORE_UNAVAILABLE"})
"""Errors that say "not now": their response carries `Retry-After`."""
POST_OPERATION_TYPES = frozenset(OperationType.from_http("POST"))
RETRY_AFTER_HEADER = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
JSON_CONTENT_TYPE_HEADER = (b"content-type", media.APPLICATION_JSON.encode())
GRAPHQL_RESPONSE_CONTENT_TYPE_HEADER = (
    b"content-type",
    media.GRAPHQL_RESPONSE_CONTENT_TYPE.encode(),
)


class PreparedResponse(Response):
    """A response whose body and raw headers are already made (Starlette's constructor would
    render and parse them again)."""

    def __init__(self, body: bytes, status_code: int, raw_headers: list[tuple[bytes, bytes]]):
        self.body = body
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.background = None


def json_error(
    status: int, message: str, code: str = "BAD_USER_INPUT", *, accept: str | None = None
) -> JSONResponse:
    """A request error answered before GraphQL runs, in the media type `accept` asks for."""
    response = media.error_response(
        status, message, code, graphql_response=media.wants_graphql_response(accept)
    )
    if code in RETRY_LATER_CODES:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class SessionGraphView(GraphQL[RequestContext, None]):
    graphql_transport_ws_handler_class = SubscriptionConnection

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
        persisted: PersistedQueries | None = None,
        events: ChangeFeed | None = None,
        allowed_origins: Sequence[str] = (),
        subscriptions_per_connection: int = 10,
        connection_init_timeout: float = 10.0,
        session_cookie: SessionCookiePolicy | None = None,
        record_metrics: bool = True,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=allow_queries_via_get,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,) if events else (),
            connection_init_wait_timeout=timedelta(seconds=connection_init_timeout),
            max_subscriptions_per_connection=subscriptions_per_connection,
            allowed_origins=allowed_origins,
        )
        self.events = events
        self.services = services
        self.admin_token = admin_token
        self.execution_timeout = execution_timeout
        self.deadline = DeadlineWatch(execution_timeout)
        self.error_policy = ErrorPolicy(suggestions=suggestions)
        self.persisted = persisted
        self.session_cookie = session_cookie
        self.record_metrics = record_metrics
        # A JSON POST skips Strawberry's generic pipeline (`server.json_post`) unless an HTTP
        # streaming transport is on, which a POST's `Accept` could ask for.
        self.reads_json_directly = not any(
            protocol in self.stream_transport_classes_by_protocol for protocol in self.protocols
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> RequestContext:
        """`response` is None on the JSON POST path without cookie mode: nothing there writes
        to a sub-response."""
        scope = ensure_scope()
        request_id = scope.request_id
        websocket = isinstance(request, WebSocket)
        # Over WebSocket the token comes in connection_init (server.subscriptions), or from the
        # session cookie (cookie mode) when connection_init carries none.
        authorization = None if websocket else request.headers.get("authorization")
        cookie_token = self.session_cookie.credential(request) if self.session_cookie else None
        if cookie_token is not None:
            authorization = f"Bearer {cookie_token}"
        jar = None
        if self.session_cookie is not None and isinstance(response, Response):
            jar = self.session_cookie.jar(request, response)
        context = RequestContext(
            store=self.services.store,
            runner=self.services.runner,
            admin_token=self.admin_token,
            request_id=request_id,
            authorization=authorization,
            session_cookie=jar,
            authenticated_by_cookie=cookie_token is not None,
            client_ip=request.client.host if request.client else None,
            user_agent=(request.headers.get("user-agent") or "")[:512] or None,
            events=self.events if websocket else None,
            cleanup=self.services.cleanup,
        )
        scope.context = context
        return context

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        if media.wants_graphql_response(request.headers.get("accept")):
            sub_response.media_type = media.GRAPHQL_RESPONSE_JSON
        request.state.sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        sub_response: Response | None = getattr(request.state, "sub_response", None)
        graphql_response = (
            sub_response is not None and sub_response.media_type == media.GRAPHQL_RESPONSE_JSON
        )
        body, status = self._result_body(result, graphql_response=graphql_response)
        if status is not None and sub_response is not None:
            sub_response.status_code = status
        return body

    def _result_body(
        self, result: ExecutionResult, *, graphql_response: bool
    ) -> tuple[GraphQLHTTPResponse, int | None]:
        """A result's response body, after the error policy, and the status its media type
        gives it (None: the default); the error codes go to the request's scope."""
        if result.errors:
            scope = ensure_scope()
            result.errors = self.error_policy.apply(result.errors, scope.request_id)
            scope.error_codes = [
                str((error.extensions or {}).get("code")) for error in result.errors
            ]
        body = process_result(result)
        if graphql_response and media.is_request_error(result):
            body.pop("data", None)
            return body, media.request_error_status(
                (e.extensions or {}).get("code") for e in result.errors or ()
            )
        return body, None

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == media.GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = media.GRAPHQL_RESPONSE_CONTENT_TYPE
        if _error_codes(response_data) & RETRY_LATER_CODES:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if self.persisted is None or not isinstance(data, GraphQLRequestData):
            return data
        data.query, data.extensions = self._persisted_operation(
            data.query, data.extensions, await document_id(request)
        )
        return data

    def _persisted_operation(
        self, query: str | None, extensions: dict[str, Any] | None, document: object
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The query a request runs and its extensions, with the prepared document (if any)
        handed to the schema; `PersistedQueryError` when it may run none."""
        if self.persisted is None:
            return query, extensions
        resolved = self.persisted.resolve(query, extensions, document)
        if resolved.prepared is None:
            return resolved.query, extensions
        return resolved.query, {**(extensions or {}), PREPARED_DOCUMENT: resolved.prepared}

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Not for a GET that names a persisted query (no `query`, but `extensions` or
        `documentId`): Apollo Client sends those with `Accept: */*`."""
        params = request.query_params
        return (
            "extensions" not in params
            and "documentId" not in params
            and super().should_render_graphql_ide(request)
        )

    def encode_json(self, data: object) -> str:
        """orjson: several times faster than `json.dumps` for a response body. It refuses
        what JSON allows but UTF-8 cannot carry (a lone surrogate): that goes the old way.
        (Requests stay decoded by `json`, which reads such strings for the input checks to
        refuse with a message.) Always text: Strawberry sends bytes over WebSocket as a
        binary frame, which graphql-ws in a browser refuses. The JSON POST path calls
        `json_bytes` itself: it needs bytes, not text."""
        return json_bytes(data).decode()

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_page(request.url.path))

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if isinstance(request, WebSocket):  # a subscription lasts as long as it needs
            return await super().run(request)
        scope = ensure_scope()
        try:
            return await self._run(request, context, root_value)
        finally:
            if scope.operation_type or scope.error_codes:
                log.debug(
                    "graphql %s %s answered: %s",
                    scope.operation_type or "-",
                    scope.operation_name or "-",
                    ",".join(scope.error_codes) or "ok",
                )
                if self.record_metrics:
                    metrics.record_graphql_request(scope)

    async def _run(self, request: Any, context: Any, root_value: Any) -> Any:
        from strawberry.types.unset import UNSET

        if isinstance(request, WebSocket):  # a subscription lasts as long as it needs
            return await super().run(request)
        try:
            async with self.deadline():
                operation = await read_json_operation(request) if self.reads_json_directly else None
                if operation is not None:
                    return await self._execute_json(request, operation, context, root_value)
                return await super().run(
                    request,
                    context=UNSET if context is None else context,
                    root_value=UNSET if root_value is None else root_value,
                )
        except TimeoutError:
            ensure_scope().error_codes = ["TIMEOUT"]
            log.warning("request over the execution timeout of %ss", self.execution_timeout)
            return json_error(
                503,
                f"the request took longer than the execution timeout of "
                f"{self.execution_timeout:g} s (SESSIONGRAPH_EXECUTION_TIMEOUT_SECONDS); "
                "a mutation may still have been applied: read before you retry",
                code="TIMEOUT",
                accept=request.headers.get("accept"),
            )
        except HTTPException as exc:
            ensure_scope().error_codes = ["BAD_USER_INPUT"]
            message = teach(exc.reason, content_type=request.headers.get("content-type"))
            return json_error(exc.status_code, message, accept=request.headers.get("accept"))
        except PersistedQueryError as exc:
            ensure_scope().error_codes = [exc.code]
            return exc.response(accept=request.headers.get("accept"))

    async def _execute_json(
        self, request: Request, operation: JsonOperation, context: Any, root_value: Any
    ) -> Response:
        """What Strawberry's `run` does for one JSON operation: the same hooks of this view
        (context, persisted queries, result; the sub-response in cookie mode, where the
        cookie jar writes to it), the same execution and the same errors, answered with
        headers made here (`_json_response`) rather than through Starlette's `Response`."""
        accept = request.headers.get("accept")
        graphql_response = accept is not None and media.wants_graphql_response(accept)
        sub_response = None
        if self.session_cookie is not None:
            sub_response = await self.get_sub_response(request)
        if context is None:
            context = await self.get_context(request, response=sub_response)
        query, extensions = self._persisted_operation(
            operation.query, operation.extensions, operation.document_id
        )
        try:
            result = await self.schema.execute(
                query,
                root_value=root_value,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=POST_OPERATION_TYPES,
                operation_extensions=extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason("POST")) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc
        return self._json_response(result, graphql_response, sub_response)

    def _json_response(
        self, result: ExecutionResult, graphql_response: bool, sub_response: Response | None
    ) -> Response:
        """What `process_result` and `create_response` give Strawberry's path, for a result
        of the JSON POST path: the same body, status and headers, in the same order."""
        body, status = self._result_body(result, graphql_response=graphql_response)
        content = json_bytes(body)
        headers = [
            (b"content-length", str(len(content)).encode()),
            GRAPHQL_RESPONSE_CONTENT_TYPE_HEADER if graphql_response else JSON_CONTENT_TYPE_HEADER,
        ]
        if sub_response is not None:
            headers += sub_response.raw_headers
            status = status or sub_response.status_code
        # `_result_body` has just put the errors' codes in the request's scope.
        if result.errors and RETRY_LATER_CODES.intersection(ensure_scope().error_codes):
            headers.append(RETRY_AFTER_HEADER)
        return PreparedResponse(content, status or 200, headers)


def json_bytes(data: object) -> bytes:
    """A response body: orjson, or `json` for what orjson refuses (a lone surrogate)."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data).encode()


def _error_codes(data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> set[str]:
    results = data if isinstance(data, list) else [data]
    codes = set()
    for result in results:
        for error in result.get("errors") or []:
            extensions = error.get("extensions") if isinstance(error, dict) else None
            if isinstance(extensions, dict):
                codes.add(str(extensions.get("code")))
    return codes
