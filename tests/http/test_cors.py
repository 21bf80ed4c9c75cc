"""CORS: a browser on an allowed origin may send the headers GraphQL clients and tracing SDKs
add (Apollo Client, urql, OpenTelemetry, Sentry); another origin still gets no CORS answer."""

from __future__ import annotations

import pytest

from tests.security.helpers import moto_only, serve

FRONTEND = "https://app.example.com"
EVIL = "https://evil.example"
CLIENT_HEADERS = [
    "apollographql-client-name",
    "apollographql-client-version",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
]
"""What the issue's preflight carried, refused with 400 before."""


@pytest.fixture
def cors(store):
    with serve(store, cors_origins=[FRONTEND]) as api:
        yield api


def _preflight(api, origin: str, headers: list[str]):
    return api.client.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": ", ".join(headers),
        },
    )


@moto_only
def test_a_preflight_with_client_and_tracing_headers_is_allowed(cors):
    requested = ["authorization", "content-type", *CLIENT_HEADERS]
    response = _preflight(cors, FRONTEND, requested)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == FRONTEND
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert set(requested) <= {h.lower() for h in allowed}


@moto_only
@pytest.mark.parametrize("header", CLIENT_HEADERS)
def test_each_client_header_alone_is_allowed(cors, header):
    response = _preflight(cors, FRONTEND, [header])
    assert response.status_code == 200, response.text


@moto_only
def test_a_header_not_on_the_list_is_refused(cors):
    response = _preflight(cors, FRONTEND, ["content-type", "x-something-else"])
    assert response.status_code == 400
    assert "x-something-else" not in response.headers.get("access-control-allow-headers", "")


@moto_only
def test_a_preflight_from_another_origin_is_refused_with_the_same_headers(cors):
    response = _preflight(cors, EVIL, ["content-type", *CLIENT_HEADERS])
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


@moto_only
def test_an_allowed_origin_posts_with_the_headers_and_gets_cors_answers(cors):
    response = cors.client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={
            "origin": FRONTEND,
            "apollographql-client-name": "web",
            "apollographql-client-version": "1.2.3",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "sentry-trace": "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.json() == {"data": {"__typename": "Query"}}
