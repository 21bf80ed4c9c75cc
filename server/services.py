"""What the app holds for its whole life: the store handle and the thread pool."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dynamo.clock import Clock, SystemClock
from dynamo.connect import Connection, connect
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.table import create_table
from server.settings import Settings

log = logging.getLogger("sessiongraph")


@dataclass
class Services:
    store: Store
    runner: BlockingCallRunner
    connection: Connection | None = None

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
    )


def open_services(settings: Settings, clock: Clock | None = None) -> Services:
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
    return Services(store, BlockingCallRunner(connection.max_concurrency), connection)
