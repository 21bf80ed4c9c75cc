"""Drives the real ASGI app in process through HTTP (Starlette's TestClient)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"
CLIENT_ADDRESS = ("203.0.113.7", 5000)
"""The address the test client calls from (a documentation range)."""

NESTED_QUERY = """
query($c: String!) {
  customer(customerId: $c) {
    sessions(first: 30) {
      edges { node {
        sessionId
        childSessions { edges { node {
          sessionId
          parent { sessionId }
          customer { customerId }
        } } }
      } }
    }
  }
}
"""
"""A customer's sessions, their children, and back up: the round-trip benchmark query."""


@dataclass
class GraphQLResult:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    """The response's headers, names in lower case."""

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphQLResult:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
        return GraphQLResult(
            response.status_code,
            response.json(),
            {k.lower(): v for k, v in response.headers.items()},
        )

    def admin(self, query: str, variables: dict[str, Any] | None = None) -> GraphQLResult:
        return self(query, variables, token=ADMIN_TOKEN)

    # The calls a frontend makes, for tests that need them as steps.
    def register(self, customer_id: str, password: str = "correct horse battery") -> None:
        self(
            "mutation($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) { customerId } }",
            {"c": customer_id, "p": password},
        ).ok()

    def login(self, customer_id: str, password: str = "correct horse battery") -> tuple[str, str]:
        data = self(
            "mutation($c: String!, $p: String) { login(customerId: $c, password: $p) { accessToken session { sessionId } } }",
            {"c": customer_id, "p": password},
        ).ok()
        return data["login"]["accessToken"], data["login"]["session"]["sessionId"]

    def child(self, token: str, client: str = "shop") -> tuple[str, str]:
        data = self(
            "mutation($c: String!) { createChildSession(client: $c) { accessToken session { sessionId } } }",
            {"c": client},
            token=token,
        ).ok()
        return data["createChildSession"]["accessToken"], data["createChildSession"]["session"][
            "sessionId"
        ]
