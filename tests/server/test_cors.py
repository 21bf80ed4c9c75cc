"""`server/cors.py`: a request without `Origin` skips Starlette's CORS middleware and gets the
same response headers from it; a request with one goes through Starlette's rules."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from server.cors import OriginOnlyCors, with_vary_origin

OPTIONS = {
    "allow_origins": ["https://app.example"],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["authorization", "content-type"],
    "allow_credentials": True,
    "max_age": 600,
}


def _app(cors: type[OriginOnlyCors] | type[CORSMiddleware]) -> Starlette:
    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse("plain")

    async def varied(request: Request) -> PlainTextResponse:
        return PlainTextResponse("varied", headers={"Vary": "Accept-Encoding"})

    async def twice_varied(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"vary", b"Cookie"), (b"content-type", b"text/plain"), (b"vary", b"Accept")]
        await send({"type": "http.response.start", "status": 200, "headers": iter(headers)})
        await send({"type": "http.response.body", "body": b"twice"})

    return Starlette(
        routes=[
            Route("/plain", plain, methods=["GET", "POST"]),
            Route("/varied", varied),
            Mount("/twice", twice_varied),
        ],
        middleware=[Middleware(cors, **OPTIONS)],
    )


REQUESTS = [
    ("GET", "/plain", {}),
    ("POST", "/plain", {"content-type": "application/json"}),
    ("GET", "/varied", {}),
    ("GET", "/twice/", {}),
    ("GET", "/plain", {"origin": "https://app.example"}),
    ("GET", "/varied", {"origin": "https://app.example"}),
    ("GET", "/plain", {"origin": "https://elsewhere.example"}),
    (
        "OPTIONS",
        "/plain",
        {"origin": "https://app.example", "access-control-request-method": "POST"},
    ),
    ("OPTIONS", "/plain", {"access-control-request-method": "POST"}),
]


@pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
def test_the_same_answer_as_starlettes_middleware(
    method: str, path: str, headers: dict[str, str]
) -> None:
    answers = []
    for cors in (OriginOnlyCors, CORSMiddleware):
        with TestClient(_app(cors)) as client:
            response = client.request(method, path, headers=headers)
        answers.append(
            (response.status_code, sorted(response.headers.multi_items()), response.text)
        )
    ours, starlettes = answers
    assert ours == starlettes
    if "origin" not in headers:  # the answer that skipped Starlette's middleware
        assert [v for name, v in ours[1] if name == "vary"][-1].endswith("Origin")


def test_without_origin_starlettes_middleware_is_not_called() -> None:
    calls = []

    class Counting(OriginOnlyCors):
        def __init__(self, app: object, **options: object) -> None:
            super().__init__(app, **options)  # type: ignore[arg-type]
            inner = self.cors

            async def counted(scope, receive, send):  # type: ignore[no-untyped-def]
                calls.append((scope["type"], scope.get("path")))
                await inner(scope, receive, send)

            self.cors = counted  # type: ignore[assignment]

    with TestClient(_app(Counting)) as client:  # type: ignore[arg-type]
        assert client.get("/plain").status_code == 200
        assert client.get("/plain", headers={"origin": "https://app.example"}).status_code == 200
    assert [call for call in calls if call[0] == "http"] == [("http", "/plain")]  # with Origin


def test_vary_values_are_merged_where_the_first_was_whatever_their_case() -> None:
    headers = [(b"Vary", b"Cookie"), (b"content-type", b"text/plain"), (b"vary", b"Accept")]
    assert with_vary_origin(iter(headers)) == [
        (b"vary", b"Cookie, Accept, Origin"),
        (b"content-type", b"text/plain"),
    ]
    assert with_vary_origin(iter([(b"content-length", b"2")])) == [
        (b"content-length", b"2"),
        (b"vary", b"Origin"),
    ]
