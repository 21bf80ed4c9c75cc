"""Prometheus metrics (the official prometheus-client), correct under several worker processes.

With `PROMETHEUS_MULTIPROC_DIR` set (the CLI sets it for `--workers`), every process writes its
values to files there and a scrape of any worker sums them all (prometheus-client's
multiprocess mode); a worker that exits is marked dead so its gauges drop out.

Seams, one per layer: the GraphQL view calls `record_graphql_request` once per request; the
DynamoDB client gets botocore event hooks (`instrument_client`); the thread pools are read
through `BlockingCallRunner.pending` (`track_queue`); the event hub counts its watches
(`SUBSCRIPTIONS`) and the WebSocket handler its acknowledged connections
(`WEBSOCKET_CONNECTIONS`).

Label values are bounded: operation types are GraphQL's three; an operation name is kept only
if it is a GraphQL name of at most 64 characters, and only the first
`MAX_OPERATION_NAMES` distinct names a process sees get their own series (later ones are
`other`); outcomes are `success` or an error code; DynamoDB operations are the API's names
and their outcomes a fixed set.
"""

from __future__ import annotations

import functools
import hmac
import os
import re
import threading
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dynamo.runner import BlockingCallRunner
from server.request_scope import RequestScope

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 100
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
LOGIN_OUTCOMES = frozenset({"success", "bad_credentials", "locked", "rate_limited"})

GRAPHQL_REQUESTS = Counter(
    "sessiongraph_graphql_requests_total",
    "GraphQL requests answered, by operation and outcome (success or the first error code)",
    ["operation_type", "operation_name", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "sessiongraph_graphql_request_duration_seconds",
    "Time from the request's arrival to its GraphQL answer",
    ["operation_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DYNAMODB_CALLS = Counter(
    "sessiongraph_dynamodb_calls_total",
    "DynamoDB API calls (after botocore's retries), by operation and outcome",
    ["operation", "outcome"],
)
DYNAMODB_DURATION = Histogram(
    "sessiongraph_dynamodb_call_duration_seconds",
    "Time of one DynamoDB API call, retries included",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOGINS = Counter(
    "sessiongraph_logins_total",
    "Password checks of login and changePassword, by outcome",
    ["outcome"],
)
QUEUE_DEPTH = Gauge(
    "sessiongraph_queue_depth",
    "Blocking calls submitted and not finished (queued and running), by pool",
    ["pool"],
    multiprocess_mode="livesum",
)

SUBSCRIPTIONS = Gauge(
    "sessiongraph_subscriptions",
    "Subscriptions running (each watching the table's changes through the event hub)",
    multiprocess_mode="livesum",
)
WEBSOCKET_CONNECTIONS = Gauge(
    "sessiongraph_websocket_connections",
    "WebSocket connections past connection_init (acknowledged and not closed)",
    multiprocess_mode="livesum",
)

_names_lock = threading.Lock()
_names_seen: set[str] = set()
_queues: dict[str, BlockingCallRunner] = {}
_depths: dict[str, int] = {}


def operation_name_label(name: str | None) -> str:
    if not name:
        return ""
    if name in _names_seen:  # only grows, and only with names that passed the checks below
        return name
    if not _NAME.fullmatch(name):
        return "other"
    with _names_lock:
        if name in _names_seen:
            return name
        if len(_names_seen) >= MAX_OPERATION_NAMES:
            return "other"
        _names_seen.add(name)
        return name


@functools.cache
def _series(metric: Any, *labels: str) -> Any:
    """A labelled series, looked up once: `labels()` takes a lock and checks its arguments on
    every call, and the label values here are few (bounded above)."""
    return metric.labels(*labels)


def record_graphql_request(scope: RequestScope) -> None:
    operation_type = scope.operation_type or "unknown"
    outcome = scope.error_codes[0].lower() if scope.error_codes else "success"
    name = operation_name_label(scope.operation_name)
    _series(GRAPHQL_REQUESTS, operation_type, name, outcome).inc()
    _series(GRAPHQL_DURATION, operation_type).observe(scope.duration_seconds)
    login_outcome = getattr(scope.context, "login_outcome", None)
    if login_outcome is not None:
        LOGINS.labels(login_outcome if login_outcome in LOGIN_OUTCOMES else "other").inc()
    refresh_queue_depth()


def track_queue(pool: str, runner: BlockingCallRunner) -> None:
    """Report `runner.pending` as `sessiongraph_queue_depth{pool=...}` (the latest runner
    given for a pool: one app per process)."""
    _queues[pool] = runner
    _depths.pop(pool, None)
    refresh_queue_depth()


def refresh_queue_depth() -> None:
    for pool, runner in list(_queues.items()):
        depth = getattr(runner, "pending", 0)
        # A gauge's `set` takes a lock (and, with several workers, writes to the shared
        # file): skip a value it already has. One event loop per process calls this; test
        # clients on several loops could leave the gauge a step behind until the next change.
        if _depths.get(pool) != depth:
            _depths[pool] = depth
            _series(QUEUE_DEPTH, pool).set(depth)


# DynamoDB calls, from botocore's events on the client: one seam, no change to dynamo/.

_STARTED = "sessiongraph_metrics_started"
_INSTRUMENTED = "_sessiongraph_metrics"
_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


def error_outcome(code: str, status: int) -> str:
    if code == "ConditionalCheckFailedException":
        return "conditional_check_failed"
    if code == "TransactionCanceledException":
        return "transaction_canceled"
    if code in _THROTTLED:
        return "throttled"
    if code == "ResourceNotFoundException":
        return "table_not_found"
    if code == "ValidationException":
        return "validation_error"
    return "server_error" if status >= 500 else "client_error"


def exception_outcome(exc: BaseException) -> str:
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return "timeout"
    if isinstance(exc, EndpointConnectionError):
        return "connection_error"
    return "error"


def _before_call(context: dict[str, Any], **_: Any) -> None:
    context[_STARTED] = time.perf_counter()
    refresh_queue_depth()


def _finish(context: dict[str, Any], operation: str, outcome: str) -> None:
    started = context.pop(_STARTED, None)
    _series(DYNAMODB_CALLS, operation, outcome).inc()
    if started is not None:
        _series(DYNAMODB_DURATION, operation).observe(time.perf_counter() - started)


def _after_call(
    model: Any, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
) -> None:
    status = getattr(http_response, "status_code", 200)
    if status < 300:
        outcome = "success"
    else:
        outcome = error_outcome(str(parsed.get("Error", {}).get("Code", "")), status)
    _finish(context, model.name, outcome)


def _after_call_error(
    event_name: str, exception: BaseException, context: dict[str, Any], **_: Any
) -> None:
    # `after-call-error.dynamodb.<Operation>` gives no model: the operation ends the name.
    _finish(context, event_name.rsplit(".", 1)[-1], exception_outcome(exception))


def instrument_client(client: Any) -> None:
    """Count and time every call of this boto3 DynamoDB client (once per client)."""
    if getattr(client, _INSTRUMENTED, False):
        return
    setattr(client, _INSTRUMENTED, True)
    events = client.meta.events
    events.register("before-call.dynamodb", _before_call)
    events.register("after-call.dynamodb", _after_call)
    events.register("after-call-error.dynamodb", _after_call_error)


# The endpoint.


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def metrics_endpoint(token: str | None) -> Any:
    """`GET /metrics`: the text format; with `token`, only for `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return JSONResponse(
                    {"error": "/metrics needs Authorization: Bearer <SESSIONGRAPH_METRICS_TOKEN>"},
                    status_code=401,
                    headers={"www-authenticate": "Bearer"},
                )
        refresh_queue_depth()
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return metrics


def mark_process_dead() -> None:
    """Drop this process's live gauges from the shared directory (on worker exit)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
