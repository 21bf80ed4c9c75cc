"""`SESSIONGRAPH_ACCESS_LOG`: one line per HTTP request by default; none when it is off, where
metrics or a load balancer count requests already (the line costs 4-7 % of a small request's
CPU: bench/README.md)."""

from __future__ import annotations

import json

import pytest

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
    return [line for line in lines if line["logger"] == "uvicorn.access"]


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
