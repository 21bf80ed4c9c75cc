"""The hand-written REST endpoints that `bench/side_by_side.py` measures sessiongraph against.

Each endpoint does exactly the DynamoDB work of one GraphQL operation, through the same
`dynamo/` functions, the same boto3 client settings and the same bounded thread pool
(`server.services.open_services` with the same `SESSIONGRAPH_*` settings), and answers the
same fields as JSON. What it leaves out is the GraphQL layer: parsing, validation, the
Strawberry view, resolvers, loaders. Served by uvicorn like `sessiongraph serve`:

    SESSIONGRAPH_ENDPOINT_URL=... SESSIONGRAPH_TABLE_NAME=... SESSIONGRAPH_ADMIN_TOKEN=... \\
        python -m uvicorn bench.rest_app:create_app --factory --host 127.0.0.1 --port 8001

- `GET /sessions/{id}` with the admin token = `session(sessionId:)`: one Query on the
  session's partition (`get_session_by_session_id` without the customer), then the
  customer item (BatchGetItem) to tell a revoked session from a live one
  (`dynamo.revocation.session_is_current`), as `resolvers/liveness.py` does.
- `GET /viewer` with a session token = `viewer`: the token check of `resolvers/auth.py`
  (one consistent BatchGetItem of session + customer, the idle deadline slid at most once
  per touch interval), nothing else.
- `GET /customers/{id}/sessions` with the admin token = `NESTED_QUERY`: the customer item
  (BatchGetItem), 30 sessions from the GSI (one Query), then every session's first page of
  children (one Query each, run concurrently, which also returns the parent).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dynamo.customers import get_customers
from dynamo.records import ChildSession, ParentSession
from dynamo.revocation import session_is_current
from dynamo.sessions import (
    get_child_sessions_by_session_id,
    get_session_by_session_id,
    get_sessions_by_customer_id,
)
from resolvers.auth import bearer_token, is_admin_token, resolve_caller
from resolvers.caller import SessionCaller
from server.loop_lag import LoopLagProbe
from server.services import open_services
from server.settings import Settings

NESTED_SESSIONS = 30
CHILD_PAGE = 20

UNAUTHORIZED = JSONResponse({"error": "unauthorized"}, status_code=401)


def session_fields(record: ParentSession | ChildSession) -> dict[str, Any]:
    """The fields the benchmark's `session` and `viewer` queries select."""
    return {
        "sessionId": record.session_id,
        "state": record.state.upper(),
        "isChild": record.is_child,
    }


def create_app() -> Starlette:
    settings = Settings()
    services = open_services(settings)
    store, runner, admin_token = services.store, services.runner, settings.admin_token

    def is_admin(request: Request) -> bool:
        token = bearer_token(request.headers.get("authorization"))
        return token is not None and is_admin_token(token, admin_token)

    async def session(request: Request) -> JSONResponse:
        if not is_admin(request):
            return UNAUTHORIZED
        found = await runner.run(get_session_by_session_id, store, request.path_params["id"])
        if found is not None:
            (customer,) = await runner.run(get_customers, store, [found.customer_id])
            if not session_is_current(customer, found):
                found = None
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(session_fields(found))

    async def viewer(request: Request) -> JSONResponse:
        caller, error = await runner.run(
            resolve_caller, store, request.headers.get("authorization"), admin_token
        )
        if error is not None or not isinstance(caller, SessionCaller):
            return UNAUTHORIZED
        return JSONResponse(session_fields(caller.session))

    async def nested(request: Request) -> JSONResponse:
        if not is_admin(request):
            return UNAUTHORIZED
        customer_id = request.path_params["id"]
        (customer,) = await runner.run(get_customers, store, [customer_id])
        if customer is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        page = await runner.run(
            get_sessions_by_customer_id, store, customer_id, first=NESTED_SESSIONS
        )
        children = await asyncio.gather(
            *(
                runner.run(
                    get_child_sessions_by_session_id,
                    store,
                    parent.session_id,
                    first=CHILD_PAGE,
                    after=None,
                    customer_id=parent.customer_id,
                    include_parent=True,
                )
                for parent in page.records
            )
        )
        return JSONResponse(
            {
                "customerId": customer_id,
                "sessions": [
                    {
                        "sessionId": parent.session_id,
                        "childSessions": [
                            {
                                "sessionId": child.session_id,
                                "parent": {"sessionId": parent.session_id},
                                "customer": {"customerId": child.customer_id or customer_id},
                            }
                            for child in child_page.records
                        ],
                    }
                    for parent, child_page in zip(page.records, children, strict=True)
                ],
            }
        )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            services.close()

    return Starlette(
        routes=[
            Route("/sessions/{id}", session),
            Route("/viewer", viewer),
            Route("/customers/{id}/sessions", nested),
            Route("/healthz", healthz),
        ],
        middleware=[Middleware(LoopLagProbe)] if settings.loop_lag_probe else [],
        lifespan=lifespan,
    )
