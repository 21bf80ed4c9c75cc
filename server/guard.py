"""Request guards in front of `/graphql`: body size cap and cross-origin refusal.

A browser sends `Origin` with cross-origin requests (and with same-origin POSTs). A request
from an origin that is neither this server's own nor on the CORS allow-list is refused
before it reaches GraphQL, so a page elsewhere cannot make a logged-in browser act (CSRF).
A WebSocket upgrade gets the same rule (browsers send `Origin` on every one): refused, the
handshake is answered 403.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.graphql_view import json_error
from server.origins import origin_allowed

WS_POLICY_VIOLATION = 1008


class RequestGuard:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, allowed_origins: Iterable[str]
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allowed_origins = frozenset(o.rstrip("/") for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, scope, headers):
            response = json_error(
                403,
                f"requests from origin {origin[:100]!r} are not allowed "
                "(SESSIONGRAPH_CORS_ORIGINS lists the allowed ones)",
                code="FORBIDDEN",
                accept=headers.get("accept"),
            )
            await response(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            more = message.get("more_body", False)
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, scope, headers):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": ""})
            return
        await self.app(scope, receive, send)

    def _origin_allowed(self, origin: str, scope: Scope, headers: Headers) -> bool:
        return origin_allowed(origin, scope, headers.get("host", ""), self.allowed_origins)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = json_error(
            413,
            f"the request body is over the limit of {self.max_body_bytes} bytes "
            "(SESSIONGRAPH_MAX_BODY_BYTES)",
            accept=Headers(scope=scope).get("accept"),
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
