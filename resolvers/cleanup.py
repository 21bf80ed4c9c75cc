"""The clean-up a revocation leaves to the background: not tied to the request that asked.

logoutAll and changePassword end every session with one write and delete one page of items
before they answer; the rest (the children of what they deleted, the customer's other dead
sessions) is queued here. One worker task per process takes one customer at a time and runs
`dynamo.cleanup.sweep_customer` in the DynamoDB thread pool, within a `Budget` of items and
seconds. The queue is bounded: a customer that does not fit is left to the next revocation,
to `sessiongraph sweep`, or to TTL. At shutdown the queue is dropped, the running sweep is
told to stop (it checks between sessions), and `close` waits for it a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from dynamo.cleanup import Budget, SweepResult, sweep_customer
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store

log = logging.getLogger("sessiongraph.cleanup")
SHUTDOWN_WAIT_SECONDS = 5.0


class BackgroundCleanup:
    def __init__(
        self,
        store: Store,
        runner: BlockingCallRunner,
        *,
        max_items: int = 1000,
        max_seconds: float = 30.0,
        max_queued: int = 1000,
        in_request: int = 100,
    ) -> None:
        self.store = store
        self.in_request = in_request
        """Sessions a revocation deletes before it answers (one GSI page)."""
        self.runner = runner
        self.max_items = max_items
        self.max_seconds = max_seconds
        self.max_queued = max_queued
        self._queue: dict[str, set[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop = threading.Event()
        self.results: list[tuple[str, SweepResult]] = []
        """The last runs (customer id, result), newest last; a few kept for tests and logs."""

    def schedule(self, customer_id: str, deleted_parents: list[str]) -> bool:
        """Queue a customer's clean-up; False when it was dropped (queue full or closed)."""
        if self._stop.is_set():
            return False
        if customer_id not in self._queue and len(self._queue) >= self.max_queued:
            log.warning("clean-up queue full: customer left to sweep or TTL")
            return False
        self._queue.setdefault(customer_id, set()).update(deleted_parents)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._work())
        return True

    async def _work(self) -> None:
        while self._queue and not self._stop.is_set():
            customer_id = next(iter(self._queue))
            parents = sorted(self._queue.pop(customer_id))
            budget = Budget(max_items=self.max_items, max_seconds=self.max_seconds, stop=self._stop)
            try:
                result = await self.runner.run(
                    sweep_customer,
                    self.store,
                    customer_id,
                    deleted_parents=parents,
                    budget=budget,
                )
            except Exception:
                log.exception("background clean-up failed; left to sweep or TTL")
                continue
            self.results = [*self.results[-9:], (customer_id, result)]
            if not result.complete:
                log.info(
                    "background clean-up stopped at its budget; the rest is left to sweep or TTL"
                )

    async def wait_idle(self) -> None:
        """Until the queue is empty and nothing runs (for tests and orderly shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Drop what is queued, tell the running sweep to stop, wait for it a bounded time
        (`SHUTDOWN_WAIT_SECONDS`; the sweep checks the stop signal between sessions)."""
        self._stop.set()
        self._queue.clear()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(SHUTDOWN_WAIT_SECONDS):
                    await asyncio.shield(self._task)
