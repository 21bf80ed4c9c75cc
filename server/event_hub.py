"""Per-process fan-out of the table's changes to this process's subscribers.

Every server process reads the table's stream itself (`dynamo.streams.StreamReader`) while
it has subscribers, and hands each change to the subscribers watching its key or its
customer. Reading runs in the DynamoDB thread pool: one GetRecords per shard, again at once
while records come, backing off up to `MAX_IDLE_SECONDS` when none do, so a change written
through any process reaches a subscriber here within about a second and a half.

An engine without streams (found at start, and said in the log) gets polling instead:
every `poll_interval` the watched keys are read in BatchGetItem calls of at most 100 keys,
and each watched customer's sessions with one index Query (`dynamo.streams.KeyPoller`).

Caps here are per process: connections per session (`hold_connection`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.streams import Change, Key, KeyPoller, NoStream, StreamReader

log = logging.getLogger("sessiongraph.events")

MIN_IDLE_SECONDS = 0.1
MAX_IDLE_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 2.0
QUEUE_SIZE = 1000

Mode = Literal["stream", "poll"]


@dataclass(eq=False)
class Watch:
    """One subscriber's view: the changes to its keys and customers, in order."""

    keys: frozenset[Key]
    customers: frozenset[str]
    queue: asyncio.Queue[Change] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    async def next(self, within: float | None = None) -> Change | None:
        if within is None:
            return await self.queue.get()
        try:
            return await asyncio.wait_for(self.queue.get(), within)
        except TimeoutError:
            return None

    def offer(self, change: Change) -> None:
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.dropped += 1  # a subscriber this far behind re-reads on its next change


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
        error_backoff: float = ERROR_BACKOFF_SECONDS,
    ) -> None:
        self.store = store
        self.runner = runner
        self.poll_interval = poll_interval
        self.error_backoff = error_backoff
        self.max_connections_per_session = max_connections_per_session
        self.reader = StreamReader(streams, store.table_name) if streams is not None else None
        self.poller = KeyPoller(store)
        self.mode: Mode = "stream" if streams is not None else "poll"
        self._by_key: defaultdict[Key, set[Watch]] = defaultdict(set)
        self._by_customer: defaultdict[str, set[Watch]] = defaultdict(set)
        self._watches: set[Watch] = set()
        self._task: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self._connections: Counter[str] = Counter()
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
        try:
            await self._ensure_running()
            yield watch
        finally:
            self._forget(watch)

    def _forget(self, watch: Watch) -> None:
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

    @property
    def subscriber_count(self) -> int:
        return len(self._watches)

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
        self._connections[session_id] -= 1
        if self._connections[session_id] <= 0:
            del self._connections[session_id]

    # the loop ---------------------------------------------------------------------------

    async def _ensure_running(self) -> None:
        """Start reading when the first subscriber arrives: positioned before it reads its
        items, so that any change written after that read reaches it."""
        async with self._start_lock:
            if self._task is not None:
                return
            if self.mode == "stream" and self.reader is not None:
                await self.runner.run(self.reader.position)
            else:
                self.poller = KeyPoller(self.store)  # nothing stale from an earlier run
            self._task = asyncio.create_task(self._run(), name="sessiongraph-events")

    async def _run(self) -> None:
        idle = MIN_IDLE_SECONDS
        while True:
            if not self._watches:
                self._task = None  # checked and cleared with no await between: no lost start
                return
            try:
                changes = await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("session events: reading changes failed; retrying", exc_info=True)
                await asyncio.sleep(self.error_backoff)
                self._lost_track = True
                continue
            self.publish(changes)
            if self.mode == "poll":
                await asyncio.sleep(self.poll_interval)
            elif changes:
                idle = MIN_IDLE_SECONDS
            else:
                await asyncio.sleep(idle)
                idle = min(idle * 2, MAX_IDLE_SECONDS)

    async def _read(self) -> list[Change]:
        if self.mode == "stream" and self.reader is not None:
            if self._lost_track:
                # Changes may have gone by while reading failed: start again from LATEST and
                # have every subscriber read its items again, as the poller's baseline does.
                await self.runner.run(self.reader.position)
                self._lost_track = False
                return [Change("MODIFY", pk, sk, baseline=True) for pk, sk in self._by_key]
            return await self.runner.run(self.reader.read)
        keys = set(self._by_key)
        customers = set(self._by_customer)
        return await self.runner.run(self.poller.poll, keys, customers)
