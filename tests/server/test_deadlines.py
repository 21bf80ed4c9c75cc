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


def later(clock: Clock, watch: DeadlineWatch, seconds: float) -> None:
    """`seconds` pass, then the running loop's sweep comes round."""
    clock.now += seconds
    watch.sweep_now()


def never_sweeping(seconds: float, clock: Clock) -> DeadlineWatch:
    """A watch whose own sweep does not come round during a test (an hour apart)."""
    return DeadlineWatch(seconds, resolution=3600, clock=clock)


async def request_in_flight(
    watch: DeadlineWatch, *, when_cut_off: Callable[[], str] | None = None
) -> asyncio.Task[str]:
    """A request that waits forever inside its deadline, once it has entered it. Cut off, it
    ends with `when_cut_off()` (a request that catches its cancellation) if given."""
    entered = asyncio.Event()

    async def request() -> str:
        async with watch():
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                if when_cut_off is None:
                    raise
                return when_cut_off()
        return "answered"

    task = asyncio.create_task(request())
    await entered.wait()
    return task


async def cut_off_by_the_loops_own_sweep(task: asyncio.Task[str]) -> None:
    """The deadline is past: the sweep on the loop's timer (10 ms) cuts the task off. Bounded,
    so that a sweep that never comes fails the test instead of hanging it."""
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done, "no sweep came"
    with pytest.raises(TimeoutError):
        task.result()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_a_request_past_its_deadline_raises_timeout_error():
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        task = await request_in_flight(watch)
        later(clock, watch, 9.99)
        await asyncio.sleep(0)
        assert not task.done()  # not yet due
        later(clock, watch, 0.01)
        with pytest.raises(TimeoutError):
            await task
        assert task.cancelling() == 0  # the sweep's cancellation was taken back
        assert watch.pending == 0

    run(scenario)


def test_a_request_that_leaves_before_a_sweep_is_left_alone():
    """Past its deadline but gone before the sweep came: no cancellation reaches the task,
    then or later."""
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        async with watch():
            clock.now += 60
        watch.sweep_now()
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
        await asyncio.sleep(0)  # would raise CancelledError had the sweep cancelled us
        assert watch.pending == 0
        assert watch.loops == 0  # nothing pending: the loop's sweep stopped

    run(scenario)


def test_a_request_that_swallows_the_cancellation_ends_normally():
    """As under asyncio.timeout: the block ends without TimeoutError (nothing was cut off)
    and the sweep's cancellation is taken back."""
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def scenario() -> None:
        task = await request_in_flight(watch, when_cut_off=lambda: "finished anyway")
        later(clock, watch, 10)
        assert await task == "finished anyway"
        assert task.cancelling() == 0

    run(scenario)


def test_another_error_while_expired_passes_through():
    clock = Clock()
    watch = never_sweeping(10, clock)

    def cleaning_up_fails() -> str:
        raise ValueError("cleaning up failed")

    async def scenario() -> None:
        task = await request_in_flight(watch, when_cut_off=cleaning_up_fails)
        later(clock, watch, 10)
        with pytest.raises(ValueError, match="cleaning up failed"):
            await task
        assert task.cancelling() == 0

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
        later(clock, watch, 10)
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
        later(clock, watch, 5)
        with pytest.raises(TimeoutError):
            await early
        await asyncio.sleep(0)
        assert not late.done()
        assert watch.pending == 1
        later(clock, watch, 5)
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
        await cut_off_by_the_loops_own_sweep(task)

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
        later(clock, watch, 10)
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


def test_a_loop_closed_with_requests_registered_is_forgotten():
    """A test client's loop can end with a request still inside its deadline; the next loop
    to register drops it instead of keeping it for the watch's lifetime."""
    clock = Clock()
    watch = never_sweeping(10, clock)

    async def abandoned() -> None:
        await request_in_flight(watch)  # never finishes; asyncio.run cancels it at the end

    async def left_inside() -> None:
        deadline = watch()
        await deadline.__aenter__()  # entered, never left: as if the loop died mid-request

    asyncio.run(abandoned())
    asyncio.run(left_inside())
    assert watch.loops == 1  # the first loop's entry was dropped when the second registered
    assert watch.pending == 1

    async def another() -> None:
        async with watch():
            pass

    asyncio.run(another())
    assert watch.loops == 1
    assert watch.pending == 0  # the deadline left inside the closed loop went with it


def test_a_sweep_that_fails_still_comes_round_again():
    clock = Clock()
    watch = DeadlineWatch(10, resolution=0.01, clock=clock)

    async def scenario() -> None:
        task = await request_in_flight(watch)
        broken = True

        def flaky_clock() -> float:
            nonlocal broken
            if broken:
                broken = False
                raise RuntimeError("clock failed once")
            return clock.now

        watch._clock = flaky_clock
        with pytest.raises(RuntimeError):
            watch.sweep_now()
        clock.now += 10
        await cut_off_by_the_loops_own_sweep(task)

    run(scenario)
