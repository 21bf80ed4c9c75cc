"""What the app holds for its whole life: the store handle and the thread pool."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dynamo.clock import Clock, SystemClock
from dynamo.connect import Connection, connect
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.table import create_table
from resolvers import passwords
from resolvers.cleanup import BackgroundCleanup
from server.settings import Settings

log = logging.getLogger("sessiongraph")


@dataclass
class Services:
    store: Store
    runner: BlockingCallRunner
    connection: Connection | None = None
    cleanup: BackgroundCleanup = None  # type: ignore[assignment]
    """Revocations' clean-up after the answer (`resolvers.cleanup`; default budget if not
    given); the app closes it at shutdown."""

    def __post_init__(self) -> None:
        if self.cleanup is None:
            self.cleanup = BackgroundCleanup(self.store, self.runner)

    def close(self) -> None:
        self.runner.close()
        if self.connection is not None:
            self.connection.close()


def open_connection(settings: Settings) -> Connection:
    return connect(
        settings.store_kind(),
        endpoint_url=settings.endpoint_url,
        table_name=settings.table_name,
        pool_size=settings.pool_size,
        timeouts=settings.client_timeouts(),
    )


def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    passwords.configure(
        settings.argon2_parameters(),
        threads=settings.argon2_pool_threads(),
        queue=settings.argon2_queue_size(),
    )
    connection = open_connection(settings)
    if settings.create_table and connection.kind != "embedded":
        create_table(connection.client, settings.table_name)
    store = Store(
        client=connection.client,
        table_name=settings.table_name,
        clock=clock or SystemClock(),
        policy=settings.session_policy(),
        lockout=settings.lockout_policy(),
    )
    runner = BlockingCallRunner(connection.max_concurrency)
    cleanup = BackgroundCleanup(
        store,
        runner,
        in_request=settings.cleanup_in_request,
        max_items=settings.cleanup_max_items,
        max_seconds=settings.cleanup_max_seconds,
    )
    return Services(store, runner, connection, cleanup)
