"""`server.json_post` reads only the plain JSON POST; everything else is left to Strawberry's
view, whose answers (and errors) the rest of tests/http checks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request

from server.json_post import JsonOperation, read_json_operation


def request(method: str, content_type: str | None, body: bytes) -> Request:
    headers = [(b"content-type", content_type.encode())] if content_type else []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": method, "path": "/graphql", "headers": headers}
    return Request(scope, receive)


def read(method: str, content_type: str | None, body: object) -> JsonOperation | None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return asyncio.run(read_json_operation(request(method, content_type, raw)))


def test_a_json_post_is_read_with_every_field():
    body = {
        "query": "query Q { viewer { sessionId } }",
        "variables": {"a": 1},
        "operationName": "Q",
        "extensions": {"x": True},
        "documentId": "sha256:abc",
    }
    assert read("POST", "Application/JSON; charset=utf-8", body) == JsonOperation(
        query=body["query"],
        variables={"a": 1},
        operation_name="Q",
        extensions={"x": True},
        document_id="sha256:abc",
    )


@pytest.mark.parametrize(
    ("method", "content_type", "body"),
    [
        ("GET", "application/json", {"query": "{ a }"}),
        ("POST", "application/graphql-response+json", {"query": "{ a }"}),
        ("POST", "application/jsonx", {"query": "{ a }"}),
        ("POST", "multipart/form-data", {"query": "{ a }"}),
        ("POST", None, {"query": "{ a }"}),
        ("POST", "application/json", [{"query": "{ a }"}]),  # a batch
        ("POST", "application/json", b"{not json"),
        ("POST", "application/json", b"\xff\xfe"),
        ("POST", "application/json", None),
        ("POST", "application/json", {"query": 5}),
        ("POST", "application/json", {"query": "{ a }", "variables": [1]}),
        ("POST", "application/json", {"query": "{ a }", "extensions": "x"}),
    ],
)
def test_anything_else_is_left_to_strawberry(method, content_type, body):
    assert read(method, content_type, body) is None


def test_both_paths_read_a_document_id_written_with_an_escape():
    """`server.persisted.document_id` (Strawberry's path) and the JSON POST reader agree."""
    from server.persisted import document_id

    body = b'{"document\\u0049d": "sha256:abc"}'

    class Adapter:
        method = "POST"

        async def get_body(self) -> bytes:
            return body

    operation = asyncio.run(read_json_operation(request("POST", "application/json", body)))
    assert operation is not None and operation.document_id == "sha256:abc"
    assert asyncio.run(document_id(Adapter())) == "sha256:abc"  # type: ignore[arg-type]
