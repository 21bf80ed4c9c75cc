"""What one HTTP request is, for its log lines and its metrics: id, start, operation, error codes.

`RequestScopeMiddleware` (outermost) starts a scope per HTTP request in a context variable, so
every log line of the request (its access line included, `server.access_log`) and the metrics
read the same scope. `OperationLabels` (a Strawberry extension) fills in
the operation once the document is parsed; the GraphQL view fills in the error codes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from server.access_log import AccessLog

REQUEST_ID_HEADER = b"x-request-id"


@dataclass
class RequestScope:
    request_id: str = field(default_factory=lambda: os.urandom(16).hex())
    """32 random hex digits, like `uuid4().hex` (which costs several times more per request)."""
    started: float = field(default_factory=time.perf_counter)
    operation_type: str | None = None
    operation_name: str | None = None
    error_codes: list[str] = field(default_factory=list)
    context: Any = None
    """The request's `RequestContext`, once the GraphQL view made one."""

    @property
    def duration_seconds(self) -> float:
        return time.perf_counter() - self.started


_current: ContextVar[RequestScope | None] = ContextVar("sessiongraph_request", default=None)


def current_scope() -> RequestScope | None:
    return _current.get()


def ensure_scope() -> RequestScope:
    """The current request's scope, or a new one (an app used without the middleware)."""
    scope = _current.get()
    if scope is None:
        scope = RequestScope()
        _current.set(scope)
    return scope


class RequestScopeMiddleware:
    """Starts a scope per HTTP request and answers its id in `X-Request-Id`; writes the
    request's access line (if given an `access_log`) when the response starts, or with a 500
    for a request that ended without one (it raised or was cancelled, or the app returned
    without answering), which Starlette or uvicorn answer then."""

    def __init__(self, app: ASGIApp, access_log: AccessLog | None = None) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = RequestScope()
        token = _current.set(request)
        access_log = self.access_log
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if access_log is not None:
                    access_log.write(scope, request, message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not started and access_log is not None:
                access_log.write(scope, request, 500)  # what the server answers, if it still can
            _current.reset(token)


class OperationLabels(SchemaExtension):
    """Records the operation's type and name (as the document gives them) in the scope."""

    def on_operation(self) -> Iterator[None]:
        yield
        self._record()

    def on_execute(self) -> Iterator[None]:
        self._record()
        yield

    def _record(self) -> None:
        context = self.execution_context
        if context.graphql_document is None:
            return
        try:
            operation_type = context.operation_type.value
        except Exception:  # no operation of that name in the document
            return
        self.observe_operation(operation_type, context.operation_name)

    @staticmethod
    def observe_operation(operation_type: str, operation_name: str | None) -> None:
        """Also called by the schema's plain path (`schema.ready_documents`), which runs
        no extension hooks."""
        scope = current_scope()
        if scope is None or scope.operation_type is not None:
            return
        scope.operation_type = operation_type
        scope.operation_name = operation_name
