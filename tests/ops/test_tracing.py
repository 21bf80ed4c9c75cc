"""Traces when `OTEL_*` asks for them: a span per GraphQL operation and per DynamoDB call, and
no secret (password, token, hash, admin token) in any span name or attribute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from server import tracing
from server.app import create_app
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api

PASSWORD = "tracing-password-Vb93"
NEW_PASSWORD = "tracing-password-Qm41"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        BotocoreInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        tracing._configured = False


def test_tracing_is_asked_for_by_the_standard_variables() -> None:
    assert not tracing.tracing_requested({})
    assert tracing.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}
    )


def _attribute_text(span: Any) -> str:
    parts = [span.name, *map(str, span.attributes.values())]
    for event in span.events:
        parts += [event.name, *map(str, event.attributes.values())]
    return "\n".join(parts)


def test_spans_for_operations_and_dynamodb_calls_hold_no_secret(
    spans, settings, services, monkeypatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    spans.clear()
    with TestClient(create_app(settings, services), client=CLIENT_ADDRESS) as client:
        api = Api(client)
        api.register("erin", PASSWORD)
        token, _ = api.login("erin", PASSWORD)
        child, _ = api.child(token)
        inline = api(
            f'mutation InlineLogin {{ login(customerId: "erin", password: "{PASSWORD}") {{ accessToken }} }}'
        ).ok()["login"]["accessToken"]
        api(
            "mutation ChangePassword($o: String!, $n: String!) { changePassword(currentPassword: $o, newPassword: $n) { endedSessionIds } }",
            {"o": PASSWORD, "n": NEW_PASSWORD},
            token=token,
        ).ok()
        sso = api.admin('mutation { login(customerId: "erin") { accessToken } }').ok()["login"][
            "accessToken"
        ]
    finished = spans.get_finished_spans()
    names = [span.name for span in finished]
    assert "GraphQL InlineLogin" in names
    assert "GraphQL ChangePassword" in names
    assert any(name.startswith("DynamoDB.") for name in names)
    operations = [s for s in finished if s.attributes.get("component") == "graphql"]
    assert operations
    dynamodb = [s for s in finished if s.attributes.get("rpc.service") == "DynamoDB"]
    assert {s.attributes.get("rpc.method") for s in dynamodb} >= {"PutItem", "GetItem"}
    stored = services.store.client.scan(TableName=services.store.table_name)["Items"]
    hashes = [i[a]["S"] for i in stored for a in ("password_hash", "access_token") if a in i]
    assert any(h.startswith("$argon2") for h in hashes)
    text = "\n".join(_attribute_text(span) for span in finished)
    for secret in [PASSWORD, NEW_PASSWORD, token, child, inline, sso, ADMIN_TOKEN, *hashes]:
        assert secret not in text, f"a secret is in a span: {secret[:6]}..."
