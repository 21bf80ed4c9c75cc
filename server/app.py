"""The Starlette application: `/graphql` (and GraphiQL), `/healthz`, `/readyz`, `/metrics`,
GraphiQL's assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from resolvers.passwords import password_hashing_runner
from schema.build import SessionGraphSchema, build_schema
from server import metrics, tracing
from server.access_log import AccessLog
from server.cookies import SessionCookieGuard, SessionCookiePolicy
from server.cors import OriginOnlyCors
from server.event_hub import EventHub
from server.example import example_routes
from server.graphiql import ASSET_ROUTE_PREFIX, graphiql_assets_app
from server.graphql_view import SessionGraphView
from server.guard import RequestGuard
from server.loop_lag import LoopLagProbe
from server.persisted import (
    PersistedQueries,
    TrustedDocumentsError,
    load_trusted_documents,
)
from server.readiness import ReadinessProbe
from server.request_scope import OperationLabels, RequestScopeMiddleware
from server.services import Services
from server.settings import Settings


class ConfigurationError(RuntimeError):
    """Settings this server refuses to start with."""


CORS_ALLOWED_HEADERS = [
    "authorization",
    "content-type",
    "accept",
    # What Apollo Client, urql, OpenTelemetry's and Sentry's browser SDKs add to requests.
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
]
"""Request headers a browser on an allowed origin may send (persisted queries need none more:
their hash travels in the body or the URL)."""


def persisted_queries(settings: Settings, schema: SessionGraphSchema) -> PersistedQueries:
    try:
        trusted = (
            load_trusted_documents(settings.trusted_documents)
            if settings.trusted_documents is not None
            else None
        )
        return PersistedQueries(
            schema,
            cache_size=settings.persisted_query_cache_size,
            trusted=trusted,
            trusted_only=settings.trusted_documents_enforced,
        )
    except TrustedDocumentsError as exc:
        raise ConfigurationError(str(exc)) from None


def create_app(settings: Settings, services: Services) -> Starlette:
    """The app over already opened `services` (the caller owns them and closes them)."""
    store_kind = services.connection.kind if services.connection else "external"
    problems = settings.production_problems(store_kind)
    if problems:
        raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
    extensions: list[Any] = [OperationLabels]
    if tracing.tracing_requested() and tracing.configure_tracing():
        extensions += tracing.graphql_extensions()
    readiness = ReadinessProbe(
        services.store.client,
        services.store.table_name,
        timeout_seconds=settings.readiness_timeout_seconds,
        cache_seconds=settings.readiness_cache_seconds,
    )
    schema = build_schema(settings.query_limits(), extensions)
    cookie_policy = (
        SessionCookiePolicy.of(settings.cookie_same_site, settings.cors_origins)
        if settings.cookie_mode
        else None
    )
    events = EventHub(
        services.store,
        services.runner,
        services.connection.streams if services.connection else None,
        poll_interval=settings.events_poll_interval_seconds,
        max_connections_per_session=settings.connections_per_session,
        max_subscriptions_per_session=settings.subscriptions_per_session,
    )
    view = SessionGraphView(
        schema,
        services,
        admin_token=settings.admin_token,
        graphiql=settings.graphiql_enabled,
        allow_queries_via_get=settings.get_enabled,
        execution_timeout=settings.execution_timeout_seconds,
        suggestions=not settings.production,
        persisted=persisted_queries(settings, schema),
        events=events,
        allowed_origins=settings.cors_origins,
        subscriptions_per_connection=settings.subscriptions_per_connection,
        connection_init_timeout=settings.connection_init_timeout_seconds,
        session_cookie=cookie_policy,
        record_metrics=settings.metrics_enabled,
    )
    if settings.metrics_enabled:  # once the settings are known to be good
        metrics.instrument_client(services.store.client)
        metrics.track_queue("dynamodb", services.runner)
        metrics.track_queue("argon2", password_hashing_runner())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await events.start()
        try:
            yield
        finally:
            readiness.stopping = True
            readiness.close()
            await events.close()
            await services.cleanup.close()  # background clean-up: stopped, bounded wait

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "store": store_kind})

    async def home(request: Request) -> RedirectResponse:
        return RedirectResponse("/graphql", status_code=307)

    routes: list[BaseRoute] = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readiness.endpoint, methods=["GET"]),
        Route("/", home, methods=["GET"]),
    ]
    if settings.metrics_enabled:
        routes.append(
            Route("/metrics", metrics.metrics_endpoint(settings.metrics_token), methods=["GET"])
        )
    if settings.graphiql_enabled:
        routes.append(Mount(ASSET_ROUTE_PREFIX, graphiql_assets_app(), name="graphiql-assets"))
    if settings.example_enabled:
        routes += example_routes()
    probe = [Middleware(LoopLagProbe)] if settings.loop_lag_probe else []
    access_log = AccessLog(settings.log_format_resolved) if settings.access_log else None
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            *probe,
            Middleware(RequestScopeMiddleware, access_log=access_log),
            Middleware(
                OriginOnlyCors,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_ALLOWED_HEADERS,
                allow_credentials=settings.cookie_mode,
                max_age=600,
            ),
            Middleware(
                RequestGuard,
                max_body_bytes=settings.max_body_bytes,
                allowed_origins=settings.cors_origins,
            ),
            *([Middleware(SessionCookieGuard, policy=cookie_policy)] if cookie_policy else []),
        ],
    )
    app.state.events = events
    return app
