"""Every storage test runs twice: on moto (in process) and on DynamoDB Local (AWS's emulator).

On a machine without Java or the emulator the DynamoDB Local half is skipped with the reason;
under CI (`CI=true`) that is an error instead, since CI must run both.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamo.clock import ManualClock
from dynamo.runner import BlockingCallRunner
from dynamo.store import SessionPolicy, Store
from dynamo.table import create_table
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support import dynamodb_local
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api
from tests.support.calls import CallCounter

BACKENDS = ["moto", "dynamodb_local"]
POOL_SIZE = {"moto": 1, "dynamodb_local": 16}
"""Threads of the app's DynamoDB pool per backend (moto is not thread-safe: one)."""
SAMPLE_MODEL = Path(__file__).parent / "data" / "session_store_sample.json"
_table_numbers = itertools.count()


@pytest.fixture(scope="session")
def dynamodb_local_server() -> Iterator[dynamodb_local.DynamoDBLocal]:
    reason = dynamodb_local.unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the DynamoDB Local half: {reason}")
        pytest.skip(reason)
    server = dynamodb_local.start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "dynamodb_local":
        request.applymarker(pytest.mark.dynamodb_local)
    return str(request.param)


@pytest.fixture
def dynamodb_client(backend: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A boto3 DynamoDB client on the backend under test (no table yet)."""
    if backend == "moto":
        import boto3
        from moto import mock_aws

        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")
        return
    server = request.getfixturevalue("dynamodb_local_server")
    yield server.client()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy() -> SessionPolicy:
    return SessionPolicy()


@pytest.fixture
def table_name(backend: str) -> str:
    return f"session_store_t{os.getpid()}_{next(_table_numbers)}"


@pytest.fixture
def store(
    dynamodb_client: Any, table_name: str, clock: ManualClock, policy: SessionPolicy
) -> Iterator[Store]:
    """A fresh `session_store` table on the backend under test, with a manual clock."""
    create_table(dynamodb_client, table_name)
    yield Store(client=dynamodb_client, table_name=table_name, clock=clock, policy=policy)
    dynamodb_client.delete_table(TableName=table_name)


@pytest.fixture
def calls(dynamodb_client: Any) -> CallCounter:
    """Counts the DynamoDB calls of the client under test; reset it before the part measured."""
    counter = CallCounter()
    counter.attach(dynamodb_client)
    return counter


@pytest.fixture
def settings() -> Settings:
    return Settings(admin_token=ADMIN_TOKEN)


@pytest.fixture
def services(store: Store, backend: str) -> Iterator[Services]:
    runner = BlockingCallRunner(POOL_SIZE[backend])
    yield Services(store=store, runner=runner)
    runner.close()


@pytest.fixture
def api(settings: Settings, services: Services) -> Iterator[Api]:
    """The real app in process, over HTTP (Starlette's TestClient), on the store under test."""
    with TestClient(create_app(settings, services), client=CLIENT_ADDRESS) as client:
        yield Api(client)
