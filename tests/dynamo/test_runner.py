"""The thread pools that run blocking calls: `pending` counts calls submitted and not finished;
the bounded one refuses admission past its threads plus its queue, at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dynamo.runner import BlockingCallRunner, BoundedCallRunner, RunnerBusy


def test_pending_counts_queued_and_running_calls_until_they_finish() -> None:
    runner = BlockingCallRunner(1)
    gate, started = threading.Event(), threading.Event()

    def work() -> bool:
        started.set()
        return gate.wait(30)

    async def scenario() -> None:
        first = asyncio.ensure_future(runner.run(work))
        second = asyncio.ensure_future(runner.run(lambda: "done"))
        await asyncio.to_thread(started.wait, 30)  # both tasks submitted before this returns
        assert runner.pending == 2  # one running, one queued behind it
        gate.set()
        assert await second == "done"
        assert await first is True
        assert runner.pending == 0

    try:
        asyncio.run(scenario())
    finally:
        runner.close()


def test_a_call_whose_caller_gave_up_counts_until_its_thread_is_done() -> None:
    runner = BlockingCallRunner(1)
    gate, started = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        gate.wait(30)

    async def scenario() -> None:
        task = asyncio.ensure_future(runner.run(work))
        await asyncio.to_thread(started.wait, 30)
        task.cancel()  # the request timed out; the thread still works
        with pytest.raises(asyncio.CancelledError):
            await task
        assert runner.pending == 1
        gate.set()
        await asyncio.to_thread(lambda: runner._executor.submit(lambda: None).result(30))
        assert runner.pending == 0

    try:
        asyncio.run(scenario())
    finally:
        runner.close()


def test_admission_past_threads_plus_queue_is_refused_at_once() -> None:
    runner = BoundedCallRunner(1, 1, thread_name_prefix="test")
    try:
        with runner.admission(), runner.admission():
            assert runner.admitted == 2
            with pytest.raises(RunnerBusy), runner.admission():
                pass
        assert runner.admitted == 0
        with runner.admission():
            pass
    finally:
        runner.close()


def test_calls_cut_off_by_a_timeout_still_hold_their_place() -> None:
    runner = BoundedCallRunner(1, 0, thread_name_prefix="test")
    gate, started = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        gate.wait(30)

    async def scenario() -> None:
        with runner.admission():
            task = asyncio.ensure_future(runner.run(work))
            await asyncio.to_thread(started.wait, 30)
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Admission was given back, but the thread is still busy: no room yet.
        with pytest.raises(RunnerBusy), runner.admission():
            pass
        gate.set()

    try:
        asyncio.run(scenario())
    finally:
        runner.close()
