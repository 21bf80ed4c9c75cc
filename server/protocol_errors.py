"""What to do about a refused HTTP request: Strawberry's terse protocol errors, rewritten to say
which header or what body to send. Matched on Strawberry's own wording; an unknown one passes
through unchanged."""

from __future__ import annotations

ACCEPTED = "accepted: POST with Content-Type: application/json, or GET with ?query= (queries only)"
JSON_BODY = '{"query": "...", "variables": {...}}'


def teach(reason: str, *, content_type: str | None = None) -> str:
    """The message for Strawberry's `HTTPException` reason `reason`."""
    if reason == "Unsupported content type":
        got = f"got {content_type[:100]!r}" if content_type else "no Content-Type header was sent"
        return (
            f"Unsupported content type ({got}): send the request as JSON with the header "
            f"`Content-Type: application/json` and a body like {JSON_BODY}; {ACCEPTED}"
        )
    if reason == "Unable to parse request body as JSON":
        return (
            "Unable to parse request body as JSON: send a JSON object such as "
            f"{JSON_BODY} (with `Content-Type: application/json`)"
        )
    if reason == "No GraphQL query found in the request":
        return (
            "No GraphQL query found in the request: send `query` (the GraphQL document) in the "
            f"JSON body, e.g. {JSON_BODY}, or in the URL of a GET (?query=); or name a "
            "persisted query by extensions.persistedQuery or documentId"
        )
    if reason == "mutations are not allowed when using GET":
        return (
            "mutations are not allowed when using GET: send them as a POST with "
            "`Content-Type: application/json`"
        )
    if reason == "queries are not allowed when using GET":
        return (
            "queries are not allowed when using GET: GET is off on this server "
            "(SESSIONGRAPH_ALLOW_GET, off in production); send a POST with "
            "`Content-Type: application/json`"
        )
    if reason == "Batching is not enabled":
        return (
            "Batching is not enabled: send one operation per request, a JSON object "
            f"{JSON_BODY}, not an array"
        )
    if reason == "Not Found":
        return (
            "Not Found: GraphiQL is off on this server (SESSIONGRAPH_GRAPHIQL, off in "
            "production); send queries as a POST with `Content-Type: application/json`"
        )
    return reason
