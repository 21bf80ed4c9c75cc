"""An engine without streams (dynalite, from npm): the server says so at start and polls the
keys its subscribers watch, in BatchGetItem calls; a logout still reaches the subscriber."""

from __future__ import annotations

import uuid
from typing import Any

from tests.realtime.conftest import table_name, ws_url
from tests.realtime.helpers import expect_session_ended, login, logout, subscribe_session_ended
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess


def test_dynalite_has_no_stream_so_subscribers_are_polled(dynalite_server: Any) -> None:
    server = ServerProcess.start(
        endpoint_url=dynalite_server.endpoint_url,
        table_name=table_name(),
        admin_token=ADMIN_TOKEN,
        args=["--create-table"],
    )
    try:
        assert any("polling the keys subscribers watch" in line for line in server.output)
        session = login(server, f"poll-{uuid.uuid4().hex[:8]}")
        with subscribe_session_ended(ws_url(server), session) as ws:
            assert logout(server, session) == [session.session_id]
            expect_session_ended(ws, session, "LOGOUT")
    finally:
        server.stop()
