"""Trusted documents over WebSocket: a `subscribe` runs under the same persisted-query rules
as an HTTP request (server.persisted), on an app served in this process."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynamo.connect import connect_embedded
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from server.services import Services
from server.settings import Settings
from tests.realtime.conftest import table_name
from tests.realtime.helpers import SESSION_ENDED, expect_session_ended, login, logout
from tests.realtime.test_in_process import InProcess, served
from tests.support.api import ADMIN_TOKEN
from tests.support.ws import GraphQLWS

OTHER = "subscription { sessionEnded { reason } }"
HTTP_STEPS = (  # what tests.realtime.helpers' login and logout send, listed too
    "mutation($c: String!, $p: String) { login(customerId: $c, password: $p) {"
    " accessToken session { sessionId expiresAt } } }",
    "mutation { logout { endedSessionIds } }",
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def trusted_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    path: Path = tmp_path_factory.mktemp("trusted") / "persisted-documents.json"
    path.write_text(json.dumps({sha(d): d for d in (SESSION_ENDED, *HTTP_STEPS)}))
    name = table_name()
    connection = connect_embedded(name)
    services = Services(
        Store(client=connection.client, table_name=name),
        BlockingCallRunner(connection.max_concurrency),
        connection,
    )
    settings = Settings(
        admin_token=ADMIN_TOKEN, trusted_documents=path, trusted_documents_only=True
    )
    try:
        with served(settings, services) as app:
            yield app
    finally:
        services.close()


def test_a_document_not_in_the_list_is_refused_for_its_operation_only(
    trusted_only: InProcess,
) -> None:
    session = login(trusted_only, f"td-{uuid.uuid4().hex[:12]}")
    with GraphQLWS.connect(trusted_only.ws_url, token=session.token) as ws:
        ws.subscribe("free", OTHER)
        refused = ws.receive()
        assert refused["id"] == "free" and refused["type"] == "error", refused
        [error] = refused["payload"]
        assert error["extensions"] == {"code": "PERSISTED_QUERY_NOT_ALLOWED"}
        assert "trusted documents" in error["message"]
        # The connection stays open: a listed document, named by its id, runs on it.
        ws.send(
            {
                "id": "ended",
                "type": "subscribe",
                "payload": {"documentId": f"sha256:{sha(SESSION_ENDED)}"},
            }
        )
        logout(trusted_only, session)
        expect_session_ended(ws, session, "LOGOUT")


def test_a_listed_document_sent_as_text_or_by_apq_hash_runs(trusted_only: InProcess) -> None:
    for payload in (
        {"query": SESSION_ENDED},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(SESSION_ENDED)}}},
    ):
        session = login(trusted_only, f"td-{uuid.uuid4().hex[:12]}")
        with GraphQLWS.connect(trusted_only.ws_url, token=session.token) as ws:
            ws.send({"id": "ended", "type": "subscribe", "payload": payload})
            logout(trusted_only, session)
            expect_session_ended(ws, session, "LOGOUT")


def test_apq_cannot_register_a_new_document_over_websocket(trusted_only: InProcess) -> None:
    session = login(trusted_only, f"td-{uuid.uuid4().hex[:12]}")
    with GraphQLWS.connect(trusted_only.ws_url, token=session.token) as ws:
        ws.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": OTHER,
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(OTHER)}},
                },
            }
        )
        refused = ws.receive()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
