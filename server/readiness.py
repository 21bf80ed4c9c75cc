"""`/readyz`: can this process read its table right now?

The probe is a strongly consistent GetItem of a fixed key that no item uses. Why GetItem and
not DescribeTable: it takes the path requests take (the data plane, the same client, pool and
timeouts), it needs only the permission the server needs anyway, it costs one read unit, and
DescribeTable is a control-plane call with a low request rate on AWS. A missing table answers
`ResourceNotFoundException`, so the probe tells that apart too.

The answer is reused for `cache_seconds`, so probes cost nothing under a busy load balancer;
one probe at a time runs in its own thread, so a frozen store never takes the request pool's
threads, and a probe still waiting makes the next ones answer 503 at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from dynamo.errors import is_store_unavailable

PROBE_KEY = {"PK": {"S": "sessiongraph#readiness"}, "SK": {"S": "sessiongraph#readiness"}}


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reason: str | None = None


def _is_missing_table(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return (
        isinstance(exc, ClientError)
        and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
    )


def missing_table_message(table_name: str) -> str:
    return (
        f"the DynamoDB table {table_name!r} does not exist: create it with "
        f"`sessiongraph create-table --table-name {table_name}` (with the same --endpoint-url), "
        "or start with `--create-table` (SESSIONGRAPH_CREATE_TABLE=true)"
    )


def probe(client: Any, table_name: str) -> None:
    client.get_item(TableName=table_name, Key=PROBE_KEY, ConsistentRead=True)


def table_missing(client: Any, table_name: str) -> bool:
    """At start: True only when the store says the table does not exist (an unreachable store
    is not an error at start: `/readyz` reports it until the store answers)."""
    try:
        probe(client, table_name)
    except Exception as exc:
        if _is_missing_table(exc):
            return True
        if is_store_unavailable(exc):
            return False
        raise
    return False


class ReadinessProbe:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        timeout_seconds: float = 2.0,
        cache_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.timeout_seconds = timeout_seconds
        self.cache_seconds = cache_seconds
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="readiness")
        self._running: concurrent.futures.Future[None] | None = None
        self._cached: tuple[float, Readiness] | None = None
        self._lock = asyncio.Lock()
        self.stopping = False

    async def check(self) -> Readiness:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            answer = await self._probe()
            self._cached = (time.monotonic(), answer)
            return answer

    async def _probe(self) -> Readiness:
        if self.stopping:
            return Readiness(False, "shutting down")
        if self._running is not None and not self._running.done():
            return Readiness(False, "the previous read of the table has not answered yet")
        self._running = self._executor.submit(probe, self.client, self.table_name)
        try:
            await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(self._running)), self.timeout_seconds
            )
        except TimeoutError:
            return Readiness(
                False, f"the table did not answer a read within {self.timeout_seconds:g} s"
            )
        except Exception as exc:
            if _is_missing_table(exc):
                return Readiness(False, missing_table_message(self.table_name))
            return Readiness(False, f"the table cannot be read: {type(exc).__name__}")
        return Readiness(True)

    async def endpoint(self, request: Request) -> JSONResponse:
        answer = await self.check()
        if answer.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": answer.reason}, status_code=503)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
