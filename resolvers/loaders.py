"""Per-request DataLoaders, one per entity and key (Saleor's `<Entity>By<Key>Loader`).

Loads of one level of a query are batched: GetItems become BatchGetItem calls of at most 100
keys; Queries by id run concurrently in the bounded thread pool. Items that a Query already
returned are primed in, so reading them again costs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from functools import cached_property, partial
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from dynamo.customers import get_customers
from dynamo.records import ChildSession, Customer, ParentSession
from dynamo.runner import BlockingCallRunner
from dynamo.sessions import (
    ChildPage,
    get_child_session_by_child_session_id,
    get_child_sessions_by_session_id,
    get_session_by_session_id,
    get_sessions_by_keys,
)
from dynamo.store import Store

SessionKey = tuple[str, str]
"""(PK, SK) of a session item."""
AnySession = ParentSession | ChildSession
T = TypeVar("T")


def session_key(record: AnySession) -> SessionKey:
    return record.pk, record.sk


SESSION_LOADERS: dict[
    str, tuple[type[AnySession] | tuple[type[AnySession], ...], Callable[[Any], Any]]
] = {
    "session_by_key": ((ParentSession, ChildSession), session_key),
    "parent_session_by_id": (ParentSession, lambda record: record.session_id),
    "child_session_by_id": (ChildSession, lambda record: record.session_id),
}
"""The `Loaders` that hold session records: which records each holds, under which key."""
L = TypeVar("L", bound=DataLoader[Any, Any])


def _prime_sessions(name: str, loader: DataLoader[Any, Any], records: Iterable[AnySession]) -> None:
    kind, key = SESSION_LOADERS[name]
    for record in records:
        if isinstance(record, kind):
            loader.prime(key(record), record)


async def each(calls: list[Callable[[], T]], runner: BlockingCallRunner) -> list[T]:
    """Run the calls concurrently in the pool, results in order. One call (the usual batch
    of a request that names one id) is awaited directly: `gather` would wrap it in a task."""
    if len(calls) == 1:
        return [await runner.run(calls[0])]
    return list(await asyncio.gather(*(runner.run(call) for call in calls)))


class SessionByKeyLoader(DataLoader[SessionKey, AnySession | None]):
    """Sessions by full key: BatchGetItem (strongly consistent)."""

    def __init__(self, store: Store, runner: BlockingCallRunner) -> None:
        async def load(keys: list[SessionKey]) -> list[AnySession | None]:
            return await runner.run(
                get_sessions_by_keys, store, [{"PK": pk, "SK": sk} for pk, sk in keys]
            )

        super().__init__(load_fn=load)


class ParentSessionByIdLoader(DataLoader[str, ParentSession | None]):
    """Parent sessions when only the id is known: a Query on `PK` each, run concurrently.

    A batch of one id (`session(sessionId:)`, `node(id:)`) also reads the parent's customer
    item in the same thread hand-off, when this request has not loaded it yet: the
    revocation check reads it next (`resolvers/liveness.py`), and a second trip through the
    pool costs more CPU than the check itself. The DynamoDB calls are the same two, in the
    same order; the customer is primed into `customers`."""

    def __init__(
        self, store: Store, runner: BlockingCallRunner, customers: CustomerByIdLoader
    ) -> None:
        def unknown(customer_id: str) -> bool:
            return customers.cache_map.get(customer_id) is None

        async def load(session_ids: list[str]) -> list[ParentSession | None]:
            if len(session_ids) > 1:
                return await each(
                    [partial(get_session_by_session_id, store, sid) for sid in session_ids],
                    runner,
                )
            parent, customer_read, customer = await runner.run(
                read_parent_and_customer, store, session_ids[0], unknown
            )
            if parent is not None and customer_read:
                customers.prime(parent.customer_id, customer)
            return [parent]

        super().__init__(load_fn=load)


def read_parent_and_customer(
    store: Store, session_id: str, unknown: Callable[[str], bool]
) -> tuple[ParentSession | None, bool, Customer | None]:
    """In one pool thread: the parent session, then its customer item if `unknown`.
    Returns the parent, whether the customer item was read, and that item."""
    parent = get_session_by_session_id(store, session_id)
    if parent is None or not unknown(parent.customer_id):
        return parent, False, None
    (customer,) = get_customers(store, [parent.customer_id])
    return parent, True, customer


class ChildSessionByIdLoader(DataLoader[str, ChildSession | None]):
    """Child sessions by their own id: a GSI Query `SK = child#suuid#<id>` each.

    The GSI is eventually consistent: use what it returns only to learn the child's key,
    then read the child itself through `SessionByKeyLoader`."""

    def __init__(self, store: Store, runner: BlockingCallRunner) -> None:
        async def load(child_ids: list[str]) -> list[ChildSession | None]:
            return await each(
                [partial(get_child_session_by_child_session_id, store, cid) for cid in child_ids],
                runner,
            )

        super().__init__(load_fn=load)


ChildPageKey = tuple[str, str | None, int, str | None]
"""(parent session id, the parent's customer id, first, after)."""


class ChildSessionsPageLoader(DataLoader[ChildPageKey, ChildPage]):
    """Pages of a parent's children: one Query per distinct page, run concurrently; the
    first page's Query also returns the parent item (a consistent read, primed for free).

    The same page asked for many times in one request (`parent { childSessions }` under
    each of 30 siblings) is read once, so fan-out cannot multiply with depth.
    """

    def __init__(self, store: Store, runner: BlockingCallRunner) -> None:
        async def load(keys: list[ChildPageKey]) -> list[ChildPage]:
            return await each(
                [
                    partial(
                        get_child_sessions_by_session_id,
                        store,
                        session_id,
                        first=first,
                        after=after,
                        customer_id=customer_id,
                        include_parent=True,
                    )
                    for session_id, customer_id, first, after in keys
                ],
                runner,
            )

        super().__init__(load_fn=load)


class CustomerByIdLoader(DataLoader[str, Customer | None]):
    """Customer items by id: BatchGetItem."""

    def __init__(self, store: Store, runner: BlockingCallRunner) -> None:
        async def load(customer_ids: list[str]) -> list[Customer | None]:
            return await runner.run(get_customers, store, customer_ids)

        super().__init__(load_fn=load)


class Loaders:
    """The loaders of one request; never shared between requests (no stale reads, no leaks)."""

    def __init__(self, store: Store, runner: BlockingCallRunner) -> None:
        self._store = store
        self._runner = runner
        self._primed: list[AnySession] = []
        self._primed_customers: list[tuple[str, Customer | None]] = []

    # Each loader is made on first use: most requests need one or two of them. Primes wait
    # in `_primed` until then, so a request that never reads through a loader (`viewer`)
    # does not pay for making it. A prime never overwrites (as `DataLoader.prime`), so
    # applying the waiting ones in order at creation gives the same cache.
    @cached_property
    def session_by_key(self) -> SessionByKeyLoader:
        return self._with_primes("session_by_key", SessionByKeyLoader(self._store, self._runner))

    @cached_property
    def parent_session_by_id(self) -> ParentSessionByIdLoader:
        loader = ParentSessionByIdLoader(self._store, self._runner, self.customer_by_id)
        return self._with_primes("parent_session_by_id", loader)

    @cached_property
    def child_session_by_id(self) -> ChildSessionByIdLoader:
        loader = ChildSessionByIdLoader(self._store, self._runner)
        return self._with_primes("child_session_by_id", loader)

    @cached_property
    def child_sessions_page(self) -> ChildSessionsPageLoader:
        return ChildSessionsPageLoader(self._store, self._runner)

    @cached_property
    def customer_by_id(self) -> CustomerByIdLoader:
        loader = CustomerByIdLoader(self._store, self._runner)
        for customer_id, customer in self._primed_customers:
            loader.prime(customer_id, customer)
        return loader

    def _with_primes(self, name: str, loader: L) -> L:
        _prime_sessions(name, loader, self._primed)
        return loader

    def prime(self, records: Iterable[AnySession]) -> None:
        """Prime with records from strongly consistent reads only (base table, never GSI)."""
        records = list(records)
        self._primed += records
        for name in SESSION_LOADERS:
            made = self.__dict__.get(name)  # where `cached_property` keeps a made loader
            if made is not None:
                _prime_sessions(name, made, records)

    def prime_customer(self, customer_id: str, customer: Customer | None) -> None:
        """Prime a customer item from a strongly consistent read."""
        self._primed_customers.append((customer_id, customer))
        if "customer_by_id" in self.__dict__:
            self.customer_by_id.prime(customer_id, customer)

    def forget(self, record: AnySession) -> None:
        """After a logout, later reads in the same request find the session gone."""
        self.session_by_key.prime(session_key(record), None, force=True)
        if isinstance(record, ParentSession):
            self.parent_session_by_id.prime(record.session_id, None, force=True)
        else:
            self.child_session_by_id.prime(record.session_id, None, force=True)
