"""The Starlette application: `/graphql` (and GraphiQL), `/healthz`, GraphiQL's assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from schema.build import build_schema
from server.graphiql import ASSET_ROUTE_PREFIX, graphiql_assets_app
from server.graphql_view import SessionGraphView
from server.services import Services
from server.settings import Settings


def create_app(settings: Settings, services: Services) -> Starlette:
    """The app over already opened `services` (the caller owns them and closes them)."""
    view = SessionGraphView(
        build_schema(settings.query_limits()),
        services,
        admin_token=settings.admin_token,
    )

    async def healthz(request: Request) -> JSONResponse:
        kind = services.connection.kind if services.connection else "external"
        return JSONResponse({"status": "ok", "store": kind, "table": services.store.table_name})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield

    return Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Mount(ASSET_ROUTE_PREFIX, graphiql_assets_app(), name="graphiql-assets"),
        ],
        lifespan=lifespan,
    )
