"""GraphQL over HTTP (the GraphQL Foundation's spec): the response's media type and status.

A client that asks for `application/graphql-response+json` (Accept) gets it, and with it the
status codes that media type defines: a request error (the document does not parse or
validate, the variables do not coerce, the request is refused before anything runs) is a 4xx
(or 5xx when the server is at fault) with no `data` key; anything that ran is 200 with `data`.

Everyone else (`application/json`, `*/*`, no Accept at all) gets `application/json` as before:
200 for every GraphQL result, `"data": null` on a request error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.responses import JSONResponse
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_CONTENT_TYPE = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"

REQUEST_ERROR_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "PERSISTED_QUERY_NOT_ALLOWED": 403,
    "NOT_FOUND": 404,
    "PERSISTED_QUERY_NOT_FOUND": 404,
    "RATE_LIMITED": 429,
    "INTERNAL_SERVER_ERROR": 500,
    "STORE_UNAVAILABLE": 503,
    "TIMEOUT": 503,
}
"""A request error's status under `application/graphql-response+json`, by its first error's
code; any other code (BAD_USER_INPUT, parse and validation errors) is 400."""


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def wants_graphql_response(accept: str | None) -> bool:
    """Whether `Accept` prefers `application/graphql-response+json` to `application/json`.

    Only an explicit `application/graphql-response+json` selects it (wildcards mean JSON, as
    the spec asks); on equal quality it wins, being the more precise of the two."""
    if not accept:
        return False
    graphql_response, json = 0.0, 0.0
    json_specificity = -1
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        quality = _quality(params)
        if media == GRAPHQL_RESPONSE_JSON:
            graphql_response = max(graphql_response, quality)
            continue
        specificity = {APPLICATION_JSON: 2, "application/*": 1, "*/*": 0}.get(media)
        if specificity is not None and specificity > json_specificity:
            json, json_specificity = quality, specificity
    return graphql_response > 0 and graphql_response >= json


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: the errors came before execution (parse, validation, the hooks
    that refuse a request) or from coercing the variables (no data, no error with a path)."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def request_error_status(codes: Iterable[Any]) -> int:
    for code in codes:
        return REQUEST_ERROR_STATUS.get(str(code), 400)
    return 400


def error_response(
    status: int, message: str, code: str, *, graphql_response: bool = False
) -> JSONResponse:
    """A request error the view or a guard answers itself, in the negotiated media type:
    `{"data": null, "errors": [...]}` with `status` as `application/json`; no `data` and the
    status `application/graphql-response+json` calls for (a 4xx or 5xx) otherwise."""
    error = {"message": message, "extensions": {"code": code}}
    if not graphql_response:
        return JSONResponse({"data": None, "errors": [error]}, status_code=status)
    if status < 400:
        status = request_error_status([code])
    return JSONResponse(
        {"errors": [error]}, status_code=status, media_type=GRAPHQL_RESPONSE_CONTENT_TYPE
    )
