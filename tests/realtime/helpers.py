"""Steps the subscription tests take: sessions made and ended over HTTP, events awaited."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess
from tests.support.ws import GraphQLWS

DELIVERY_SECONDS = 3.0
"""A logout through one server reaches a subscriber on another within this."""

SESSION_ENDED = "subscription { sessionEnded { sessionId reason } }"
CUSTOMER_EVENTS = """subscription($c: String) {
  customerSessionEvents(customerId: $c) { kind sessionId isChild reason }
}"""


@dataclass(frozen=True)
class Session:
    token: str
    session_id: str
    expires_at: str | None = None


def login(server: ServerProcess, customer_id: str, password: str | None = None) -> Session:
    """A parent session: a password login, or the admin's passwordless (SSO) one."""
    data = server.graphql(
        "mutation($c: String!, $p: String) { login(customerId: $c, password: $p) {"
        " accessToken session { sessionId expiresAt } } }",
        {"c": customer_id, "p": password},
        token=None if password else ADMIN_TOKEN,
    ).ok()["login"]
    return Session(data["accessToken"], data["session"]["sessionId"], data["session"]["expiresAt"])


def register(server: ServerProcess, customer_id: str, password: str) -> None:
    server.graphql(
        "mutation($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) {"
        " customerId } }",
        {"c": customer_id, "p": password},
    ).ok()


def child(server: ServerProcess, parent: Session, client: str = "shop") -> Session:
    data = server.graphql(
        "mutation($c: String!) { createChildSession(client: $c) { accessToken session {"
        " sessionId } } }",
        {"c": client},
        token=parent.token,
    ).ok()["createChildSession"]
    return Session(data["accessToken"], data["session"]["sessionId"])


def logout(server: ServerProcess, session: Session) -> list[str]:
    ended: list[str] = server.graphql(
        "mutation { logout { endedSessionIds } }", token=session.token
    ).ok()["logout"]["endedSessionIds"]
    return ended


def subscribe_session_ended(url: str, session: Session, op_id: str = "ended") -> GraphQLWS:
    ws = GraphQLWS.connect(url, token=session.token)
    ws.subscribe(op_id, SESSION_ENDED)
    return ws


def next_payload(ws: GraphQLWS, op_id: str, within: float = DELIVERY_SECONDS) -> Any:
    """The payload of the next `next` message of `op_id`, which must come within `within`
    seconds (pongs are skipped)."""
    deadline = time.monotonic() + within
    while True:
        message = ws.receive(timeout=max(0.0, deadline - time.monotonic()))
        if message.get("type") == "pong":
            continue
        assert message.get("id") == op_id and message.get("type") == "next", message
        return message["payload"]


def expect_complete(ws: GraphQLWS, op_id: str, within: float = DELIVERY_SECONDS) -> None:
    message = ws.receive(timeout=within)
    assert message == {"id": op_id, "type": "complete"}, message


def expect_session_ended(
    ws: GraphQLWS, session: Session, reason: str, op_id: str = "ended"
) -> float:
    """sessionEnded with `reason` within DELIVERY_SECONDS, then complete; the seconds taken."""
    started = time.monotonic()
    payload = next_payload(ws, op_id)
    took = time.monotonic() - started
    expected = {"data": {"sessionEnded": {"sessionId": session.session_id, "reason": reason}}}
    assert payload == expected, payload
    expect_complete(ws, op_id)
    return took
