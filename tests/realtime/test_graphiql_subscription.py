"""GraphiQL runs subscriptions: subscribed to `sessionEnded` in headless Chromium, with no
internet, it shows the event when the session is logged out through plain HTTP."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.realtime.helpers import SESSION_ENDED, login, logout
from tests.support import browser
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess.start(admin_token=ADMIN_TOKEN) as started:  # the embedded store
        yield started


@pytest.mark.browser
def test_graphiql_shows_session_ended_when_logged_out_over_http(server: ServerProcess) -> None:
    browser.require_browser()
    from playwright.sync_api import WebSocket, sync_playwright

    session = login(server, f"gq-{uuid.uuid4().hex[:8]}")
    logouts: list[threading.Thread] = []
    frames: list[str] = []

    def log_out_once_subscribed(socket: WebSocket) -> None:
        def sent(payload: Any) -> None:
            frames.append(str(payload))
            if '"subscribe"' in str(payload) and not logouts:
                # Plain HTTP from another thread, as curl would, once GraphiQL subscribed.
                logouts.append(threading.Thread(target=logout, args=(server, session)))
                logouts[0].start()

        socket.on("framesent", sent)

    with sync_playwright() as playwright:
        chromium = browser.launch_browser(playwright)
        try:
            page = chromium.new_page()
            blocked = browser.block_other_hosts(page)
            page.on("websocket", log_out_once_subscribed)
            text = browser.run_query_in_graphiql(
                page,
                f"{server.base_url}/graphql",
                SESSION_ENDED,
                headers={"Authorization": f"Bearer {session.token}"},
            )
        finally:
            chromium.close()
            for thread in logouts:
                thread.join(timeout=30)

    assert json.loads(text) == {
        "data": {"sessionEnded": {"sessionId": session.session_id, "reason": "LOGOUT"}}
    }
    assert len(logouts) == 1
    init = json.loads(frames[0])
    assert init == {
        "type": "connection_init",
        "payload": {"Authorization": f"Bearer {session.token}"},
    }
    assert blocked == []
