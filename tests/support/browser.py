"""Drives GraphiQL in headless Chromium: Debian's /usr/bin/chromium, never a downloaded browser.

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page()
        blocked = block_other_hosts(page)
        text = run_query_in_graphiql(page, "http://127.0.0.1:8000/graphql", "{ __typename }")

Call `require_browser()` first: it skips the test when Chromium or GraphiQL's assets are missing,
or fails it under CI. Every wait is bounded by `timeout_ms` (default TIMEOUT_MS).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, Route

from server import graphiql

CHROMIUM = Path(os.environ.get("SESSIONGRAPH_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

_QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
_HEADERS_TAB = ".graphiql-editor-tools button[data-name='headers']"
_HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
_RESPONSE_EDITOR = ".graphiql-response .CodeMirror"
_EXECUTE_BUTTON = ".graphiql-execute-button"

# GraphiQL's editors are CodeMirror 5 instances; their DOM node carries the editor object.
_SET_EDITOR_VALUE = (
    "([selector, value]) => document.querySelector(selector).CodeMirror.setValue(value)"
)
_SINGLE_RUN_BUTTON = "(selector) => !document.querySelector(selector).hasAttribute('aria-haspopup')"
_RESPONSE_SETTLED = """([responseSelector, buttonSelector]) => {
  const response = document.querySelector(responseSelector);
  const button = document.querySelector(buttonSelector);
  if (!response || !button) return false;
  const label = button.getAttribute("aria-label") || "";
  return label.startsWith("Execute") && response.CodeMirror.getValue().trim() !== "";
}"""


def unavailable_reason() -> str | None:
    """Why GraphiQL cannot be driven in a browser here, or None when it can."""
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if not graphiql.assets_installed():
        return f"GraphiQL assets not installed in {graphiql.VENDOR_DIR} (run `make assets`)"
    return None


def skip_or_fail(reason: str) -> NoReturn:
    """Skips the calling test with `reason`; under CI (CI=true) fails it, since CI must run it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def require_browser() -> None:
    """Skips (or under CI fails) the calling test when unavailable_reason() says why."""
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)


def launch_browser(playwright: Playwright, *, timeout_ms: float = TIMEOUT_MS) -> Browser:
    """Headless Chromium from CHROMIUM, with its own background traffic turned off."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=LAUNCH_ARGS,
        timeout=timeout_ms,
    )


def block_other_hosts(page: Page, allowed_hosts: tuple[str, ...] = ("127.0.0.1",)) -> list[str]:
    """Aborts each request of `page` to a host not in `allowed_hosts`, as on a closed network.

    Returns the list of the URLs aborted, filled in as they happen.
    """
    blocked: list[str] = []

    def handle(route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in allowed_hosts:
            blocked.append(request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/*", handle)
    return blocked


def run_query_in_graphiql(
    page: Page,
    url: str,
    query: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_ms: float = TIMEOUT_MS,
) -> str:
    """Opens GraphiQL at `url`, runs `query` with its run button, and returns the result pane's text.

    With `query` None, runs whatever the query editor opens with (the page's default query).
    `headers` go into GraphiQL's Headers editor, as a person would type them.
    """
    page.set_default_timeout(timeout_ms)
    page.goto(url, wait_until="load", timeout=timeout_ms)
    for selector in (_QUERY_EDITOR, _RESPONSE_EDITOR, _EXECUTE_BUTTON):
        page.wait_for_selector(selector, state="visible", timeout=timeout_ms)
    # GraphiQL introspects the schema on load; let that settle so nothing it reports afterwards
    # (such as a schema error) lands in the result pane after the query's own result.
    page.wait_for_load_state("networkidle", timeout=timeout_ms)
    if headers is not None:
        page.click(_HEADERS_TAB, timeout=timeout_ms)
        page.wait_for_selector(_HEADERS_EDITOR, state="visible", timeout=timeout_ms)
        page.evaluate(_SET_EDITOR_VALUE, [_HEADERS_EDITOR, json.dumps(dict(headers), indent=2)])
    if query is not None:
        page.evaluate(_SET_EDITOR_VALUE, [_QUERY_EDITOR, query])
        if _operation_count(query) == 1:
            # GraphiQL re-reads the operations after a short debounce; until then a document
            # that had several (the default one) keeps the run button a menu of operations.
            page.wait_for_function(_SINGLE_RUN_BUTTON, arg=_EXECUTE_BUTTON, timeout=timeout_ms)
    # A run clears the result pane at once, so whatever text shows next is this run's result.
    page.click(_EXECUTE_BUTTON, timeout=timeout_ms)
    page.wait_for_function(
        _RESPONSE_SETTLED, arg=[_RESPONSE_EDITOR, _EXECUTE_BUTTON], timeout=timeout_ms
    )
    text: str = page.evaluate(
        "(selector) => document.querySelector(selector).CodeMirror.getValue()", _RESPONSE_EDITOR
    )
    return text


def _operation_count(query: str) -> int:
    from graphql import GraphQLError, OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLError:
        return 0
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
