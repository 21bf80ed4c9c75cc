"""Servers for the subscription tests: real `sessiongraph serve` processes on one DynamoDB
Local table (the first creates it, and with it the stream), and one on dynalite (no stream).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import dynalite
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess

_tables = itertools.count()
ALLOWED_ORIGIN = "http://app.example.test"


@dataclass
class Pair:
    """`writer` created the table and takes the mutations; `reader` holds the subscribers."""

    writer: ServerProcess
    reader: ServerProcess
    endpoint_url: str
    table_name: str

    @property
    def ws_url(self) -> str:
        return ws_url(self.reader)


def ws_url(server: ServerProcess) -> str:
    return f"ws://127.0.0.1:{server.port}/graphql"


def table_name() -> str:
    return f"realtime_{os.getpid()}_{next(_tables)}"


@pytest.fixture(scope="module")
def pair(dynamodb_local_server: Any) -> Iterator[Pair]:
    name = table_name()
    url = dynamodb_local_server.endpoint_url
    writer = ServerProcess.start(
        endpoint_url=url, table_name=name, admin_token=ADMIN_TOKEN, args=["--create-table"]
    )
    try:
        reader = ServerProcess.start(
            endpoint_url=url,
            table_name=name,
            admin_token=ADMIN_TOKEN,
            env={
                # An idle subscription outlives the execution timeout of a request.
                "SESSIONGRAPH_EXECUTION_TIMEOUT_SECONDS": "1",
                "SESSIONGRAPH_CORS_ORIGINS": ALLOWED_ORIGIN,
            },
        )
    except BaseException:
        writer.stop()
        raise
    try:
        yield Pair(writer, reader, url, name)
    finally:
        reader.stop()
        writer.stop()


@pytest.fixture(scope="session")
def dynalite_server() -> Iterator[dynalite.Dynalite]:
    reason = dynalite.unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the dynalite tests: {reason}")
        pytest.skip(reason)
    server = dynalite.start()
    yield server
    server.stop()
