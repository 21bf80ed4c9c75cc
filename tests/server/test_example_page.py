"""The sample frontend (examples/web at /example) in headless Chromium, against a real
`sessiongraph serve` in cookie mode: two devices, a logout from one seen live on the other;
and a page on another origin that tries to use the session cookie and fails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Request,
    expect,
    sync_playwright,
)
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from server import example
from server.app import create_app
from server.cookies import COOKIE_NAME
from server.services import Services
from server.settings import Settings
from tests.support import browser
from tests.support.servers import ServerProcess, free_port

ADMIN_TOKEN = "admin-token-for-the-example-page-tests-0123456789"
PASSWORD = "correct horse battery"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) SampleLaptop/1.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) SamplePhone/1.0"
BANNER_WITHIN_MS = 3_000
HOSTS = ("127.0.0.1", "localhost")


def test_the_example_folder_is_what_the_app_serves() -> None:
    for name in ("index.html", "app.js", "style.css"):
        assert (example.EXAMPLE_DIR / name).is_file(), name


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess.start(
        admin_token=ADMIN_TOKEN, env={"SESSIONGRAPH_COOKIE_MODE": "true"}
    ) as started:
        yield started


@pytest.fixture
def chromium() -> Iterator[Browser]:
    browser.require_browser()
    if not (browser.graphiql.VENDOR_DIR / example.GRAPHQL_WS_ASSET).is_file():
        browser.skip_or_fail("graphql-ws is not in the vendored assets (run `make assets`)")
    with sync_playwright() as playwright:
        launched = browser.launch_browser(playwright)
        try:
            yield launched
        finally:
            launched.close()


def _device(chromium: Browser, user_agent: str) -> tuple[BrowserContext, Page, list[str]]:
    context = chromium.new_context(user_agent=user_agent, viewport={"width": 1000, "height": 760})
    page = context.new_page()
    page.set_default_timeout(browser.TIMEOUT_MS)
    return context, page, browser.block_other_hosts(page, HOSTS)


def _sign_in(page: Page, url: str, customer_id: str, *, register: bool = False) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Customer id").fill(customer_id)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register" if register else "Sign in", exact=True).click()
    expect(page.get_by_role("heading", name=f"Signed in as {customer_id}")).to_be_visible()


def _session_row(page: Page, text: str) -> Locator:
    return page.locator("#sessions > li").filter(has_text=text)


@pytest.mark.browser
def test_two_devices_one_logs_the_other_out_and_it_sees_a_banner(
    server: ServerProcess, chromium: Browser, tmp_path: Path
) -> None:
    url = f"{server.base_url}/example/"
    laptop_context, laptop, laptop_blocked = _device(chromium, LAPTOP)
    _, phone, phone_blocked = _device(chromium, PHONE)

    # The laptop registers and is signed in, by a cookie its scripts cannot read.
    _sign_in(laptop, url, "alice", register=True)
    assert laptop.evaluate("document.cookie") == ""
    [cookie] = [c for c in laptop_context.cookies() if c["name"] == COOKIE_NAME]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    laptop_row = _session_row(laptop, "this device")
    expect(laptop_row).to_contain_text("SampleLaptop")
    expect(laptop_row).to_contain_text("IP 127.0.0.1")
    laptop_session = laptop_row.locator("code").first.inner_text()

    # A child session for an app shows nested under its parent.
    laptop.get_by_label("App name").fill("shop")
    laptop.get_by_role("button", name="Create child session").click()
    children = laptop_row.get_by_role("list", name="Child sessions")
    expect(children).to_contain_text("App shop")
    expect(laptop.get_by_role("status").filter(has_text="Live updates")).to_have_text(
        "Live updates: connected"
    )

    # The phone signs in as the same customer and sees both devices.
    _sign_in(phone, url, "alice")
    expect(phone.locator("#sessions > li")).to_have_count(2)
    expect(_session_row(phone, "this device")).to_contain_text("SamplePhone")
    expect(_session_row(phone, "SampleLaptop")).not_to_contain_text("this device")
    phone.screenshot(path=str(tmp_path / "phone-sees-two-devices.png"), full_page=True)

    # ... and logs the laptop out: the laptop shows its banner within 3 s of the click.
    _session_row(phone, "SampleLaptop").get_by_role(
        "button", name=f"Log out session {laptop_session}"
    ).click()
    clicked = time.monotonic()
    expect(laptop.get_by_role("alert")).to_have_text(
        "Your session has ended: it was logged out from another device. Sign in again to continue.",
        timeout=BANNER_WITHIN_MS,
    )
    assert time.monotonic() - clicked < BANNER_WITHIN_MS / 1000
    expect(phone.locator("#sessions > li")).to_have_count(1)
    expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(laptop.get_by_label("Customer id")).to_be_visible()
    laptop.screenshot(path=str(tmp_path / "laptop-after-logout.png"), full_page=True)

    # The ended cookie is refused at the next request, which clears it.
    laptop.reload()
    expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(laptop.get_by_role("alert")).to_be_hidden()
    assert [c for c in laptop_context.cookies() if c["name"] == COOKIE_NAME] == []
    expect(_session_row(phone, "this device")).to_be_visible()  # the phone is still signed in
    assert laptop_blocked == [] and phone_blocked == []


# --- a page elsewhere tries to use the cookie ----------------------------------------------

ATTACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>elsewhere</title></head>
<body><h1>Another site</h1><pre id="results"></pre>
<iframe name="sink" title="sink"></iframe>
<form id="form" method="post" enctype="text/plain" target="sink" action="{{api}}/graphql">
  <input type="hidden" name='{"query":"mutation { logoutAll { endedSessionIds } }", "x":"' value='"}'>
</form>
<script>
const API = "{{api}}";
const LOGOUT_ALL = JSON.stringify({ query: "mutation { logoutAll { endedSessionIds } }" });
const VIEWER = "{ viewer { sessionId customer { customerId } } }";
const results = {};
async function attempt(name, run) {
  try { results[name] = await run(); } catch (error) { results[name] = "blocked: " + error.name; }
  document.getElementById("results").textContent = JSON.stringify(results);
}
function socket() {
  return new Promise((resolve) => {
    const ws = new WebSocket(API.replace("http", "ws") + "/graphql", "graphql-transport-ws");
    ws.onopen = () => { ws.send(JSON.stringify({ type: "connection_init", payload: {} })); };
    ws.onmessage = (event) => resolve("message: " + event.data);
    ws.onclose = (event) => resolve("closed: " + event.code);
  });
}
(async () => {
  await attempt("json", () => fetch(API + "/graphql", { method: "POST", credentials: "include",
    headers: { "content-type": "application/json" }, body: LOGOUT_ALL }).then((r) => "read: " + r.status));
  await attempt("textPlain", () => fetch(API + "/graphql", { method: "POST", credentials: "include",
    mode: "no-cors", headers: { "content-type": "text/plain" }, body: LOGOUT_ALL }).then((r) => "sent: " + r.type));
  await attempt("get", () => fetch(API + "/graphql?query=" + encodeURIComponent(VIEWER),
    { credentials: "include" }).then((r) => r.text()));
  await attempt("websocket", socket);
  document.getElementById("form").submit();
  await new Promise((resolve) => { document.querySelector("iframe").onload = resolve; });
  await attempt("form", async () => "submitted");
})();
</script></body></html>"""


@pytest.fixture
def elsewhere(server: ServerProcess) -> Iterator[int]:
    """A second origin on this machine (another port) serving the attack page."""
    port = free_port()

    async def page(request: HttpRequest) -> HTMLResponse:
        api = request.query_params["api"]
        return HTMLResponse(ATTACK_PAGE.replace("{{api}}", api))

    config = uvicorn.Config(
        Starlette(routes=[Route("/", page)]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    stub = uvicorn.Server(config)
    thread = threading.Thread(target=stub.run, name="elsewhere", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not stub.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the other origin did not start"
        time.sleep(0.02)  # waiting for a server to start, not for a race
    yield port
    stub.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("page_host", "cookie_sent"),
    [
        pytest.param("127.0.0.1", True, id="same-site-other-port"),
        pytest.param("localhost", False, id="other-site"),
    ],
)
def test_a_page_on_another_origin_cannot_use_the_cookie(
    server: ServerProcess, chromium: Browser, elsewhere: int, page_host: str, cookie_sent: bool
) -> None:
    """127.0.0.1 on another port is another origin but the same site: SameSite lets the cookie
    go, and the Origin rules must stop it. localhost is another site: SameSite drops it."""
    customer = f"victim-{page_host.replace('.', '-')}"
    context, victim, _ = _device(chromium, LAPTOP)
    _sign_in(victim, f"{server.base_url}/example/", customer, register=True)
    victim_session = _session_row(victim, "this device").locator("code").first.inner_text()

    attack = context.new_page()  # same browser, same cookie jar, another tab
    browser.block_other_hosts(attack, HOSTS)
    to_api: list[Request] = []
    attack.on("request", lambda r: to_api.append(r) if r.url.startswith(server.base_url) else None)
    attack.goto(f"http://{page_host}:{elsewhere}/?api={server.base_url}")
    results_text = attack.locator("#results")
    expect(results_text).to_contain_text('"form":', timeout=browser.TIMEOUT_MS)
    results = json.loads(results_text.inner_text())

    assert results["json"] == "blocked: TypeError"  # CORS preflight refused: never sent
    assert results["textPlain"] == "sent: opaque"  # sent, answered 403, unreadable
    assert results["get"] == "blocked: TypeError"  # no CORS answer: unreadable
    assert results["websocket"].startswith("closed: ")  # no connection_ack, no message
    assert results["form"] == "submitted"
    sent_cookies = [request.all_headers().get("cookie", "") for request in to_api]
    assert len(sent_cookies) >= 3
    assert any(COOKIE_NAME in cookie for cookie in sent_cookies) == cookie_sent

    # Nothing happened to the session: the victim's page still reads it.
    victim.get_by_role("button", name="Refresh").click()
    expect(victim.get_by_role("heading", name=f"Signed in as {customer}")).to_be_visible()
    expect(_session_row(victim, "this device")).to_contain_text(victim_session)
    alive = server.graphql(
        "query($c: String!) { customer(customerId: $c) { sessions { edges { node { sessionId } } } } }",
        {"c": customer},
        token=ADMIN_TOKEN,
    ).ok()
    assert [e["node"]["sessionId"] for e in alive["customer"]["sessions"]["edges"]] == [
        victim_session
    ]
    context.close()


@pytest.mark.parametrize("backend", ["moto"], indirect=True)
@pytest.mark.parametrize(
    ("settings", "served"),
    [
        pytest.param({}, True, id="development"),
        pytest.param({"example": False}, False, id="turned-off"),
        pytest.param({"env": "production", "admin_token": "x" * 40}, False, id="production"),
    ],
)
def test_the_example_is_served_outside_production_only(
    settings: dict[str, Any], served: bool, services: Services
) -> None:
    with TestClient(create_app(Settings(**settings), services)) as client:
        for path in ("/example/", "/example", "/example/app.js", "/example/style.css"):
            assert (client.get(path).status_code == 200) == served, path
        if served:
            page = client.get("/example/").text
            for needle in ('<label for="customer-id">', '<label for="password">', 'role="alert"'):
                assert needle in page
            script = client.get("/example/app.js")
            assert script.headers["content-type"].startswith("text/javascript")
