"""An optional event-loop lag probe, for benchmarks (`SESSIONGRAPH_LOOP_LAG_PROBE=true`).

When enabled, a task started at the app's lifespan sleeps `INTERVAL` seconds in a loop and
records how late it wakes: the time the loop spent on other work before it could run the
task again. `GET /debug/loop-lag?since=<unix time>` answers this process's samples taken
after `since` as percentiles in milliseconds (with `pid`, so a caller can tell the workers
of `serve --workers N` apart), and the process logs a summary when it shuts down.

Disabled (the default), nothing of this is installed: no task, no middleware, no route.
Where the lifespan does not pass through this middleware (the ASGI factory of
`serve --workers` runs the app's lifespan itself), the first request starts the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("sessiongraph")

PATH = "/debug/loop-lag"
INTERVAL = 0.005
MAX_SAMPLES = 200_000
"""About 17 minutes of samples at 5 ms; older ones are dropped."""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted `values` (0 for none)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[min(rank, len(values)) - 1]


def summarize(lags_ms: Iterable[float]) -> dict[str, Any]:
    ordered = sorted(lags_ms)
    return {
        "pid": os.getpid(),
        "samples": len(ordered),
        "p50_ms": round(percentile(ordered, 50), 3),
        "p99_ms": round(percentile(ordered, 99), 3),
        "max_ms": round(ordered[-1], 3) if ordered else 0.0,
    }


class LoopLagProbe:
    """ASGI middleware: runs the probe task for the app's lifetime and answers `PATH`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.samples: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        """(wall-clock time of the wake-up, lag in ms)."""
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        if self._task is None:
            # An app factory may run the app's lifespan without its middleware (the workers
            # of `serve --workers`): then the first request starts the probe.
            self._task = asyncio.get_running_loop().create_task(self._probe())
        if scope["type"] == "http" and scope["path"] == PATH:
            await self._answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._probe())
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
            return message

        return wrapped

    async def _probe(self) -> None:
        clock = time.perf_counter
        while True:
            before = clock()
            await asyncio.sleep(INTERVAL)
            lag = clock() - before - INTERVAL
            self.samples.append((time.time(), max(0.0, lag) * 1000.0))

    async def _stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        summary = summarize(lag for _, lag in self.samples)
        log.info(
            "event-loop lag over the process's life: %s samples, p50 %.3f ms, p99 %.3f ms, "
            "max %.3f ms",
            summary["samples"],
            summary["p50_ms"],
            summary["p99_ms"],
            summary["max_ms"],
        )

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = dict(
            part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part
        )
        try:
            since = float(query.get("since", "0"))
            until = float(query.get("until", "inf"))
        except ValueError:
            since, until = 0.0, math.inf
        window = [lag for at, lag in list(self.samples) if since <= at <= until]
        await JSONResponse(summarize(window))(scope, receive, send)
