"""`sessiongraph serve` as a person starts it (embedded store), driven over real HTTP:
GraphiQL loads with no internet and runs a login in headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import SAMPLE_MODEL
from tests.support import browser

STARTUP_TIMEOUT = 60.0


@dataclass
class Served:
    url: str
    admin_token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    yield from _serve()


@pytest.fixture(scope="module")
def served_with_sample() -> Iterator[Served]:
    yield from _serve("--load", str(SAMPLE_MODEL))


def _serve(*extra: str) -> Iterator[Served]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONGRAPH_", "AWS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    admin_token = ""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the banner comes before uvicorn starts
            if line.startswith("admin token"):
                admin_token = line.rsplit(" ", 1)[1].strip()
            if "GraphiQL and the API:" in line:
                assert line.strip().endswith(f"{base}/graphql")
                break
            assert time.monotonic() < deadline, "no banner from sessiongraph serve"
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert json.load(response) == {"status": "ok", "store": "embedded"}
                break
            except OSError:
                assert process.poll() is None, "sessiongraph serve exited"
                assert time.monotonic() < deadline, "sessiongraph serve did not answer"
                time.sleep(0.2)
        # Keep reading the server's output so that a full pipe never blocks it.
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        yield Served(f"{base}/graphql", admin_token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _post(url: str, query: str, token: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps({"query": query}).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_serve_prints_a_working_admin_token(served):
    assert len(served.admin_token) >= 32
    result = _post(
        served.url,
        'mutation { login(customerId: "sso-user") { session { customer { customerId } } } }',
        served.admin_token,
    )
    assert result == {"data": {"login": {"session": {"customer": {"customerId": "sso-user"}}}}}


@pytest.mark.browser
def test_graphiql_runs_a_login_with_no_internet(served):
    browser.require_browser()
    from playwright.sync_api import sync_playwright

    _post(
        served.url,
        'mutation { registerCustomer(customerId: "gina", password: "correct horse battery") { customerId } }',
    )
    with sync_playwright() as playwright:
        chromium = browser.launch_browser(playwright)
        try:
            page = chromium.new_page()
            blocked = browser.block_other_hosts(page)
            text = browser.run_query_in_graphiql(
                page,
                served.url,
                'mutation { login(customerId: "gina", password: "correct horse battery") { session { customer { customerId } state } } }',
            )
        finally:
            chromium.close()
    result = json.loads(text)
    assert result == {
        "data": {"login": {"session": {"customer": {"customerId": "gina"}, "state": "ACTIVE"}}}
    }
    assert blocked == []  # nothing was fetched from anywhere but the app itself


def test_serve_load_seeds_the_embedded_store(served_with_sample):
    result = _post(
        served_with_sample.url,
        '{ customer(customerId: "MNO") { lastLoginTime sessions { edges { node { sessionId } } } } }',
        served_with_sample.admin_token,
    )
    customer = result["data"]["customer"]
    assert customer["lastLoginTime"] == "2024-02-03T08:15:00.000Z"
    assert {e["node"]["sessionId"] for e in customer["sessions"]["edges"]} == {
        "a81kq2zz",
        "b77tr5ee",
    }
