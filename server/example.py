"""The sample frontend (`examples/web/`) at `/example`, outside production.

Plain HTML and JavaScript modules; graphql-ws's browser build comes from the vendored assets
(`make assets` puts it in `server.graphiql.VENDOR_DIR`), so the page works with no internet.
The folder ships in the package (`examples.web` in pyproject), beside `server/`, in a source
checkout and in an installed wheel alike.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server import graphiql

EXAMPLE_PREFIX = "/example"
EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "web"
GRAPHQL_WS_ASSET = "graphql-ws/graphql-ws.min.js"
"""graphql-ws's UMD build under VENDOR_DIR (scripts/vendor-graphiql.sh copies it there)."""


def example_routes() -> list[BaseRoute]:
    async def graphql_ws(request: Request) -> Response:
        path = graphiql.VENDOR_DIR / GRAPHQL_WS_ASSET
        if not path.is_file():
            return PlainTextResponse("graphql-ws is not installed: run `make assets`", 404)
        return FileResponse(path, media_type="text/javascript")

    return [
        Route(f"{EXAMPLE_PREFIX}/vendor/graphql-ws.min.js", graphql_ws, methods=["GET"]),
        Mount(
            EXAMPLE_PREFIX,
            StaticFiles(directory=EXAMPLE_DIR, html=True, check_dir=False),
            name="example",
        ),
    ]
