"""Behind a load balancer: `SESSIONGRAPH_FORWARDED_ALLOW_IPS` names the proxies whose
X-Forwarded-For `sessiongraph serve` trusts (uvicorn's proxy headers), and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from server import cli
from tests.support.servers import free_port

ADMIN = "a" * 32
BALANCER = "10.0.0.5"
CUSTOMER_IP = "198.51.100.9"
# The admin logs a customer in without a password.
LOGIN_IP = 'mutation { login(customerId: "alice") { session { ipAddress } } }'


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The options of each uvicorn.run, which is replaced: no server starts (`serve` still
    checks that its port is free, so it gets one that is, not the default 8000)."""
    found: list[dict[str, Any]] = []
    monkeypatch.setenv("SESSIONGRAPH_PORT", str(free_port()))
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: found.append(options))
    for name in ("SESSIONGRAPH_FORWARDED_ALLOW_IPS", "SESSIONGRAPH_ENV", "SESSIONGRAPH_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.setenv("SESSIONGRAPH_ADMIN_TOKEN", ADMIN)
    return found


def _serve() -> int:
    return cli.main(["serve", "--endpoint-url", "http://127.0.0.1:9"])


def test_forwarded_headers_are_ignored_by_default(runs: list[dict[str, Any]]) -> None:
    assert _serve() == 0
    [options] = runs
    assert options["proxy_headers"] is False
    assert options["forwarded_allow_ips"] is None


@pytest.mark.parametrize("value", ["10.0.0.5", "10.0.0.5,10.0.0.6", "10.0.0.0/8", "*"])
def test_forwarded_allow_ips_turns_proxy_headers_on(
    runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SESSIONGRAPH_FORWARDED_ALLOW_IPS", value)
    assert _serve() == 0
    [options] = runs
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == value


def test_a_blank_forwarded_allow_ips_is_unset(
    runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONGRAPH_FORWARDED_ALLOW_IPS", " ")
    assert _serve() == 0
    [options] = runs
    assert (options["proxy_headers"], options["forwarded_allow_ips"]) == (False, None)


def _login_ips(monkeypatch: pytest.MonkeyPatch, allow: str | None) -> list[str | None]:
    """Serve the embedded store as uvicorn would (its middleware, from the options `serve`
    passes), and log in through the balancer, then directly from the customer's address."""
    if allow is not None:
        monkeypatch.setenv("SESSIONGRAPH_FORWARDED_ALLOW_IPS", allow)
    seen: list[str | None] = []

    def run(app: Any, **options: Any) -> None:
        config = uvicorn.Config(app, **options)
        config.load()
        for peer in (BALANCER, CUSTOMER_IP):
            with TestClient(config.loaded_app, client=(peer, 4000)) as client:
                response = client.post(
                    "/graphql",
                    json={"query": LOGIN_IP},
                    headers={
                        "Authorization": f"Bearer {ADMIN}",
                        "X-Forwarded-For": "192.0.2.1" if peer == CUSTOMER_IP else CUSTOMER_IP,
                    },
                )
                body = response.json()
                assert "errors" not in body, body
                seen.append(body["data"]["login"]["session"]["ipAddress"])

    monkeypatch.setattr(uvicorn, "run", run)
    assert cli.main(["serve", "--store", "embedded"]) == 0
    return seen


def test_a_session_behind_a_trusted_balancer_records_the_customer_address(
    runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through the balancer: the forwarded address. Directly: a forged header is ignored.
    assert _login_ips(monkeypatch, BALANCER) == [CUSTOMER_IP, CUSTOMER_IP]


def test_without_trusted_proxies_a_session_records_the_peer_address(
    runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _login_ips(monkeypatch, None) == [BALANCER, CUSTOMER_IP]
