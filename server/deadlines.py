"""The execution timeout of HTTP requests: one periodic sweep per event loop, not a timer each.

`asyncio.timeout` schedules a timer per request and cancels it when the request ends: on a
loaded server that is a few microseconds of event-loop work for every request, and nearly
every request ends long before its deadline (bench/README.md, issue 10, sixth pass). Here a
request only registers its task and deadline in a dict; a sweep runs while requests are in
flight, every `resolution` seconds (a twentieth of the timeout by default), and cancels the
tasks whose deadline has passed. A request is cut off between its deadline and one
resolution later. On leaving, a request the sweep cancelled raises `TimeoutError`, exactly as
`asyncio.timeout` does (the cancellation is taken back with `Task.uncancel`); any other
cancellation passes through unchanged.

Written here rather than taken from a library: asyncio offers only the timer per timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

MIN_RESOLUTION_SECONDS = 0.01
MAX_RESOLUTION_SECONDS = 0.5


class Deadline:
    """One request's registration; leave it with `async with`/`__aexit__` semantics."""

    __slots__ = ("_pending", "cancelling", "due", "expired", "task")

    def __init__(
        self, pending: dict[Deadline, None], task: asyncio.Task[object], due: float
    ) -> None:
        self._pending = pending
        self.task = task
        self.cancelling = task.cancelling()
        self.due = due
        self.expired = False

    async def __aenter__(self) -> Deadline:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending.pop(self, None)
        # As `asyncio.timeout`: the sweep's cancellation is taken back; it becomes a
        # TimeoutError unless someone else cancelled the task too.
        if (
            self.expired
            and self.task.uncancel() <= self.cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError from exc


class DeadlineWatch:
    """Deadlines of the requests in flight, `seconds` after each started. Each event loop
    gets its own sweep (test clients run apps on several loops, in several threads); a
    loop's sweep stops when it has no deadline left."""

    def __init__(
        self,
        seconds: float,
        *,
        resolution: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.seconds = seconds
        self.resolution = (
            resolution
            if resolution is not None
            else min(MAX_RESOLUTION_SECONDS, max(MIN_RESOLUTION_SECONDS, seconds / 20))
        )
        self._clock = clock
        self._loops: dict[asyncio.AbstractEventLoop, _LoopDeadlines] = {}

    def __call__(self) -> Deadline:
        """The current task's deadline, `seconds` from now."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        deadlines = self._loops.get(loop)
        if deadlines is None:
            self._forget_closed_loops()
            deadlines = self._loops[loop] = _LoopDeadlines(self, loop)
        now = self._clock() if self._clock is not None else loop.time()
        deadline = Deadline(deadlines.pending, task, now + self.seconds)
        deadlines.pending[deadline] = None
        return deadline

    def _forget_closed_loops(self) -> None:
        """A loop closed with requests still registered (a test client's loop torn down)
        never sweeps again: drop it rather than keep it for the watch's lifetime."""
        for loop in [loop for loop in list(self._loops) if loop.is_closed()]:
            self._loops.pop(loop, None)

    @property
    def loops(self) -> int:
        """Event loops with a sweep scheduled."""
        return len(self._loops)

    @property
    def pending(self) -> int:
        return sum(len(deadlines.pending) for deadlines in list(self._loops.values()))

    def sweep_now(self) -> None:
        """Run the sweep of the running loop at once (tests that move the clock)."""
        deadlines = self._loops.get(asyncio.get_running_loop())
        if deadlines is not None:
            deadlines.sweep()


class _LoopDeadlines:
    __slots__ = ("handle", "loop", "pending", "watch")

    def __init__(self, watch: DeadlineWatch, loop: asyncio.AbstractEventLoop) -> None:
        self.watch = watch
        self.loop = loop
        self.pending: dict[Deadline, None] = {}
        self.handle = loop.call_later(watch.resolution, self.sweep)

    def sweep(self) -> None:
        self.handle.cancel()
        watch = self.watch
        try:
            now = watch._clock() if watch._clock is not None else self.loop.time()
            # Every deadline is `seconds` after its registration on one monotonic clock, so
            # the dict's order is the order they fall due in. `cancel` only schedules the
            # task's wake-up: nothing leaves the dict while this loop runs.
            for deadline in self.pending:
                if deadline.due > now:
                    break
                if not deadline.expired:
                    deadline.expired = True
                    deadline.task.cancel()
        finally:  # a sweep that failed must not stop the ones after it
            if self.pending:
                self.handle = self.loop.call_later(watch.resolution, self.sweep)
            else:
                watch._loops.pop(self.loop, None)
