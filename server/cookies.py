"""Cookie mode over HTTP: the session cookie, and when a request may use or set it.

With `SESSIONGRAPH_COOKIE_MODE` on, `loginWithCookie` puts the session's token in
`__Host-sessiongraph` (HttpOnly, Secure, SameSite, Path=/, Max-Age up to the session's absolute
lifetime), where page scripts cannot read it. The `__Host-` prefix makes browsers refuse the
name unless it is Secure, host-only and Path=/, so a sibling subdomain cannot plant one. Every
browser that takes a Secure cookie at all takes the prefix (Chromium does on https, on
http://localhost and on http://127.0.0.1, and takes neither on plain http elsewhere), so there is
one name and no fallback: a cookie login over plain http to another host is refused with a
message instead of a cookie the browser would drop.

A request authenticates by the cookie only when it sends no `Authorization` header, and then
only under the CSRF rules below; the view hands the token on as a bearer token, so every check
of a token applies (`resolvers/session_cookie.py` holds the resolvers' side):

- a POST carrying the cookie must have `Content-Type: application/json` (a cross-site form
  cannot send it, and a cross-site `fetch` with it needs a CORS preflight) and an `Origin` of
  this server or of `SESSIONGRAPH_CORS_ORIGINS` (browsers send it with every POST); one that
  does not is refused with 403 before GraphQL runs;
- a GET never authenticates by the cookie (it is ignored; GET cannot mutate anyway);
- a WebSocket upgrade carrying the cookie must come from such an `Origin` (cross-site WebSocket
  hijacking), or it is refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.graphql_view import json_error
from server.origins import origin_allowed

COOKIE_NAME = "__Host-sessiongraph"
JSON_MEDIA_TYPE = "application/json"
RULES = (
    "a request that carries the session cookie must be a POST with "
    "'Content-Type: application/json' and an Origin header of this server or of "
    "SESSIONGRAPH_CORS_ORIGINS"
)


@dataclass(frozen=True, slots=True)
class SessionCookiePolicy:
    same_site: Literal["strict", "lax"] = "strict"
    allowed_origins: frozenset[str] = frozenset()
    graphql_path: str = "/graphql"

    @classmethod
    def of(
        cls, same_site: Literal["strict", "lax"], allowed_origins: list[str]
    ) -> SessionCookiePolicy:
        return cls(same_site, frozenset(origin.rstrip("/") for origin in allowed_origins))

    def credential(self, conn: HTTPConnection) -> str | None:
        """The token `conn` authenticates with from the cookie: only with no Authorization
        header, and only when the request follows the rules; None otherwise."""
        if "authorization" in conn.headers:
            return None
        token = cookie_token(conn.headers)
        if token is None or self.refusal_to_use(conn.scope, conn.headers) is not None:
            return None
        return token

    def refusal_to_use(self, scope: Scope, headers: Headers) -> str | None:
        """Why this request may not authenticate by the cookie (None: it may)."""
        if scope["type"] == "http":
            if scope["method"] != "POST":
                return "only a POST authenticates by the session cookie"
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type != JSON_MEDIA_TYPE:
                return RULES
        origin = headers.get("origin")
        host = headers.get("host", "")
        if origin is None or not origin_allowed(origin, scope, host, self.allowed_origins):
            return RULES
        return None

    def refusal_to_set(self, scope: Scope, headers: Headers) -> str | None:
        """Why this request may not receive the cookie (None: it may)."""
        refusal = self.refusal_to_use(scope, headers)
        if refusal is not None:
            return refusal.replace("carries the session cookie", "logs in with a cookie")
        if scope.get("scheme") not in ("https", "wss") and not is_loopback(headers.get("host")):
            return (
                "cookie logins need HTTPS: browsers drop a Secure cookie sent over plain http "
                "(but to localhost); behind a TLS proxy, list it in "
                "SESSIONGRAPH_FORWARDED_ALLOW_IPS so that its X-Forwarded-Proto is trusted"
            )
        return None

    def jar(self, conn: HTTPConnection, response: Response) -> ResponseCookieJar:
        return ResponseCookieJar(self, conn, response)


def cookie_token(headers: Headers) -> str | None:
    return cookie_parser(headers.get("cookie", "")).get(COOKIE_NAME) or None


def is_loopback(host: str | None) -> bool:
    """Whether `host` (a Host header) names this machine, which browsers treat as secure."""
    hostname = urlsplit(f"//{host or ''}").hostname or ""
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class ResponseCookieJar:
    """`resolvers.session_cookie.SessionCookieJar` over one request and Strawberry's
    sub-response, whose headers go out with the GraphQL response."""

    def __init__(self, policy: SessionCookiePolicy, conn: HTTPConnection, response: Response):
        self.policy = policy
        self.conn = conn
        self.response = response

    def refusal(self) -> str | None:
        return self.policy.refusal_to_set(self.conn.scope, self.conn.headers)

    def set(self, token: str, max_age: int) -> None:
        self._forget_earlier()
        self.response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=max_age,
            path="/",
            secure=True,
            httponly=True,
            samesite=self.policy.same_site,
        )

    def clear(self) -> None:
        self._forget_earlier()
        self.response.delete_cookie(
            COOKIE_NAME, path="/", secure=True, httponly=True, samesite=self.policy.same_site
        )

    def _forget_earlier(self) -> None:
        """One Set-Cookie per response: the last word (a stale cookie cleared, then a login's
        new one set, in one request) replaces the earlier."""
        prefix = f"{COOKIE_NAME}=".encode("latin-1")
        self.response.raw_headers[:] = [
            (name, value)
            for name, value in self.response.raw_headers
            if not (name == b"set-cookie" and value.startswith(prefix))
        ]


class SessionCookieGuard:
    """Refuses, before GraphQL runs, a request to the GraphQL path that carries the session
    cookie, no Authorization header, and breaks the rules: a POST with another content type
    or without an allowed Origin (403), a WebSocket upgrade without one (closed, which the
    server answers with 403). A GET is let through: the view ignores its cookie."""

    def __init__(self, app: ASGIApp, *, policy: SessionCookiePolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] == self.policy.graphql_path:
            headers = Headers(scope=scope)
            checked = scope["type"] == "websocket" or scope["method"] == "POST"
            if (
                checked
                and "authorization" not in headers
                and cookie_token(headers) is not None
                and self.policy.refusal_to_use(scope, headers) is not None
            ):
                await self._refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        await json_error(403, RULES, code="FORBIDDEN")(scope, receive, send)
