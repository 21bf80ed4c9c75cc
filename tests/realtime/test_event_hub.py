"""server.event_hub: fan-out to the right watchers, and what happens when a read fails."""

from __future__ import annotations

import asyncio
from typing import Any

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.streams import Change
from server.event_hub import EventHub

SESSION = ("suuid#s1", "c#alice")
OTHER = ("suuid#s2", "c#bob")


class FakeReader:
    """position() and read() as StreamReader's; the first `failures` reads raise."""

    def __init__(self, failures: int = 0, changes: list[Change] | None = None) -> None:
        self.failures = failures
        self.changes = list(changes or [])
        self.positions = 0

    def position(self) -> int:
        self.positions += 1
        return 1

    def read(self) -> list[Change]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the stream is throttled")
        changes, self.changes = self.changes, []
        return changes


def hub(reader: FakeReader) -> EventHub:
    events = EventHub(
        Store(client=object()),  # type: ignore[arg-type]  # the fake reader makes no call
        BlockingCallRunner(1),
        streams=object(),
        error_backoff=0.01,
    )
    events.reader = reader  # type: ignore[assignment]
    return events


def run(scenario: Any) -> Any:
    return asyncio.run(asyncio.wait_for(scenario, timeout=10))


def test_changes_reach_the_watchers_of_their_key_and_of_their_customer_once() -> None:
    change = Change("MODIFY", *SESSION, new={"session_state": "closing"})
    other = Change("MODIFY", *OTHER, new={})
    events = hub(FakeReader(changes=[change, other]))

    async def scenario() -> tuple[Any, ...]:
        async with (
            events.watch([SESSION], ["alice"]) as both,
            events.watch([], ["alice"]) as customer,
            events.watch([OTHER]) as bob,
        ):
            got = (await both.next(5), await customer.next(5), await bob.next(5))
            nothing_more = await both.next(0.05)
        await events.close()
        return (*got, nothing_more)

    both, customer, bob, nothing_more = run(scenario())
    assert both is change and customer is change and bob is other
    assert nothing_more is None  # matched by key and by customer, delivered once


def test_a_failed_read_repositions_and_has_every_watcher_read_again() -> None:
    reader = FakeReader(failures=1)
    events = hub(reader)

    async def scenario() -> Change | None:
        async with events.watch([SESSION]) as watch:
            nudge = await watch.next(5)
        await events.close()
        return nudge

    nudge = run(scenario())
    assert nudge is not None and nudge.baseline and nudge.key == SESSION
    assert reader.positions == 2  # when the first watcher came, and after the failure


def test_the_reader_stops_with_the_last_watcher_and_starts_again_at_latest() -> None:
    reader = FakeReader()
    events = hub(reader)

    async def scenario() -> None:
        async with events.watch([SESSION]):
            loop = events._task
        assert loop is not None
        await loop  # it ends by itself: nobody is left to read for
        async with events.watch([SESSION]):
            pass
        await events.close()

    run(scenario())
    assert reader.positions == 2
