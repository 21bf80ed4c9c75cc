"""Whether a request's `Origin` is this server's own or one on the CORS allow-list.

An origin is scheme, host and port together: `http://app.example` is not the origin of a page
served from `https://app.example` (a page on plain http can be anyone's on the way). This
server's own origin is the request's scheme (`scope["scheme"]`, which uvicorn sets from a
trusted proxy's `X-Forwarded-Proto`, SESSIONGRAPH_FORWARDED_ALLOW_IPS) with its `Host`
header; a WebSocket's `ws`/`wss` count as `http`/`https`, since browsers send the page's
origin on the upgrade.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.types import Scope

WEB_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(scheme: str, netloc: str) -> Origin | None:
    """(scheme, lower-case host, port) with the scheme's default port made explicit."""
    web_scheme = WEB_SCHEMES.get(scheme.lower())
    if web_scheme is None or not netloc:
        return None
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return (web_scheme, parts.hostname.lower(), port or DEFAULT_PORTS[web_scheme])


def own_origin(scope: Scope, host: str) -> Origin | None:
    """This server's origin as the request reached it."""
    return parse_origin(str(scope.get("scheme", "http")), host)


def origin_allowed(origin: str, scope: Scope, host: str, allowed: Collection[str]) -> bool:
    """`origin` (an Origin header) is on `allowed` or is exactly this server's own."""
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.path or parts.query or parts.fragment:
        return False
    sent = parse_origin(parts.scheme, parts.netloc)
    return sent is not None and sent == own_origin(scope, host)
