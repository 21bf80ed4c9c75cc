"""The access line: one per HTTP request, written by the app when its response starts.

It takes the place of uvicorn's access line (`sessiongraph serve` turns uvicorn's off), with
the same fields in the layout of `server.logs`' formatters, under the logger name
`sessiongraph.access`. uvicorn's line goes through `logging`: a record, two filters, a
formatter, a handler. This one is one formatted string and one write to stderr: 1.3-3.9 % less
CPU per small request over HTTP (bench/README.md, fifth pass). It does not pass through
`logging`, so logging's handlers and filters never see it. Being the app's, it is the same
under `serve`, `serve --workers`, plain uvicorn and gunicorn, whose own line the logging
configuration turns off (`server.logs.logging_config`).

The path is percent-quoted as uvicorn quotes it (a decoded `%0A` would start a forged line);
the query string is left out (a GET carries its variables in the URL). A line that cannot be
written (stderr closed, a full non-blocking pipe) is dropped: it never fails the request.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson
from starlette.types import Scope
from uvicorn.protocols.utils import get_client_addr

from server.logs import (
    LogFormat,
    add_fields,
    json_head,
    request_fields,
    text_suffix,
    text_time,
)
from server.request_scope import RequestScope

LOGGER_NAME = "sessiongraph.access"


def client_address(scope: Scope) -> str:
    """`host:port` of the client, or "": uvicorn's own for its access line."""
    return get_client_addr(scope)  # type: ignore[arg-type]  # a Starlette scope is uvicorn's dict


class AccessLog:
    """Writes the access line of a request (`RequestScopeMiddleware` calls `write`)."""

    def __init__(self, log_format: LogFormat, write: Callable[[str], Any] | None = None) -> None:
        self._format = _json_line if log_format == "json" else _text_line
        self._write = write
        """None: `sys.stderr.write`, looked up per line (a test may swap `sys.stderr`)."""

    def write(self, scope: Scope, request: RequestScope, status: int) -> None:
        line = self._format(time.time(), scope, request, status)
        with contextlib.suppress(OSError, ValueError):  # as `logging` would, minus its traceback
            (self._write or sys.stderr.write)(line + "\n")


def _message(client: str, path: str, scope: Scope, status: int) -> str:
    version = scope.get("http_version", "1.1")
    return f'{client} - "{scope["method"]} {path} HTTP/{version}" {status}'


def _text_line(created: float, scope: Scope, request: RequestScope, status: int) -> str:
    message = _message(client_address(scope), quote(scope["path"]), scope, status)
    suffix = text_suffix(request_fields(request))
    return f"{text_time(created)} INFO {LOGGER_NAME} {message}{suffix}"


def _json_line(created: float, scope: Scope, request: RequestScope, status: int) -> str:
    client, path = client_address(scope), quote(scope["path"])
    line = json_head(
        created, "INFO", LOGGER_NAME, os.getpid(), _message(client, path, scope, status)
    )
    add_fields(line, request_fields(request))
    add_fields(line, {"client": client, "method": scope["method"], "path": path, "status": status})
    return orjson.dumps(line, default=str).decode()
