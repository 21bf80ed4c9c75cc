"""The ASGI app factory, for `sessiongraph serve --workers N` and for any ASGI server:

    uvicorn --factory server.asgi:create_app_from_environment --workers 4 --no-access-log
    gunicorn -k uvicorn.workers.UvicornWorker 'server.asgi:create_app_from_environment()'

Settings come from the environment (`SESSIONGRAPH_*`). Each worker process opens its own
services (boto3 client, thread pools) in the app's lifespan and closes them at shutdown, after
the requests in flight have finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from server import metrics
from server.app import create_app
from server.heap import settle_heap
from server.logs import configure_logging
from server.readiness import missing_table_message, table_missing
from server.services import Services, open_services
from server.settings import Settings

log = logging.getLogger("sessiongraph")


class StartupError(RuntimeError):
    """Why this process cannot serve: said once, at start."""


def open_checked_services(settings: Settings) -> Services:
    """The services, with the table created (when asked) or known to exist."""
    services = open_services(settings)
    if services.connection is not None and services.connection.kind != "embedded":
        try:
            missing = table_missing(services.store.client, settings.table_name)
        except Exception:
            services.close()
            raise
        if missing:
            services.close()
            raise StartupError(missing_table_message(settings.table_name))
    return services


class ServicesApp:
    """Opens the services at lifespan startup, serves the app over them, closes them at the
    lifespan's shutdown (which an ASGI server runs once the requests in flight are done)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: ASGIApp | None = None

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        services = await asyncio.to_thread(open_checked_services, self.settings)
        try:
            app = create_app(self.settings, services)
            async with app.router.lifespan_context(app):
                settle_heap(self.settings.gc_young_threshold)
                self.app = app
                yield
        finally:
            self.app = None
            services.close()
            metrics.mark_process_dead()
            log.info("worker stopped: requests in flight answered, pools closed")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.app is None:
            raise RuntimeError("the app was called before its lifespan started")
        await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        running = self._running()
        try:
            await running.__aenter__()
        except Exception as exc:
            log.error("sessiongraph cannot start: %s", exc)
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await running.__aexit__(None, None, None)
        except Exception as exc:
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def create_app_from_environment() -> Any:
    """The app for one worker process, from `SESSIONGRAPH_*` and `OTEL_*` variables."""
    settings = Settings()
    configure_logging(settings.log_format_resolved, settings.log_level)
    if settings.admin_token is None:
        log.warning("no SESSIONGRAPH_ADMIN_TOKEN: admin calls are refused")
    return ServicesApp(settings)
