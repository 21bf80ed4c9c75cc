"""Cookie mode over WebSocket, against a real `sessiongraph serve`: a same-origin upgrade
authenticates subscriptions by the session cookie when `connection_init` carries no
Authorization; a token in the payload wins; a cross-site upgrade with the cookie is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from server.cookies import COOKIE_NAME
from tests.support.servers import ServerProcess

ADMIN_TOKEN = "admin-token-for-the-cookie-websocket-tests-0123456789"
PASSWORD = "correct horse battery"
PROTOCOL = "graphql-transport-ws"
DELIVERY_SECONDS = 3.0
SESSION_ENDED = "subscription { sessionEnded { sessionId reason } }"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess.start(
        admin_token=ADMIN_TOKEN, env={"SESSIONGRAPH_COOKIE_MODE": "true"}
    ) as started:
        yield started


def _cookie_login(server: ServerProcess, customer_id: str) -> tuple[str, str]:
    """Register and log in with a cookie: (the cookie's token, the session id)."""
    origin = {"origin": server.base_url}
    server.graphql(
        "mutation($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) "
        "{ customerId } }",
        {"c": customer_id, "p": PASSWORD},
    ).ok()
    response = server.graphql(
        "mutation($c: String!, $p: String!) { loginWithCookie(customerId: $c, password: $p) "
        "{ session { sessionId } } }",
        {"c": customer_id, "p": PASSWORD},
        headers=origin,
    )
    session_id = response.ok()["loginWithCookie"]["session"]["sessionId"]
    cookie = response.headers["set-cookie"].split(";")[0]
    name, token = cookie.split("=", 1)
    assert name == COOKIE_NAME
    return token, session_id


def _open(server: ServerProcess, token: str, origin: str | None) -> ClientConnection:
    headers = {"Cookie": f"{COOKIE_NAME}={token}"}
    if origin is not None:
        headers["Origin"] = origin
    url = server.base_url.replace("http", "ws", 1) + "/graphql"
    return connect(url, subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=10)


def _send(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def _receive(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def test_a_same_origin_upgrade_subscribes_by_the_cookie(server: ServerProcess) -> None:
    token, session_id = _cookie_login(server, "wendy")
    other = server.graphql(
        'mutation { login(customerId: "wendy", password: "correct horse battery") { accessToken } }'
    ).ok()["login"]["accessToken"]
    with _open(server, token, server.base_url) as ws:
        _send(ws, {"type": "connection_init", "payload": {}})
        assert _receive(ws) == {"type": "connection_ack"}
        _send(ws, {"id": "1", "type": "subscribe", "payload": {"query": SESSION_ENDED}})
        server.graphql(
            "mutation($s: String) { logout(sessionId: $s) { endedSessionIds } }",
            {"s": session_id},
            token=other,
        ).ok()
        assert _receive(ws, DELIVERY_SECONDS) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"sessionEnded": {"sessionId": session_id, "reason": "LOGOUT"}}},
        }


def test_a_token_in_connection_init_wins_over_the_cookie(server: ServerProcess) -> None:
    token, _ = _cookie_login(server, "xavier")
    with _open(server, token, server.base_url) as ws:
        _send(ws, {"type": "connection_init", "payload": {"Authorization": "Bearer garbage"}})
        with pytest.raises(ConnectionClosed) as closed:
            _receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.parametrize("origin", ["http://elsewhere.example", None])
def test_an_upgrade_with_the_cookie_from_elsewhere_is_refused(
    server: ServerProcess, origin: str | None
) -> None:
    token, _ = _cookie_login(server, f"yves-{'none' if origin is None else 'elsewhere'}")
    with pytest.raises(InvalidStatus) as refused:
        _open(server, token, origin)
    assert refused.value.response.status_code == 403
