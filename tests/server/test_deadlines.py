"""`server.deadlines`: the execution timeout by one sweep per loop, with `asyncio.timeout`'s
outcome. The clock is injected and the sweep run by hand: no test waits for time to pass."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from server.deadlines import DeadlineWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def never_sweeping(seconds: float, clock: Clock) -> DeadlineWatch:
    """A watch whose own sweep does not come round during a test (an hour apart)."""
    return DeadlineWatch(seconds, resolution=3600, clock=clock)


async def request_in_flight(watch: DeadlineWatch) -> asyncio.Task[str]:
    """A request that waits forever inside its deadline, once it has entered it."""
    entered = asyncio.Event()

    async def request() -> str:
        async with watch():
            entered.set()
            await asyncio.Event().wait()
        return "answered"

    task = asyncio.create_task(request())
    await entered.wait()
    return task


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_a_request_past_its_deadline_raises_timeout_error():
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        task = await request_in_flight(watch)
        clock.now += 9.99
        watch.sweep_now()
        await asyncio.sleep(0)
        assert not task.done()  # not yet due
        clock.now += 0.01
        watch.sweep_now()
        with pytest.raises(TimeoutError):
            await task
        assert task.cancelling() == 0  # the sweep's cancellation was taken back
        assert watch.pending == 0

    run(scenario)


def test_a_request_that_ends_in_time_is_left_alone():
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        async with watch():
            answer = "answered"
        clock.now += 60
        watch.sweep_now()
        await asyncio.sleep(0)
        assert answer == "answered"
        assert watch.pending == 0

    run(scenario)


def test_a_cancellation_from_outside_stays_a_cancellation():
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        before = await request_in_flight(watch)
        before.cancel()  # a client gone, a server stopping: not a timeout
        with pytest.raises(asyncio.CancelledError):
            await before
        both = await request_in_flight(watch)
        clock.now += 10
        watch.sweep_now()
        both.cancel()  # due and cancelled from outside as well: as asyncio.timeout, cancelled
        with pytest.raises(asyncio.CancelledError):
            await both
        assert watch.pending == 0

    run(scenario)


def test_each_request_has_its_own_deadline():
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        early = await request_in_flight(watch)
        clock.now += 5
        late = await request_in_flight(watch)
        clock.now += 5
        watch.sweep_now()
        with pytest.raises(TimeoutError):
            await early
        await asyncio.sleep(0)
        assert not late.done()
        assert watch.pending == 1
        clock.now += 5
        watch.sweep_now()
        with pytest.raises(TimeoutError):
            await late

    run(scenario)


def test_the_sweep_comes_round_by_itself_while_requests_are_in_flight():
    """The loop's own timer runs the sweep (here every 10 ms of the loop's clock; the
    deadline is already past, so the first sweep cuts the request off)."""
    clock = Clock()
    watch = DeadlineWatch(10, resolution=0.01, clock=clock)

    async def scenario() -> None:
        task = await request_in_flight(watch)
        clock.now += 10
        with pytest.raises(TimeoutError):
            await task

    run(scenario)


@pytest.mark.parametrize(
    ("seconds", "resolution"), [(10, 0.5), (60, 0.5), (1, 0.05), (0.2, 0.01), (0.05, 0.01)]
)
def test_the_sweep_runs_every_twentieth_of_the_timeout_within_bounds(seconds, resolution):
    assert DeadlineWatch(seconds).resolution == pytest.approx(resolution)


def test_several_loops_each_sweep_their_own_requests():
    """Test clients run an app on a loop per thread: one loop's sweep must not touch another
    loop's tasks."""
    clock = Clock()
    watch = never_sweeping(10, clock)
    outcomes: list[str] = []

    async def other_loop() -> None:
        task = await request_in_flight(watch)
        clock.now += 10
        watch.sweep_now()
        with pytest.raises(TimeoutError):
            await task
        outcomes.append("other loop timed out")

    async def scenario() -> None:
        task = await request_in_flight(watch)
        await asyncio.to_thread(asyncio.run, other_loop())
        await asyncio.sleep(0)
        assert not task.done()  # past its deadline too, but this loop has not swept yet
        watch.sweep_now()
        with pytest.raises(TimeoutError):
            await task

    run(scenario)
    assert outcomes == ["other loop timed out"]
