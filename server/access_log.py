"""The access line: one per HTTP request, written by the app when its response starts.

It takes the place of uvicorn's access line (`sessiongraph serve` turns uvicorn's off), with
the same fields in the layout of `server.logs`' formatters, under the logger name
`sessiongraph.access`. uvicorn's line goes through `logging`: a record, two filters, a
formatter, a handler. Over HTTP that cost 4-7 % of a small request's CPU; this line is one
formatted string and one write to stderr, about half that (bench/README.md, fifth pass).
Being the app's, it is the same under `serve`, `serve --workers` and gunicorn.

The query string is left out: a GET carries its variables in the URL.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import Scope

from server.logs import LogFormat, json_time, request_fields, text_suffix, text_time
from server.request_scope import RequestScope

LOGGER_NAME = "sessiongraph.access"


def client_address(scope: Scope) -> str:
    """`host:port` of the client, as uvicorn writes it ("" when the server does not know)."""
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""


class AccessLog:
    """Writes the access line of a request (`RequestScopeMiddleware` calls `write`)."""

    def __init__(self, log_format: LogFormat, write: Callable[[str], Any] | None = None) -> None:
        self._format = _json_line if log_format == "json" else _text_line
        self._write = write
        """None: `sys.stderr.write`, looked up per line (a test may swap `sys.stderr`)."""

    def write(self, scope: Scope, request: RequestScope, status: int) -> None:
        line = self._format(time.time(), scope, request, status)
        (self._write or sys.stderr.write)(line + "\n")


def _message(client: str, scope: Scope, status: int) -> str:
    return f'{client} - "{scope["method"]} {scope["path"]} HTTP/{scope["http_version"]}" {status}'


def _text_line(created: float, scope: Scope, request: RequestScope, status: int) -> str:
    message = _message(client_address(scope), scope, status)
    suffix = text_suffix(request_fields(request))
    return f"{text_time(created)} INFO {LOGGER_NAME} {message}{suffix}"


def _json_line(created: float, scope: Scope, request: RequestScope, status: int) -> str:
    client = client_address(scope)
    line: dict[str, Any] = {
        "time": json_time(created),
        "level": "INFO",
        "logger": LOGGER_NAME,
        "pid": os.getpid(),
        "message": _message(client, scope, status),
    }
    for name, value in request_fields(request).items():
        if value is not None and value != []:
            line[name] = value
    line.update(client=client, method=scope["method"], path=scope["path"], status=status)
    return orjson.dumps(line).decode()
