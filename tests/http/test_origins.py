"""The Origin rule (server/origins.py), shared by the request guard and cookie mode: an origin
is scheme, host and port, so `http://host` is not the origin of an https server."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dynamo.runner import BlockingCallRunner
from server.app import create_app
from server.origins import origin_allowed
from server.services import Services
from server.settings import Settings
from tests.security.helpers import moto_only
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess

TYPENAME = {"query": "{ __typename }"}


@pytest.mark.parametrize(
    ("origin", "scheme", "host", "allowed"),
    [
        ("https://sg.example", "https", "sg.example", True),
        ("https://sg.example:443", "https", "sg.example", True),
        ("https://SG.example/", "https", "sg.example:443", True),
        ("http://sg.example", "https", "sg.example", False),  # the scheme counts
        ("https://sg.example", "http", "sg.example", False),
        ("http://sg.example:8443", "https", "sg.example:8443", False),
        ("https://sg.example:8443", "https", "sg.example", False),  # so does the port
        ("https://evil.example", "https", "sg.example", False),
        ("https://sg.example", "wss", "sg.example", True),  # a WebSocket's page origin
        ("http://127.0.0.1:8000", "ws", "127.0.0.1:8000", True),
        ("http://sg.example", "wss", "sg.example", False),
        ("null", "https", "sg.example", False),
        ("https://sg.example/path", "https", "sg.example", False),
    ],
)
def test_an_origin_is_scheme_host_and_port(origin, scheme, host, allowed):
    assert origin_allowed(origin, {"scheme": scheme}, host, frozenset()) is allowed


def test_the_allow_list_is_matched_exactly():
    listed = frozenset({"https://app.example"})
    assert origin_allowed("https://app.example/", {"scheme": "https"}, "sg.example", listed)
    assert not origin_allowed("http://app.example", {"scheme": "https"}, "sg.example", listed)


@pytest.fixture
def https_client(store):
    runner = BlockingCallRunner(1)
    app = create_app(Settings(admin_token=ADMIN_TOKEN, cookie_mode=True), Services(store, runner))
    try:
        with TestClient(app, base_url="https://sg.example") as client:
            yield client
    finally:
        runner.close()


@moto_only
def test_a_plain_http_origin_is_refused_by_an_https_server(https_client, calls):
    calls.reset()
    refused = https_client.post("/graphql", json=TYPENAME, headers={"origin": "http://sg.example"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    same = https_client.post("/graphql", json=TYPENAME, headers={"origin": "https://sg.example"})
    assert same.status_code == 200, same.text
    assert calls.total == 0


def test_behind_a_tls_proxy_a_websocket_from_a_plain_http_page_is_refused():
    """A real server trusting its proxy's X-Forwarded-Proto: the upgrade came over https
    (scope scheme wss), so a page on http://<same host> is another origin."""
    with ServerProcess.start(
        admin_token=ADMIN_TOKEN, env={"SESSIONGRAPH_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    ) as server:
        url = f"ws://127.0.0.1:{server.port}/graphql"
        host = f"127.0.0.1:{server.port}"

        def upgrade(origin: str) -> ClientConnection:
            return connect(
                url,
                subprotocols=["graphql-transport-ws"],
                additional_headers={"Origin": origin, "X-Forwarded-Proto": "https"},
                open_timeout=10,
            )

        with pytest.raises(InvalidStatus) as refused:
            upgrade(f"http://{host}")
        assert refused.value.response.status_code == 403
        with upgrade(f"https://{host}") as socket:
            socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            with pytest.raises(ConnectionClosed) as closed:
                socket.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_wildcard_in_the_cors_allow_list_is_a_settings_error(monkeypatch):
    monkeypatch.setenv("SESSIONGRAPH_CORS_ORIGINS", "https://app.example, *")
    with pytest.raises(ValueError, match="list the frontends"):
        Settings()
