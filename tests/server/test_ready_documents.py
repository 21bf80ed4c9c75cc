"""A document seen before skips Strawberry's extension pipeline (`schema.ready_documents`) and
a JSON POST skips its generic HTTP handling (`server.json_post`): every answer must be the one
the first copy of the same request got through Strawberry's own path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

import schema.build
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS

READ_SESSION = "query ReadSession($s: String!) { session(sessionId: $s) { sessionId state } }"
TWO_OPERATIONS = "query A { viewer { sessionId } } query B { viewer { isChild } }"


@pytest.fixture
def lean_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests that took the plain path (by operation name given)."""
    taken: list[str] = []
    real = schema.build.execute_ready

    async def counted(*args: Any, **kwargs: Any) -> Any:
        taken.append(kwargs.get("operation_name") or "-")
        return await real(*args, **kwargs)

    monkeypatch.setattr(schema.build, "execute_ready", counted)
    return taken


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(admin_token=ADMIN_TOKEN), services), client=CLIENT_ADDRESS
    ) as test_client:
        yield test_client


def twice(client: TestClient, **request: Any) -> tuple[tuple[int, Any], tuple[int, Any]]:
    answers = []
    for _ in range(2):
        response = client.request(**request)
        answers.append((response.status_code, response.json()))
    return answers[0], answers[1]


def post(body: dict[str, Any], token: str | None = ADMIN_TOKEN) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return {"method": "POST", "url": "/graphql", "json": body, "headers": headers}


def test_a_read_answers_the_same_the_second_time_and_takes_the_plain_path(
    client, api, lean_runs, calls
):
    api.register("ready-reader")
    _, session_id = api.login("ready-reader")
    first, second = twice(client, **post({"query": READ_SESSION, "variables": {"s": session_id}}))
    assert first == second
    assert second[1]["data"]["session"] == {"sessionId": session_id, "state": "ACTIVE"}
    assert lean_runs == ["-"]  # the first copy taught the document, the second ran plain
    calls.reset()
    client.request(**post({"query": READ_SESSION, "variables": {"s": session_id}}))
    assert calls.counts == {"Query": 1, "BatchGetItem": 1}  # the session, its customer


@pytest.mark.parametrize(
    ("name", "body", "token", "status", "code"),
    [
        ("a refused id", {"query": READ_SESSION, "variables": {"s": "a#b"}}, ADMIN_TOKEN, 200, "BAD_USER_INPUT"),
        ("a token that does not work", {"query": READ_SESSION, "variables": {"s": "x"}}, "nope.nope", 200, "UNAUTHENTICATED"),
        ("variables that do not coerce", {"query": READ_SESSION, "variables": {"s": 5}}, ADMIN_TOKEN, 200, "BAD_USER_INPUT"),
        ("no operation of that name", {"query": TWO_OPERATIONS, "operationName": "C"}, ADMIN_TOKEN, 400, "BAD_USER_INPUT"),
        ("two operations and no name (Strawberry runs the first)", {"query": TWO_OPERATIONS}, ADMIN_TOKEN, 200, None),
        ("a field that does not exist", {"query": "{ nope }"}, ADMIN_TOKEN, 200, "BAD_USER_INPUT"),
        ("a subscription over HTTP", {"query": "subscription { sessionEnded { reason } }"}, ADMIN_TOKEN, 200, "BAD_USER_INPUT"),
    ],
)  # fmt: skip
def test_an_error_answers_the_same_the_second_time(
    client, lean_runs, calls, name, body, token, status, code
):
    calls.reset()
    first, second = twice(client, **post(body, token))
    assert first == second, name
    assert first[0] == status
    errors = first[1].get("errors") or []
    assert [e.get("extensions", {}).get("code") for e in errors][:1] == ([code] if code else [])
    if code == "BAD_USER_INPUT" and status == 200 and "variables" not in name:
        assert calls.total == 0  # refused before the caller was looked up
    if "does not exist" in name:
        assert lean_runs == []  # a document that failed validation is never learnt


def test_a_mutation_over_get_is_refused_the_same_once_the_document_is_known(client, lean_runs):
    query = "mutation Out { logout { endedSessionIds } }"
    get = {"method": "GET", "url": "/graphql", "params": {"query": query}}
    before = client.request(**get)
    client.request(**post({"query": query}))  # validated over POST: now a known document
    after = client.request(**get)
    assert lean_runs == ["-"]  # the GET, once the POST had taught the document
    assert (after.status_code, after.json()) == (before.status_code, before.json())
    assert before.status_code == 400 and "GET" in before.text


def test_the_operation_is_labelled_on_both_paths(client, api, lean_runs):
    api.register("ready-labels")
    _, session_id = api.login("ready-labels")
    labels = {"operation_type": "query", "operation_name": "ReadSession", "outcome": "success"}

    def counted() -> float:
        return REGISTRY.get_sample_value("sessiongraph_graphql_requests_total", labels) or 0.0

    before = counted()
    twice(client, **post({"query": READ_SESSION, "variables": {"s": session_id}}))
    assert counted() - before == 2
    assert lean_runs == ["-"]


def test_tracing_extensions_keep_strawberrys_path() -> None:
    class Traced(schema.build.SchemaExtension):
        """An extension without a plain counterpart."""

    built = schema.build.build_schema(extra_extensions=[Traced])
    assert built.lean is None
    assert schema.build.build_schema().lean is not None
