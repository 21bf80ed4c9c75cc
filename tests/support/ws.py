"""A graphql-transport-ws client for tests, on the `websockets` package (its sync client).

    with GraphQLWS.connect("ws://127.0.0.1:8000/graphql", token=token) as ws:
        ws.subscribe("1", "subscription { sessionEnded { sessionId reason } }")
        message = ws.receive(timeout=3)   # {"id": "1", "type": "next", "payload": {...}}

Every wait is bounded: `receive` raises `TimeoutError` when nothing comes within `timeout`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"
TIMEOUT = 10.0


@dataclass
class Closed:
    """The server closed the socket: its close code and reason."""

    code: int | None
    reason: str


@dataclass
class GraphQLWS:
    socket: ClientConnection

    @classmethod
    def open(cls, url: str, *, origin: str | None = None, timeout: float = TIMEOUT) -> GraphQLWS:
        """The WebSocket alone, before connection_init."""
        headers = {"Origin": origin} if origin else None
        socket = connect(
            url, subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=timeout
        ).__enter__()  # the connection is ours to close (`close`, or this object's `with`)
        assert socket.subprotocol == PROTOCOL
        return cls(socket)

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        token: str | None = None,
        payload: Mapping[str, Any] | None = None,
        origin: str | None = None,
        timeout: float = TIMEOUT,
    ) -> GraphQLWS:
        """Open, send connection_init with the token, and wait for connection_ack."""
        ws = cls.open(url, origin=origin, timeout=timeout)
        ws.init(token=token, payload=payload)
        ack = ws.receive(timeout)
        if ack.get("type") != "connection_ack":
            ws.close()
            raise AssertionError(f"expected connection_ack, got {ack}")
        return ws

    def init(self, *, token: str | None = None, payload: Mapping[str, Any] | None = None) -> None:
        body = dict(payload or {})
        if token is not None:
            body["Authorization"] = f"Bearer {token}"
        self.send({"type": "connection_init", "payload": body})

    def send(self, message: Mapping[str, Any]) -> None:
        self.socket.send(json.dumps(message))

    def subscribe(self, op_id: str, query: str, variables: Mapping[str, Any] | None = None) -> None:
        self.send(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": dict(variables or {})},
            }
        )

    def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message; raises TimeoutError when none comes within `timeout`."""
        frame = self.socket.recv(timeout=timeout)
        # graphql-ws in a browser parses text frames only: a binary frame is a protocol error.
        assert isinstance(frame, str), f"expected a text frame, got binary {frame[:80]!r}"
        message: dict[str, Any] = json.loads(frame)
        return message

    def closed(self, timeout: float = TIMEOUT) -> Closed:
        """Wait for the server to close the socket (failing if a message comes instead)."""
        try:
            message = self.socket.recv(timeout=timeout)
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return Closed(frame.code if frame else None, frame.reason if frame else "")
        raise AssertionError(f"expected the socket to close, got {message!r}")

    def ping(self, timeout: float = TIMEOUT) -> None:
        """A protocol ping; fails unless the next message is its pong."""
        self.send({"type": "ping"})
        answer = self.receive(timeout)
        assert answer == {"type": "pong"}, answer

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> GraphQLWS:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
