"""Per-process fan-out of the table's changes to this process's subscribers.

Every server process reads the table's stream itself (`dynamo.streams.StreamReader`) while
it has subscribers, and hands each change to the subscribers watching its key or its
customer. Reading runs in the DynamoDB thread pool, owned by one task (the hub's loop: it
positions the reader and reads, so the reader never runs in two threads at once). One
GetRecords per shard a round; rounds at least `min_round_interval` (0.2 s) apart while
records come, backing off up to `MAX_IDLE_SECONDS` when none do, so a change written through
any process reaches a subscriber here within about a second and a half. DynamoDB Streams
serves about 5 GetRecords a second per shard, shared by every reader of the shard (AWS
recommends at most 2): one process here reads each shard at most 5 times a second, and when
GetRecords is throttled it pauses and reads on with the same iterators (nothing is skipped).

When track is lost (a read failed, or an iterator expired or was trimmed), every watcher is
sent a `baseline` change for each watched key: it reads its items again.

An engine without streams (found at start, and said in the log) gets polling instead:
every `poll_interval` the watched keys are read in BatchGetItem calls of at most 100 keys,
and each watched customer's sessions with one index Query (`dynamo.streams.KeyPoller`).

Caps here are per process: connections per session (`hold_connection`) and subscriptions
per session (`hold_subscription`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.streams import Change, Key, KeyPoller, NoStream, StreamRead, StreamReader
from server import metrics

log = logging.getLogger("sessiongraph.events")

MIN_IDLE_SECONDS = 0.1
MAX_IDLE_SECONDS = 1.0
MIN_ROUND_SECONDS = 0.2
"""Between two GetRecords rounds while records come: at most 5 a second per shard."""
ERROR_BACKOFF_SECONDS = 2.0
THROTTLE_BACKOFF_SECONDS = 1.0
MAX_THROTTLE_BACKOFF_SECONDS = 8.0
QUEUE_SIZE = 1000

Mode = Literal["stream", "poll"]


@dataclass(eq=False)
class Watch:
    """One subscriber's view: the changes to its keys and customers, in order."""

    keys: frozenset[Key]
    customers: frozenset[str]
    queue: asyncio.Queue[Change] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    async def next(self, within: float | None = None) -> Change | None:
        if within is None:
            return await self.queue.get()
        try:
            return await asyncio.wait_for(self.queue.get(), within)
        except TimeoutError:
            return None

    def drain(self) -> list[Change]:
        changes: list[Change] = []
        while not self.queue.empty():
            changes.append(self.queue.get_nowait())
        return changes

    def offer(self, change: Change) -> None:
        with suppress(asyncio.QueueFull):  # this far behind, it re-reads on its next change
            self.queue.put_nowait(change)


class EventHub:
    """The change feed of `resolvers.change_feed`, for this process."""

    def __init__(
        self,
        store: Store,
        runner: BlockingCallRunner,
        streams: Any = None,
        *,
        poll_interval: float = 0.5,
        max_connections_per_session: int = 5,
        max_subscriptions_per_session: int = 10,
        error_backoff: float = ERROR_BACKOFF_SECONDS,
        min_round_interval: float = MIN_ROUND_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.runner = runner
        self.poll_interval = poll_interval
        self.error_backoff = error_backoff
        self.max_connections_per_session = max_connections_per_session
        self.max_subscriptions_per_session = max_subscriptions_per_session
        self.min_round_interval = min_round_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self.reader = StreamReader(streams, store.table_name) if streams is not None else None
        self.poller = KeyPoller(store)
        self.mode: Mode = "stream" if streams is not None else "poll"
        self._by_key: defaultdict[Key, set[Watch]] = defaultdict(set)
        self._by_customer: defaultdict[str, set[Watch]] = defaultdict(set)
        self._watches: set[Watch] = set()
        self._task: asyncio.Task[None] | None = None
        self._positioned = asyncio.Event()
        self._connections: Counter[str] = Counter()
        self._subscriptions: Counter[str] = Counter()
        self._lost_track = False

    # lifespan ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Find out whether the table's stream can be read here, and say how events flow."""
        if self.reader is not None:
            try:
                shards = await self.runner.run(self.reader.position)
            except NoStream as exc:
                self.mode = "poll"
                log.warning("session events: %s", exc)
            else:
                log.info(
                    "session events: reading the stream of table %s (%d open shards) while "
                    "there are subscribers",
                    self.store.table_name,
                    shards,
                )
                return
        self.mode = "poll"
        log.warning(
            "session events: no stream to read on this engine; polling the keys subscribers "
            "watch every %.2g s (BatchGetItem, up to 100 keys a call)",
            self.poll_interval,
        )

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    # the feed ---------------------------------------------------------------------------

    @asynccontextmanager
    async def watch(
        self, keys: Collection[Key], customers: Collection[str] = ()
    ) -> AsyncIterator[Watch]:
        watch = Watch(frozenset(keys), frozenset(customers))
        self._watches.add(watch)
        for key in watch.keys:
            self._by_key[key].add(watch)
        for customer in watch.customers:
            self._by_customer[customer].add(watch)
        metrics.SUBSCRIPTIONS.inc()
        try:
            # Positioned before it reads its items, so any change written after that read
            # reaches it. Waiting is all a watcher does: cancelled, it leaves the positioning
            # to the loop, which alone touches the reader.
            await self._ensure_running().wait()
            yield watch
        finally:
            self._forget(watch)

    def _forget(self, watch: Watch) -> None:
        metrics.SUBSCRIPTIONS.dec()
        self._watches.discard(watch)
        for key in watch.keys:
            self._discard(self._by_key, key, watch)
        for customer in watch.customers:
            self._discard(self._by_customer, customer, watch)

    @staticmethod
    def _discard(index: defaultdict[Any, set[Watch]], name: Any, watch: Watch) -> None:
        watchers = index.get(name)
        if watchers is not None:
            watchers.discard(watch)
            if not watchers:
                del index[name]

    def publish(self, changes: list[Change]) -> None:
        """Hand each change to the watches of its key and of its customer (once each)."""
        for change in changes:
            targets = set(self._by_key.get(change.key, ()))
            customer = change.customer_id
            if customer is not None:
                targets |= self._by_customer.get(customer, set())
            for watch in targets:
                watch.offer(change)

    def hold_connection(self, session_id: str) -> bool:
        if self._connections[session_id] >= self.max_connections_per_session:
            return False
        self._connections[session_id] += 1
        return True

    def release_connection(self, session_id: str) -> None:
        _release(self._connections, session_id)

    def hold_subscription(self, session_id: str) -> bool:
        if self._subscriptions[session_id] >= self.max_subscriptions_per_session:
            return False
        self._subscriptions[session_id] += 1
        return True

    def release_subscription(self, session_id: str) -> None:
        _release(self._subscriptions, session_id)

    # the loop ---------------------------------------------------------------------------

    def _ensure_running(self) -> asyncio.Event:
        """Start the loop when the first subscriber arrives; the event is set once the loop
        has positioned the reader (or started polling afresh)."""
        if self._task is None:
            self._positioned = asyncio.Event()
            self._task = asyncio.create_task(
                self._run(self._positioned), name="sessiongraph-events"
            )
        return self._positioned

    async def _run(self, positioned: asyncio.Event) -> None:
        await self._start_reading()
        positioned.set()
        idle = MIN_IDLE_SECONDS
        throttle_backoff = THROTTLE_BACKOFF_SECONDS
        while True:
            if not self._watches:
                self._task = None  # checked and cleared with no await between: no lost start
                return
            started = self._monotonic()
            try:
                batch = await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("session events: reading changes failed; retrying", exc_info=True)
                await self._sleep(self.error_backoff)
                self._lost_track = True
                continue
            self.publish(batch.changes)
            if batch.lost_track:
                # Changes may have gone by unseen: have every subscriber read its items again.
                self.publish(self._baselines())
            if self.mode == "poll":
                await self._sleep(self.poll_interval)
            elif batch.throttled:
                log.warning(
                    "session events: the stream throttled GetRecords; reading on in %.2g s "
                    "(every process reading the stream shares 5 GetRecords a second per shard)",
                    throttle_backoff,
                )
                await self._sleep(throttle_backoff)
                throttle_backoff = min(throttle_backoff * 2, MAX_THROTTLE_BACKOFF_SECONDS)
            elif batch.changes:
                throttle_backoff = THROTTLE_BACKOFF_SECONDS
                idle = MIN_IDLE_SECONDS
                elapsed = self._monotonic() - started
                await self._sleep(max(0.0, self.min_round_interval - elapsed))
            else:
                throttle_backoff = THROTTLE_BACKOFF_SECONDS
                await self._sleep(idle)
                idle = min(idle * 2, MAX_IDLE_SECONDS)

    async def _start_reading(self) -> None:
        if self.mode == "stream" and self.reader is not None:
            try:
                await self.runner.run(self.reader.position)
                self._lost_track = False
            except asyncio.CancelledError:
                raise
            except Exception:
                # The loop repositions and sends every watcher a baseline: nothing is missed.
                log.warning("session events: positioning on the stream failed", exc_info=True)
                self._lost_track = True
        else:
            self.poller = KeyPoller(self.store)  # nothing stale from an earlier run

    def _baselines(self) -> list[Change]:
        return [Change("MODIFY", pk, sk, baseline=True) for pk, sk in self._by_key]

    async def _read(self) -> StreamRead:
        if self.mode == "stream" and self.reader is not None:
            if self._lost_track:
                # Start again from LATEST and have every subscriber read its items again, as
                # the poller's baseline does.
                await self.runner.run(self.reader.position)
                self._lost_track = False
                return StreamRead(lost_track=True)
            return await self.runner.run(self.reader.read)
        keys = set(self._by_key)
        customers = set(self._by_customer)
        return StreamRead(await self.runner.run(self.poller.poll, keys, customers))


def _release(counts: Counter[str], session_id: str) -> None:
    counts[session_id] -= 1
    if counts[session_id] <= 0:
        del counts[session_id]
