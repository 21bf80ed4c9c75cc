"""The access line (`server/access_log.py`): one per HTTP request by default, written by the
app in the layout of the other log lines; none with `SESSIONGRAPH_ACCESS_LOG=false`, where
metrics or a load balancer count requests already (bench/README.md measures its cost)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from server.access_log import LOGGER_NAME, AccessLog
from server.logs import JsonFormatter, LogFormat, RequestFields, TextFormatter, text_time
from server.request_scope import RequestScopeMiddleware, current_scope
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess

BANNER = ("sessiongraph on the", "sample frontend:", "GraphiQL and the API:", "admin token")


def _access_lines(access_log: str | None) -> list[dict[str, object]]:
    env = {"SESSIONGRAPH_LOG_FORMAT": "json", "SESSIONGRAPH_STORE": "embedded"}
    if access_log is not None:
        env["SESSIONGRAPH_ACCESS_LOG"] = access_log
    server = ServerProcess.start(admin_token=ADMIN_TOKEN, env=env)
    try:
        for _ in range(3):
            assert server.graphql("query Typename { __typename }").ok() == {"__typename": "Query"}
        assert server.get("/healthz").status == 200
    finally:
        assert server.stop() == 0
    lines = [json.loads(line) for line in server.output if not line.startswith(BANNER)]
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # it did log
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]  # not twice
    return [line for line in lines if line["logger"] == LOGGER_NAME]


def test_by_default_each_request_has_an_access_line_with_its_request_fields() -> None:
    access = _access_lines(None)
    # The readiness polls of ServerProcess.start come first; then the four requests above.
    assert [(line["method"], line["path"], line["status"]) for line in access[-4:]] == [
        *[("POST", "/graphql", 200)] * 3,
        ("GET", "/healthz", 200),
    ]
    graphql = [line for line in access if line["path"] == "/graphql"]
    assert [line.get("operation") for line in graphql] == ["Typename"] * 3
    assert len({line["request_id"] for line in graphql}) == 3


def test_access_log_off_writes_no_access_line() -> None:
    assert _access_lines("false") == []


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("false", False), ("true", True)])
def test_the_setting(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    monkeypatch.delenv("SESSIONGRAPH_ACCESS_LOG", raising=False)
    if value is not None:
        monkeypatch.setenv("SESSIONGRAPH_ACCESS_LOG", value)
    assert Settings().access_log is expected


def _tiny_app(log_format: LogFormat, lines: list[str]) -> Starlette:
    async def item(request: Request) -> PlainTextResponse:
        scope = current_scope()
        assert scope is not None
        scope.operation_type, scope.operation_name = "query", "Item"
        scope.error_codes.append("NOT_FOUND")
        return PlainTextResponse("gone", status_code=404)

    async def broken(request: Request) -> PlainTextResponse:
        raise RuntimeError("a bug")

    return Starlette(
        routes=[Route("/items/{id}", item), Route("/broken", broken)],
        middleware=[
            Middleware(RequestScopeMiddleware, access_log=AccessLog(log_format, lines.append))
        ],
    )


def _formatted_by_logging(formatter: logging.Formatter, message: str, fields: Any) -> str:
    """What `server.logs` formats for a record of the access logger with these fields."""
    record = logging.makeLogRecord({"name": LOGGER_NAME, "levelno": 20, "levelname": "INFO"})
    record.msg, record.args = message, None
    RequestFields().filter(record)  # outside a request: the fields come from `fields`
    record.__dict__.update(fields)
    return formatter.format(record)


def test_text_line_is_laid_out_like_every_other_line_and_drops_the_query_string() -> None:
    lines: list[str] = []
    with TestClient(_tiny_app("text", lines)) as client:
        response = client.get("/items/7?password=hunter2")
    assert response.status_code == 404
    (line,) = lines
    assert line.endswith("\n") and "hunter2" not in line
    request_id = response.headers["x-request-id"]
    message = 'testclient:50000 - "GET /items/7 HTTP/1.1" 404'
    duration = re.search(r"duration_ms=([0-9.]+)", line)
    assert duration is not None
    fields = {
        "request_id": request_id,
        "operation": "Item",
        "duration_ms": float(duration.group(1)),
        "error_codes": ["NOT_FOUND"],
    }
    expected = _formatted_by_logging(TextFormatter(), message, fields)
    assert line[23:] == expected[23:] + "\n"  # all but the time
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", line[:23])
    assert line[23:] == (
        f" INFO sessiongraph.access {message} [request={request_id} operation=Item "
        f"duration_ms={duration.group(1)} errors=NOT_FOUND]\n"
    )


def test_json_line_has_the_fields_of_every_other_line() -> None:
    lines: list[str] = []
    with TestClient(_tiny_app("json", lines)) as client:
        response = client.get("/items/7?password=hunter2")
    (line,) = (json.loads(text) for text in lines)
    assert "hunter2" not in lines[0]
    fields = {
        "request_id": response.headers["x-request-id"],
        "operation_type": "query",
        "operation": "Item",
        "duration_ms": line["duration_ms"],
        "error_codes": ["NOT_FOUND"],
        "client": "testclient:50000",
        "method": "GET",
        "path": "/items/7",
        "status": 404,
    }
    message = 'testclient:50000 - "GET /items/7 HTTP/1.1" 404'
    expected = json.loads(_formatted_by_logging(JsonFormatter(), message, fields))
    assert {**line, "time": None} == {**expected, "time": None}
    assert line["logger"] == "sessiongraph.access" and line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_a_request_that_raises_before_answering_is_logged_with_the_500_it_gets() -> None:
    lines: list[str] = []
    with TestClient(_tiny_app("json", lines), raise_server_exceptions=False) as client:
        assert client.get("/broken").status_code == 500
    assert [(json.loads(line)["path"], json.loads(line)["status"]) for line in lines] == [
        ("/broken", 500)
    ]


def test_without_an_access_log_the_scope_still_answers_its_request_id() -> None:
    app = Starlette(
        routes=[Route("/", lambda request: PlainTextResponse("ok"))],
        middleware=[Middleware(RequestScopeMiddleware)],
    )
    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 200 and len(response.headers["x-request-id"]) == 32


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_text_time_is_loggings_default_time_in_any_zone(
    monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        # 2026-03-29 01:00 UTC: Berlin moves from 02:00 to 03:00; New York did on 03-08.
        for created in (1774745999.25, 1774746000.0, 1774746000.9996, 1774746001.5, 0.0):
            record = logging.LogRecord(LOGGER_NAME, logging.INFO, "", 0, "m", None, None)
            record.created, record.msecs = created, int((created - int(created)) * 1000)
            expected = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
            assert text_time(created) == f"{expected},{int(record.msecs):03d}"
            assert text_time(created, record.msecs) == logging.Formatter().formatTime(record)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_berlin_changes_its_clock_between_two_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert text_time(1774745999.0).startswith("2026-03-29 01:59:59")
        assert text_time(1774746000.0).startswith("2026-03-29 03:00:00")
    finally:
        monkeypatch.undo()
        time.tzset()


def _run(app: Any, path: str = "/x") -> list[dict[str, Any]]:
    """Calls `app` as an HTTP request to `path`; the messages it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "http_version": "1.1",
        "headers": [],
        "client": ("10.0.0.1", 1234),
    }
    with contextlib.suppress(RuntimeError, asyncio.CancelledError):
        asyncio.run(app(scope, receive, send))
    return sent


START = {"type": "http.response.start", "status": 200, "headers": []}


@pytest.mark.parametrize(
    ("name", "expected_statuses"),
    [("answers", [200]), ("raises_after_answering", [200]), ("returns_without_answering", [500])],
)
def test_one_line_per_request_whatever_the_app_does(
    name: str, expected_statuses: list[int]
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if name != "returns_without_answering":
            await send(START)
        if name == "raises_after_answering":
            raise RuntimeError("a bug after the response started")

    lines: list[str] = []
    _run(RequestScopeMiddleware(app, access_log=AccessLog("json", lines.append)))
    assert [json.loads(line)["status"] for line in lines] == expected_statuses


def test_a_cancelled_request_is_logged_with_500() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError  # graceful shutdown ran out of time

    lines: list[str] = []
    assert _run(RequestScopeMiddleware(app, access_log=AccessLog("text", lines.append))) == []
    assert len(lines) == 1 and ' - "GET /x HTTP/1.1" 500 [request=' in lines[0]


def test_a_percent_encoded_path_stays_encoded_and_cannot_forge_a_line() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(START)

    forged = '/a\n2026-01-01 00:00:00,000 INFO sessiongraph.access 1.2.3.4:1 - "GET /b'
    for log_format in ("text", "json"):
        lines: list[str] = []
        _run(RequestScopeMiddleware(app, access_log=AccessLog(log_format, lines.append)), forged)
        (line,) = lines
        assert line.count("\n") == 1 and line.endswith("\n")
        assert "/a%0A2026-01-01%2000%3A00%3A00%2C000%20INFO" in line
        if log_format == "json":
            assert json.loads(line)["path"].startswith("/a%0A2026")


def test_a_line_that_cannot_be_written_does_not_fail_the_request() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(START)
        await send({"type": "http.response.body", "body": b"ok"})

    def broken_pipe(line: str) -> None:
        raise BrokenPipeError

    sent = _run(RequestScopeMiddleware(app, access_log=AccessLog("text", broken_pipe)))
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
