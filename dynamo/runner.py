"""Runs blocking calls (boto3, argon2) off the event loop, in bounded thread pools."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BlockingCallRunner:
    """A thread pool as large as the client's connection pool (1 for the embedded store)."""

    def __init__(self, max_workers: int, *, thread_name_prefix: str = "dynamo") -> None:
        self.max_workers = max_workers
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix=thread_name_prefix
        )
        self._pending = 0
        self._count_lock = threading.Lock()

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._count_lock:
            self._pending += 1
        try:
            future = self._executor.submit(functools.partial(fn, *args, **kwargs))
        except BaseException:
            self._finished(None)
            raise
        # Counted down when the call finishes in its thread (or is cancelled before it
        # started), not when the awaiting request gives up: a call cut off by the
        # execution timeout still holds its thread.
        future.add_done_callback(self._finished)
        return await asyncio.wrap_future(future)

    def _finished(self, _: Future[Any] | None) -> None:
        with self._count_lock:
            self._pending -= 1

    @property
    def pending(self) -> int:
        """Calls submitted and not finished yet (queued and running)."""
        return self._pending

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class RunnerBusy(Exception):
    """A bounded runner is full: the caller is refused at once instead of queueing."""


class BoundedCallRunner(BlockingCallRunner):
    """A pool with a bounded queue: at most `max_workers` calls run and `queue` wait.

    Work is admitted with `admission()` before it starts (a request may do other things,
    such as a DynamoDB call, between its admission and its calls here); past the bound,
    `admission()` raises `RunnerBusy` at once. Calls cut off by a timeout keep counting
    (through `pending`) until their thread is done with them.
    """

    def __init__(self, max_workers: int, queue: int, *, thread_name_prefix: str) -> None:
        super().__init__(max_workers, thread_name_prefix=thread_name_prefix)
        self.capacity = max_workers + queue
        self._admitted = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    @contextmanager
    def admission(self) -> Iterator[None]:
        with self._count_lock:
            if max(self._admitted, self._pending) >= self.capacity:
                raise RunnerBusy(f"{self.capacity} calls are running or waiting already")
            self._admitted += 1
        try:
            yield
        finally:
            with self._count_lock:
                self._admitted -= 1
