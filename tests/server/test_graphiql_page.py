"""GraphiQL's page: local assets when installed, the CDN otherwise, and a real run in Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from graphql import build_schema, graphql_sync
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from server import graphiql
from tests.support import browser

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token"
VIEWER = "{ viewer { sessionId state } }"

# A stand-in for the real API, just enough for GraphiQL: its introspection and `viewer`.
SCHEMA = build_schema("""
    type Query { viewer: Session }
    type Session { sessionId: String!  state: String! }
""")


def test_page_uses_local_assets_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for asset in graphiql.ASSETS:
        (tmp_path / asset.vendor_path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / asset.vendor_path).write_text("/* stand-in */")
    monkeypatch.setattr(graphiql, "VENDOR_DIR", tmp_path)

    with caplog.at_level(logging.WARNING, logger=graphiql.__name__):
        page = graphiql.graphiql_page("/api/graphql")

    assert graphiql.assets_installed()
    assert caplog.records == []
    for asset in graphiql.ASSETS:
        assert f'"{graphiql.ASSET_ROUTE_PREFIX}/{asset.vendor_path}"' in page
    assert "unpkg.com" not in page
    assert "integrity=" not in page
    config = _config(page)
    assert config["url"] == "/api/graphql"
    assert "viewer" in config["defaultQuery"]
    _assert_page_basics(page)


def test_page_falls_back_to_the_cdn_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(graphiql, "VENDOR_DIR", tmp_path / "nothing-here")

    with caplog.at_level(logging.WARNING, logger=graphiql.__name__):
        page = graphiql.graphiql_page()

    assert not graphiql.assets_installed()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "make assets" in warnings[0].getMessage()
    assert graphiql.ASSET_ROUTE_PREFIX not in page
    for asset in graphiql.ASSETS:
        assert f'"{asset.cdn_url}" integrity="{asset.integrity}" crossorigin="anonymous"' in page
        assert any(
            f"@{version}/" in asset.cdn_url
            for version in (
                graphiql.GRAPHIQL_VERSION,
                graphiql.REACT_VERSION,
                graphiql.GRAPHQL_WS_VERSION,
            )
        )
    assert _config(page)["url"] == "/graphql"
    _assert_page_basics(page)

    # Pages are cached: a call per request does not log a warning per request.
    with caplog.at_level(logging.WARNING, logger=graphiql.__name__):
        assert graphiql.graphiql_page() == page
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_graphql_path_cannot_break_out_of_the_page() -> None:
    page = graphiql.graphiql_page("/x</script><script>alert(1)</script>")
    assert "</script><script>alert(1)" not in page
    assert _config(page)["url"] == "/x</script><script>alert(1)</script>"


def test_pinned_versions_match_package_json_and_lock() -> None:
    manifest = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    expected = {
        "graphiql": graphiql.GRAPHIQL_VERSION,
        "react": graphiql.REACT_VERSION,
        "react-dom": graphiql.REACT_VERSION,
        "graphql-ws": graphiql.GRAPHQL_WS_VERSION,
    }
    assert {name: manifest["dependencies"][name] for name in expected} == expected
    for name, version in expected.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    for entry in lock["packages"].values():
        resolved = entry.get("resolved")
        assert resolved is None or resolved.startswith("https://registry.npmjs.org/"), resolved


def test_cdn_integrity_hashes_match_the_vendored_files() -> None:
    if not graphiql.assets_installed():
        browser.skip_or_fail(
            f"GraphiQL assets not installed in {graphiql.VENDOR_DIR} (run `make assets`)"
        )
    for asset in graphiql.ASSETS:
        digest = hashlib.sha384((graphiql.VENDOR_DIR / asset.vendor_path).read_bytes()).digest()
        assert asset.integrity == "sha384-" + base64.b64encode(digest).decode(), asset.vendor_path


@pytest.mark.browser
@pytest.mark.usefixtures("browser_required")
def test_graphiql_runs_a_query_with_no_internet(stub_api: StubApi) -> None:
    """Every request to another host than 127.0.0.1 is aborted, as on a closed network."""
    with sync_playwright() as playwright:
        chromium = browser.launch_browser(playwright)
        try:
            context = chromium.new_context()
            context.add_cookies([{"name": "probe", "value": "same-origin", "url": stub_api.url}])
            page = context.new_page()
            blocked = browser.block_other_hosts(page)

            graphql_url = f"{stub_api.url}/graphql"
            # A fresh browser, no token: `viewer` is null (the default document's comment
            # says so; tests/api/test_graphiql_default_query.py runs its steps).
            anonymous_viewer = browser.run_query_in_graphiql(page, graphql_url, VIEWER)
            viewer = browser.run_query_in_graphiql(
                page, graphql_url, VIEWER, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            # GraphiQL keeps the query and the headers in local storage (after a debounce of
            # half a second), so a reload still sends the token.
            page.wait_for_function(
                """(token) => ["graphiql:headers", "graphiql:tabState"].every(
                    (key) => (localStorage.getItem(key) || "").includes(token))""",
                arg=TOKEN,
                timeout=browser.TIMEOUT_MS,
            )
            viewer_after_reload = browser.run_query_in_graphiql(page, graphql_url, None)
            # A second reload too (GraphiQL 3 alone loses stored headers there: see the page).
            typename = browser.run_query_in_graphiql(page, graphql_url, "{ __typename }")
        finally:
            chromium.close()

    assert json.loads(typename) == {"data": {"__typename": "Query"}}
    assert json.loads(anonymous_viewer) == {"data": {"viewer": None}}
    signed_in = {"data": {"viewer": {"sessionId": "s-1", "state": "ACTIVE"}}}
    assert json.loads(viewer) == signed_in
    assert json.loads(viewer_after_reload) == signed_in
    assert blocked == []
    for asset in graphiql.ASSETS:
        assert f"{graphiql.ASSET_ROUTE_PREFIX}/{asset.vendor_path}" in stub_api.asset_requests
    queries = [r for r in stub_api.graphql_requests if "IntrospectionQuery" not in r.query]
    assert [r.authorization for r in queries] == [None] + [f"Bearer {TOKEN}"] * 3
    assert all(r.cookie == "probe=same-origin" for r in stub_api.graphql_requests)


# --- the stand-in app ------------------------------------------------------------------------


@dataclass
class GraphQLRequest:
    query: str
    authorization: str | None
    cookie: str | None


@dataclass
class StubApi:
    url: str
    graphql_requests: list[GraphQLRequest] = field(default_factory=list)
    asset_requests: list[str] = field(default_factory=list)


def _stub_app(api: StubApi) -> Starlette:
    page = graphiql.graphiql_page("/graphql")

    async def graphiql_route(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def graphql_route(request: Request) -> JSONResponse:
        body = await request.json()
        authorization = request.headers.get("authorization")
        api.graphql_requests.append(
            GraphQLRequest(body["query"], authorization, request.headers.get("cookie"))
        )
        signed_in = authorization == f"Bearer {TOKEN}"
        result = graphql_sync(
            SCHEMA,
            body["query"],
            root_value={"viewer": {"sessionId": "s-1", "state": "ACTIVE"} if signed_in else None},
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        return JSONResponse(result.formatted)

    assets = graphiql.graphiql_assets_app()

    async def assets_route(scope: Any, receive: Any, send: Any) -> None:
        api.asset_requests.append(scope["path"])
        await assets(scope, receive, send)

    return Starlette(
        routes=[
            Route("/graphql", graphiql_route, methods=["GET"]),
            Route("/graphql", graphql_route, methods=["POST"]),
            Mount(graphiql.ASSET_ROUTE_PREFIX, app=assets_route),
        ]
    )


@pytest.fixture
def browser_required() -> None:
    browser.require_browser()


@pytest.fixture
def stub_api() -> Iterator[StubApi]:
    port = _free_port()
    api = StubApi(url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(
        _stub_app(api), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="graphiql-stub-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the stand-in API did not start within 10 s")
        time.sleep(0.02)
    yield api
    server.should_exit = True
    thread.join(timeout=10)


# --- helpers ---------------------------------------------------------------------------------


def _config(page: str) -> dict[str, Any]:
    start = page.index('<script type="application/json" id="graphiql-config">')
    start = page.index(">", start) + 1
    config: dict[str, Any] = json.loads(page[start : page.index("</script>", start)])
    return config


def _assert_page_basics(page: str) -> None:
    assert 'credentials: "same-origin"' in page
    assert "isHeadersEditorEnabled: true" in page
    assert "shouldPersistHeaders: true" in page
    lowered = page.lower()
    for handler in (" onload=", " onerror=", " onclick="):
        assert handler not in lowered


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
