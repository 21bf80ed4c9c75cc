"""The common request, one operation POSTed as JSON, read without Strawberry's generic pipeline.

Strawberry's HTTP view serves every transport: it wraps the request in an adapter, parses the
content type with `email`, checks for the IDE, streaming transports, batches and uploads, and
checks protocols with `isinstance`. For a `POST` of one JSON object that costs about as much
CPU as executing the query (measured in bench/README.md). `read_json_operation` recognises
that request cheaply and reads its fields; `SessionGraphView` then executes it exactly as
Strawberry's `execute_single` would. Any other request (GET, another content type, a batch,
a body that is not a JSON object, a field of the wrong type) gets `None` and takes
Strawberry's path, which answers it and its errors as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class JsonOperation:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: Any
    """As sent: Strawberry passes `operationName` on unchecked, and so does this path."""
    extensions: dict[str, Any] | None
    document_id: object
    """`documentId` (trusted documents), which Strawberry does not read."""


def is_json_content_type(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == JSON_MEDIA_TYPE


async def read_json_operation(request: Request) -> JsonOperation | None:
    """The operation of a plain JSON POST; `None` for anything else."""
    if request.method != "POST" or not is_json_content_type(
        request.headers.get("content-type", "")
    ):
        return None
    try:
        # `json`, not orjson: a lone surrogate must reach the input checks, which refuse it
        # with a message (orjson refuses the whole body).
        data = json.loads(await request.body())
    except ValueError:  # also a body that is not UTF-8
        return None
    if not isinstance(data, dict):
        return None
    query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
    if not (
        isinstance(query, str | None)
        and isinstance(variables, dict | None)
        and isinstance(extensions, dict | None)
    ):
        return None
    return JsonOperation(
        query=query,
        variables=variables,
        operation_name=data.get("operationName"),
        extensions=extensions,
        document_id=data.get("documentId"),
    )
