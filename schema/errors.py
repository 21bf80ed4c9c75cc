"""Every error leaves with an `extensions.code`; unexpected ones are masked and logged.

A caller sees the message of an `ApiError` (written for them) or of the storage layer's
input errors; anything else becomes `INTERNAL_SERVER_ERROR` with the request id, never a
stack trace or botocore's text. The full error is logged with the same request id.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from graphql import GraphQLError

from dynamo.errors import (
    ConflictError,
    InvalidCursorError,
    InvalidIdError,
    InvalidPageSizeError,
    NotFoundError,
    is_store_unavailable,
)
from resolvers.errors import STORE_UNAVAILABLE_MESSAGE

log = logging.getLogger("sessiongraph.errors")


def _coded(error: GraphQLError, code: str, message: str | None = None) -> GraphQLError:
    return GraphQLError(
        message if message is not None else error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


def classify(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if original is None:
        # Parse and validation errors, and the limiters' refusals: the caller's input.
        code = (error.extensions or {}).get("code")
        return error if code else _coded(error, "BAD_USER_INPUT")
    original_code = (
        (original.extensions or {}).get("code") if isinstance(original, GraphQLError) else None
    )
    if isinstance(original, GraphQLError) and original_code:
        return _coded(error, str(original_code), original.message)
    if isinstance(original, GraphQLError) and error.path is None:
        # graphql-core's own refusal of the variables, before any field ran.
        return _coded(error, "BAD_USER_INPUT")
    if isinstance(original, (InvalidIdError, InvalidCursorError, InvalidPageSizeError)):
        return _coded(error, "BAD_USER_INPUT", str(original))
    if isinstance(original, ConflictError):
        return _coded(error, "CONFLICT", str(original))
    if isinstance(original, NotFoundError):
        return _coded(error, "NOT_FOUND", str(original))
    if is_store_unavailable(original):
        log.warning("store unavailable [request %s]: %r", request_id, original)
        return _coded(error, "STORE_UNAVAILABLE", STORE_UNAVAILABLE_MESSAGE)
    log.error("unexpected error [request %s]", request_id, exc_info=original)
    masked = _coded(error, "INTERNAL_SERVER_ERROR", f"internal error (request id {request_id})")
    masked.extensions = {**(masked.extensions or {}), "requestId": request_id}
    return masked


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(frozen=True, slots=True)
class ErrorPolicy:
    """Applied by the HTTP view to every result, whichever stage the errors came from
    (parsing, validation, the hooks before execution, or the resolvers)."""

    suggestions: bool = True

    def apply(self, errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
        coded = [classify(error, request_id) for error in errors]
        if not self.suggestions:
            for error in coded:
                error.message = _SUGGESTION.sub("", error.message)
        return coded
