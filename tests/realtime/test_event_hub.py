"""server.event_hub: fan-out to the right watchers, and what happens when a read fails."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.streams import Change, StreamRead
from server.event_hub import THROTTLE_BACKOFF_SECONDS, EventHub

SESSION = ("suuid#s1", "c#alice")
OTHER = ("suuid#s2", "c#bob")


class FakeReader:
    """position() and read() as StreamReader's; the first `failures` reads raise; `rounds`
    (when given) are the reads' results in turn, then empty ones."""

    def __init__(
        self,
        failures: int = 0,
        changes: list[Change] | None = None,
        rounds: list[StreamRead] | None = None,
    ) -> None:
        self.failures = failures
        self.changes = list(changes or [])
        self.rounds = list(rounds or [])
        self.positions = 0
        self.reads = 0

    def position(self) -> int:
        self.positions += 1
        return 1

    def read(self) -> StreamRead:
        self.reads += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the stream is throttled")
        if self.rounds:
            return self.rounds.pop(0)
        changes, self.changes = self.changes, []
        return StreamRead(changes)


def hub(reader: FakeReader, **options: Any) -> EventHub:
    events = EventHub(
        Store(client=object()),  # type: ignore[arg-type]  # the fake reader makes no call
        BlockingCallRunner(1),
        streams=object(),
        error_backoff=0.01,
        **options,
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


class Pauses:
    """The hub's sleeps, recorded instead of slept (a turn of the loop each)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


def change(n: int) -> Change:
    return Change("MODIFY", *SESSION, new={"n": n})


def test_rounds_are_paced_while_records_flow() -> None:
    """Every round brings records; still the next GetRecords round waits out the minimum
    interval (a clock that does not move: the whole interval)."""
    reader = FakeReader(rounds=[StreamRead([change(n)]) for n in range(3)])
    pauses = Pauses()
    events = hub(reader, sleep=pauses, monotonic=lambda: 100.0, min_round_interval=0.2)

    async def scenario() -> list[Any]:
        async with events.watch([SESSION]) as watch:
            got = [await watch.next(5) for _ in range(3)]
        await events.close()
        return got

    got = run(scenario())
    assert [c.new["n"] for c in got] == [0, 1, 2]
    assert pauses.seconds[:3] == [0.2, 0.2, 0.2]


def test_a_throttled_round_backs_off_and_reads_on_with_the_same_iterators() -> None:
    reader = FakeReader(rounds=[StreamRead(throttled=True), StreamRead([change(1)])])
    pauses = Pauses()
    events = hub(reader, sleep=pauses)

    async def scenario() -> Change | None:
        async with events.watch([SESSION]) as watch:
            got = await watch.next(5)
        await events.close()
        return got

    got = run(scenario())
    assert got is not None and got.new == {"n": 1} and not got.baseline
    assert reader.positions == 1  # not repositioned at LATEST: nothing skipped
    assert pauses.seconds[0] == THROTTLE_BACKOFF_SECONDS


def test_a_lost_iterator_has_every_watcher_read_again() -> None:
    """The reader re-followed a shard from LATEST (an expired iterator): what went by is
    unknown, so after the changes it did read, every watched key gets a baseline."""
    reader = FakeReader(rounds=[StreamRead([change(1)], lost_track=True)])
    events = hub(reader, sleep=Pauses())

    async def scenario() -> tuple[Any, ...]:
        async with events.watch([SESSION]) as watch, events.watch([OTHER]) as other:
            got = (await watch.next(5), await watch.next(5), await other.next(5))
        await events.close()
        return got

    read, nudge, other_nudge = run(scenario())
    assert read.new == {"n": 1} and not read.baseline
    assert nudge.baseline and nudge.key == SESSION
    assert other_nudge.baseline and other_nudge.key == OTHER
    assert reader.positions == 1  # the reader re-followed the shard itself


def test_queued_changes_are_taken_together() -> None:
    reader = FakeReader(changes=[change(1), change(2), change(3)])
    events = hub(reader, sleep=Pauses())

    async def scenario() -> tuple[Any, list[Change]]:
        async with events.watch([SESSION]) as watch:
            first = await watch.next(5)
            rest = watch.drain()
        await events.close()
        return first, rest

    first, rest = run(scenario())
    assert [first.new["n"], *[c.new["n"] for c in rest]] == [1, 2, 3]


def test_a_session_runs_at_most_its_subscriptions_in_a_process() -> None:
    events = hub(FakeReader(), max_subscriptions_per_session=2)
    assert events.hold_subscription("s1") and events.hold_subscription("s1")
    assert not events.hold_subscription("s1")
    assert events.hold_subscription("s2")
    events.release_subscription("s1")
    assert events.hold_subscription("s1")


def test_running_subscriptions_are_counted_in_the_metrics() -> None:
    events = hub(FakeReader(), sleep=Pauses())

    def running() -> float:
        return REGISTRY.get_sample_value("sessiongraph_subscriptions") or 0.0

    before = running()

    async def scenario() -> list[float]:
        seen = []
        async with events.watch([SESSION]), events.watch([OTHER]):
            seen.append(running())
        seen.append(running())
        await events.close()
        return seen

    assert run(scenario()) == [before + 2, before]
