from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, Api

POOL_SIZE = {"moto": 1, "dynamodb_local": 16}


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
    with TestClient(create_app(settings, services), client=("203.0.113.7", 5000)) as client:
        yield Api(client)
